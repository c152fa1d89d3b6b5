//! A ranger client: connect to a Peatio WebSocket, subscribe to markets' book and trade
//! streams, keep each book's sequence in sync (resubscribing after a gap), answer silence with
//! pings, reconnect with backoff, and hand every frame on verbatim with its receive time.
//! `record` writes what it receives to files; a live `paper` session feeds it to the engine.

mod error;
pub use error::{GetError, RangerError};
mod client;
mod status;

pub use client::{Client, Sink};

use crate::venue::{MarketJson, MarketState};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Altmarkets' public WebSocket.
pub const DEFAULT_WS: &str = "wss://v2.altmarkets.io/api/v2/ranger/public";
/// Altmarkets' Peatio REST base.
pub const DEFAULT_REST: &str = "https://v2.altmarkets.io/api/v2/peatio";

/// Which markets to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Markets {
    List(Vec<String>),
    /// Every market `public/markets` lists as enabled.
    AllEnabled,
}

/// How to reach a ranger endpoint and keep its streams: the URLs, and the timings of
/// flushes, pings, silence, backoff and REST depth snapshots.
#[derive(Debug, Clone)]
pub struct Link {
    pub ws: String,
    pub rest: String,
    /// How often to flush what was received to the sink.
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
    /// Counts every frame handed to the sink, for a caller embedding the client.
    pub frames_written: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            ws: DEFAULT_WS.into(),
            rest: DEFAULT_REST.into(),
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

/// What a client did.
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
pub fn http_get(url: &str) -> Result<String, RangerError> {
    let http = |e| RangerError::get(url, Box::new(e));
    let mut resp = ureq::get(url).call().map_err(http)?;
    resp.body_mut().read_to_string().map_err(http)
}

/// Reads `public/markets` and picks the markets to follow.
pub fn fetch_markets(rest: &str, which: &Markets) -> Result<Vec<MarketJson>, RangerError> {
    let url = format!("{}/public/markets", rest.trim_end_matches('/'));
    let text = http_get(&url)?;
    let all: Vec<MarketJson> =
        serde_json::from_str(&text).map_err(|e| RangerError::get(&url, GetError::NotMarkets(e)))?;
    match which {
        Markets::AllEnabled => {
            let on: Vec<_> = all
                .into_iter()
                .filter(|m| m.state == MarketState::Enabled)
                .collect();
            if on.is_empty() {
                return Err(RangerError::get(&url, GetError::NoneEnabled));
            }
            Ok(on)
        }
        Markets::List(names) => names
            .iter()
            .map(|n| {
                all.iter()
                    .find(|m| &m.id == n)
                    .cloned()
                    .ok_or_else(|| RangerError::NotListed {
                        market: n.clone(),
                        url: url.clone(),
                    })
            })
            .collect(),
    }
}
