//! Headless Chromium driven through chromedriver's W3C WebDriver endpoints, for the tests of
//! the pages altsim writes. WebDriver is JSON over HTTP, so the HTTP client altsim already
//! has (ureq) speaks it: no WebDriver crate and its dependencies in the build.
//!
//! A machine without Debian's `chromium` and `chromium-driver` packages skips these tests,
//! saying so on stderr.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::BufRead;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Longest wait for a condition in the page: a guard against a hang, not a pace.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Runs a condition (a function body) in the page now and after every change of the
/// document, and answers once it returns true: the browser waits, the test does not poll.
const WAIT: &str = "const done = arguments[arguments.length - 1];\
    const check = () => { try { return (function () { BODY })() === true; } \
                          catch (e) { return false; } };\
    if (check()) { done(true); return; }\
    const seen = new MutationObserver(() => {\
      if (check()) { seen.disconnect(); done(true); } });\
    seen.observe(document, { subtree: true, childList: true, characterData: true, \
                             attributes: true });";

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
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // chromedriver says so once it listens.
        let out = std::io::BufReader::new(driver.stdout.take().expect("piped"));
        let mut lines = out.lines();
        let mut said = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let ready = line.contains("started successfully");
            said.push(line);
            if ready {
                break;
            }
        }
        // What it says later is read and dropped, so its pipe never fills or closes.
        std::thread::spawn(move || lines.for_each(drop));
        assert!(
            said.last()
                .is_some_and(|l| l.contains("started successfully")),
            "chromedriver did not start: {said:?}"
        );
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
        let script = HANG_GUARD.as_millis() as u64;
        b.post(&b.at("timeouts"), json!({ "script": script }));
        b
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

    /// Waits until `script` (a function body) returns true in the page; the page's script
    /// timeout, [`HANG_GUARD`], only stops a hang.
    pub fn wait_for(&self, what: &str, script: &str) {
        let url = format!("{}{}", self.base, self.at("execute/async"));
        let body = json!({ "script": WAIT.replace("BODY", script), "args": [] });
        let mut r = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
        let status = r.status();
        let text = r.body_mut().read_to_string().unwrap();
        assert!(status.is_success(), "never true: {what}: {status} {text}");
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
