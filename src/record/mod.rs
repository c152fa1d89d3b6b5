//! `altsim record`: captures a ranger endpoint's book and trade streams to files, verbatim and
//! timestamped, through disconnects, sequence gaps and crashes.

pub mod files;
pub mod session;
mod status;

use crate::tape::Header;
use crate::venue::{MarketJson, MarketState};
pub use files::{Rotate, RotatingWriter};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;

/// Altmarkets' public WebSocket.
pub const DEFAULT_WS: &str = "wss://v2.altmarkets.io/api/v2/ranger/public";
/// Altmarkets' Peatio REST base.
pub const DEFAULT_REST: &str = "https://v2.altmarkets.io/api/v2/peatio";

/// Which markets to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Markets {
    List(Vec<String>),
    /// Every market `public/markets` lists as enabled.
    AllEnabled,
}

/// Everything the recorder needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub ws: String,
    pub rest: String,
    pub markets: Markets,
    pub out: PathBuf,
    pub rotate: Rotate,
    /// Start a new file past this many bytes on disk.
    pub max_bytes: Option<u64>,
    /// How often to write what was received to disk.
    pub flush_every: Duration,
    /// How often to send `ping`.
    pub ping_every: Duration,
    /// A connection silent this long is dead.
    pub silence: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Fetch REST depth snapshots this often (recorded as `!depth`).
    pub depth_every: Option<Duration>,
    /// Show a live status line (on a terminal) or log lines; nothing when false.
    pub progress: bool,
    /// Counts every frame written, for a caller embedding the recorder.
    pub frames_written: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

impl Config {
    pub fn new(out: PathBuf, markets: Markets) -> Self {
        Config {
            ws: DEFAULT_WS.into(),
            rest: DEFAULT_REST.into(),
            markets,
            out,
            rotate: Rotate::Hour,
            max_bytes: Some(1 << 30),
            flush_every: Duration::from_secs(1),
            ping_every: Duration::from_secs(30),
            silence: Duration::from_secs(60),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            depth_every: None,
            progress: false,
            frames_written: None,
        }
    }
}

/// What a recording did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Frames received per market (`-` for frames of no market: answers, pongs, errors).
    pub frames: BTreeMap<String, u64>,
    pub gaps: u64,
    pub resyncs: u64,
    /// Connections after the first.
    pub reconnects: u64,
    pub bytes: u64,
    pub files: Vec<PathBuf>,
}

impl Summary {
    pub fn total_frames(&self) -> u64 {
        self.frames.values().sum()
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::console::thousands;
        writeln!(f, "frames     {}", thousands(self.total_frames()))?;
        for (m, n) in &self.frames {
            writeln!(f, "  {m:<10} {}", thousands(*n))?;
        }
        writeln!(
            f,
            "gaps       {} (resyncs {}), reconnects {}",
            self.gaps, self.resyncs, self.reconnects
        )?;
        writeln!(
            f,
            "written    {} bytes in {} files",
            thousands(self.bytes),
            self.files.len()
        )?;
        for p in &self.files {
            writeln!(f, "  {}", p.display())?;
        }
        Ok(())
    }
}

/// A blocking GET, for the REST calls made at start and for depth snapshots.
pub fn http_get(url: &str) -> Result<String, String> {
    let mut resp = ureq::get(url)
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    resp.body_mut()
        .read_to_string()
        .map_err(|e| format!("GET {url}: {e}"))
}

/// Reads `public/markets` and picks the markets to record.
pub fn fetch_markets(rest: &str, which: &Markets) -> Result<Vec<MarketJson>, String> {
    let url = format!("{}/public/markets", rest.trim_end_matches('/'));
    let text = http_get(&url)?;
    let all: Vec<MarketJson> =
        serde_json::from_str(&text).map_err(|e| format!("GET {url}: not a market list: {e}"))?;
    match which {
        Markets::AllEnabled => {
            let on: Vec<_> = all
                .into_iter()
                .filter(|m| m.state == MarketState::Enabled)
                .collect();
            if on.is_empty() {
                return Err(format!("GET {url}: no enabled market"));
            }
            Ok(on)
        }
        Markets::List(names) => names
            .iter()
            .map(|n| {
                all.iter()
                    .find(|m| &m.id == n)
                    .cloned()
                    .ok_or_else(|| format!("market {n:?} is not listed by {url}"))
            })
            .collect(),
    }
}

/// Records until `shutdown` turns true; returns what was done. Files are flushed every
/// `flush_every` and closed properly at the end.
pub async fn run(cfg: Config, shutdown: watch::Receiver<bool>) -> Result<Summary, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (rest, which) = (cfg.rest.clone(), cfg.markets.clone());
    let markets = tokio::task::spawn_blocking(move || fetch_markets(&rest, &which))
        .await
        .map_err(|e| e.to_string())??;
    let header = Header {
        version: crate::tape::format::FORMAT_VERSION,
        venue: "altmarkets".into(),
        source: cfg.ws.clone(),
        markets: markets.clone(),
        started_ns: 0,
    };
    let writer = RotatingWriter::new(&cfg.out, "altmarkets", cfg.rotate, cfg.max_bytes, header)
        .map_err(|e| format!("{}: {e}", cfg.out.display()))?;
    let out = cfg.out.clone();
    let (mut summary, mut writer) = session::Recorder::new(cfg, markets, writer)
        .run(shutdown)
        .await?;
    writer
        .close()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    summary.bytes = writer.bytes();
    summary.files = writer.files().to_vec();
    Ok(summary)
}

/// Runs a recording from the command line until Ctrl-C or SIGTERM.
pub fn run_cli(cfg: Config) -> Result<Summary, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            let _ = tx.send(true);
        });
        run(cfg, rx).await
    })
}
