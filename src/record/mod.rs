//! `altsim record`: captures a ranger endpoint's book and trade streams to files, verbatim and
//! timestamped, through disconnects, sequence gaps and crashes.

pub mod files;

use crate::ranger::{fetch_markets, Client, Link, Markets, Sink, Summary};
use crate::tape::Header;
use crate::tape::Session;
pub use files::{Rotate, RotatingWriter};
use std::path::PathBuf;
use tokio::sync::watch;

/// Everything the recorder needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The endpoint and its timings.
    pub link: Link,
    pub markets: Markets,
    pub out: PathBuf,
    pub rotate: Rotate,
    /// Start a new file past this many bytes on disk.
    pub max_bytes: Option<u64>,
}

impl Config {
    pub fn new(out: PathBuf, markets: Markets) -> Self {
        Config {
            link: Link::default(),
            markets,
            out,
            rotate: Rotate::Hour,
            max_bytes: Some(1 << 30),
        }
    }
}

/// A recording goes to files.
impl Sink for RotatingWriter {
    async fn frame(&mut self, recv_ns: i64, frame: &[u8]) -> std::io::Result<()> {
        self.write_frame(recv_ns, frame)
    }
    async fn session(&mut self, recv_ns: i64, s: &Session) -> std::io::Result<()> {
        self.write_session(recv_ns, s)
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        RotatingWriter::flush(self)
    }
    fn bytes(&self) -> (u64, u64) {
        (RotatingWriter::bytes(self), self.current_bytes())
    }
}

/// A recording that could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Ranger(#[from] crate::ranger::RangerError),
    /// The capture files could not be opened or closed.
    #[error("{}: {source}", path.display())]
    Out {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the market list's fetch stopped: {0}")]
    Fetch(#[from] tokio::task::JoinError),
}

/// Records until `shutdown` turns true; returns what was done. Files are flushed every
/// `flush_every` and closed properly at the end.
pub async fn run(cfg: Config, shutdown: watch::Receiver<bool>) -> Result<Summary, RecordError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (rest, which) = (cfg.link.rest.clone(), cfg.markets.clone());
    let markets = tokio::task::spawn_blocking(move || fetch_markets(&rest, &which)).await??;
    let header = Header {
        version: crate::tape::format::FORMAT_VERSION,
        venue: "altmarkets".into(),
        source: cfg.link.ws.clone(),
        markets: markets.clone(),
        started_ns: 0,
    };
    let writer = RotatingWriter::new(&cfg.out, "altmarkets", cfg.rotate, cfg.max_bytes, header)
        .map_err(|source| RecordError::Out {
            path: cfg.out.clone(),
            source,
        })?;
    let out = cfg.out.clone();
    let name = out.display().to_string();
    let (mut summary, mut writer) = Client::new(cfg.link, name, markets, writer)
        .run(shutdown)
        .await?;
    writer.close().map_err(|source| RecordError::Out {
        path: out.clone(),
        source,
    })?;
    summary.bytes = writer.bytes();
    summary.files = writer.files().to_vec();
    Ok(summary)
}

/// Runs a recording from the command line until Ctrl-C or SIGTERM.
pub fn run_cli(cfg: Config) -> Result<Summary, RecordError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RecordError::Runtime)?;
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
