//! Headless Chromium driven through chromedriver's W3C WebDriver endpoints, for the tests of
//! the pages altsim writes. WebDriver is JSON over HTTP, so the HTTP client altsim already
//! has (ureq) speaks it: no WebDriver crate and its dependencies in the build.
//!
//! A machine without Debian's `chromium` and `chromium-driver` packages skips these tests,
//! saying so on stderr.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Longest wait for a condition: a guard against a hang, not a pace.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// chromedriver and one browser session; both end when this is dropped.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    profile: PathBuf,
}

/// Whether the browser can run here; when not, says what to install.
pub fn available() -> bool {
    let ok = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !ok {
        eprintln!(
            "SKIPPED: browser tests need {CHROMIUM} and {CHROMEDRIVER} \
             (Debian: apt-get install chromium chromium-driver)"
        );
    }
    ok
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless browser of `width` × `height` pixels.
    pub fn start(width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let profile = std::env::temp_dir().join(format!("altsim-chromium-{port}"));
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            agent,
            profile,
        };
        let started = Instant::now();
        while !b
            .get_raw("/status")
            .is_some_and(|v| v["value"]["ready"] == true)
        {
            assert!(
                started.elapsed() < HANG_GUARD,
                "chromedriver never got ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", b.profile.display()),
        ];
        let v = b.post(
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            }}}),
        );
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        b
    }

    fn get_raw(&self, path: &str) -> Option<Value> {
        let mut r = self.agent.get(format!("{}{path}", self.base)).call().ok()?;
        serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut r = match (method, body) {
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b.to_string()),
            ("DELETE", _) => self.agent.delete(&url).call(),
            _ => self.agent.get(&url).call(),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status();
        let text = r.body_mut().read_to_string().unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.send("POST", path, Some(body))
    }

    fn at(&self, what: &str) -> String {
        format!("/session/{}/{what}", self.session)
    }

    /// Opens `url` and waits until its document has loaded.
    pub fn open(&self, url: &str) {
        self.post(&self.at("url"), json!({ "url": url }));
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub fn eval(&self, script: &str) -> Value {
        self.post(
            &self.at("execute/sync"),
            json!({ "script": script, "args": [] }),
        )
    }

    /// Evaluates `script` until it returns true; the long guard only stops a hang.
    pub fn wait_for(&self, what: &str, script: &str) {
        let started = Instant::now();
        while self.eval(script) != Value::Bool(true) {
            assert!(started.elapsed() < HANG_GUARD, "never true: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Saves a PNG of the viewport.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let v = self.send("GET", &self.at("screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 text"))
            .unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = self.agent.delete(&url).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
