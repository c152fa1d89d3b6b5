//! Where a paper session's market data comes from: captures played at a chosen pace, or a live
//! ranger endpoint kept in sync by the recorder's own connection loop (snapshot and sequence,
//! resubscribe after a gap, reconnect with backoff). Either way the engine task receives
//! records, verbatim frames and session records with their receive times, in order.

use super::error::PaperError;
use crate::ranger::{Client, Link, Markets, Sink};
use crate::tape::reader::{Body, CaptureReader, Record};
use crate::tape::Session;
use crate::venue::{MarketJson, MarketRules};
use std::borrow::Cow;
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};

/// Records for the engine, in batches; an error ends the session.
pub type Batches = mpsc::Receiver<Result<Vec<Record<'static>>, PaperError>>;

/// A paper session's market data.
#[derive(Debug, Clone)]
pub enum Source {
    /// Captures, merged in time order by their first record.
    Captures {
        paths: Vec<PathBuf>,
        /// Rules for captures without a header.
        markets: Vec<MarketRules>,
        /// The captures' pace: 1 is as recorded.
        speed: f64,
        /// Applied at once, without waiting: this much of the captures' start, ns.
        start_offset_ns: i64,
    },
    /// A ranger WebSocket and the Peatio REST base that lists its markets.
    Live {
        ws: String,
        rest: String,
        markets: Markets,
    },
}

impl Source {
    /// What the session file names as the session's source.
    pub fn describe(&self) -> String {
        match self {
            Source::Captures { paths, .. } => paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            Source::Live { ws, .. } => ws.clone(),
        }
    }
}

/// Market rules of every capture (headers first, then `fallback` for the rest), in order.
pub fn rules_of(
    captures: &[PathBuf],
    fallback: &[MarketRules],
) -> Result<Vec<MarketRules>, PaperError> {
    let mut rules: Vec<MarketRules> = Vec::new();
    for p in captures {
        let r = CaptureReader::open(p)?;
        if let Some(h) = r.header() {
            for m in &h.markets {
                let m = MarketRules::from_json(m.clone()).map_err(|source| PaperError::Rules {
                    from: format!("{}: header", p.display()),
                    source,
                })?;
                if !rules.iter().any(|x| x.id == m.id) {
                    rules.push(m);
                }
            }
        }
    }
    for m in fallback {
        if !rules.iter().any(|x| x.id == m.id) {
            rules.push(m.clone());
        }
    }
    Ok(rules)
}

/// The captures' records in receive order (files by their first record), in batches, on a
/// thread.
pub fn spawn_captures(paths: Vec<PathBuf>) -> Batches {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut keyed = Vec::new();
        for p in paths {
            let first = CaptureReader::open(&p)
                .ok()
                .and_then(|mut r| r.next_record().ok().flatten().map(|r| r.recv_ns));
            keyed.push((first.is_none(), first, p));
        }
        keyed.sort();
        let mut batch = Vec::with_capacity(512);
        for (_, _, p) in keyed {
            let mut r = match CaptureReader::open(&p) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e.into()));
                    return;
                }
            };
            loop {
                let rec = match r.next_record() {
                    Ok(Some(rec)) => owned(rec),
                    Ok(None) => break,
                    // A record that cannot be read is skipped, as a backtest skips it.
                    Err(_) => continue,
                };
                batch.push(rec);
                if batch.len() == 512 && tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                    return;
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
    });
    rx
}

fn owned(rec: Record<'_>) -> Record<'static> {
    Record {
        recv_ns: rec.recv_ns,
        body: match rec.body {
            Body::Frame(f) => Body::Frame(Cow::Owned(f.into_owned())),
            Body::Binary(b) => Body::Binary(b),
            Body::Session(s) => Body::Session(s),
        },
    }
}

/// Hands what the recorder receives to the engine task, one record at a time: the engine is
/// the only buffer, and a slow engine slows the reading of the socket rather than dropping.
struct ToEngine {
    tx: mpsc::Sender<Result<Vec<Record<'static>>, PaperError>>,
}

impl ToEngine {
    async fn send(&mut self, rec: Record<'static>) -> std::io::Result<()> {
        self.tx
            .send(Ok(vec![rec]))
            .await
            .map_err(|_| std::io::Error::other("the paper engine has stopped"))
    }
}

impl Sink for ToEngine {
    async fn frame(&mut self, recv_ns: i64, frame: &[u8]) -> std::io::Result<()> {
        let body = match std::str::from_utf8(frame) {
            Ok(s) => Body::Frame(Cow::Owned(s.to_string())),
            Err(_) => Body::Binary(frame.to_vec()),
        };
        self.send(Record { recv_ns, body }).await
    }

    async fn session(&mut self, recv_ns: i64, s: &Session) -> std::io::Result<()> {
        self.send(Record {
            recv_ns,
            body: Body::Session(s.clone()),
        })
        .await
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The markets a live session trades: `public/markets` of `rest`, as `record` picks them.
pub async fn live_markets(rest: &str, which: &Markets) -> Result<Vec<MarketJson>, PaperError> {
    let (rest, which) = (rest.to_string(), which.clone());
    let fetched =
        tokio::task::spawn_blocking(move || crate::ranger::fetch_markets(&rest, &which)).await?;
    Ok(fetched?)
}

/// Connects to `ws` and keeps `markets` in sync until `shutdown`, as `record` does; an error
/// that ends the recorder (the engine gone) ends the feed.
pub fn spawn_live(
    ws: &str,
    rest: &str,
    markets: Vec<MarketJson>,
    shutdown: watch::Receiver<bool>,
) -> (Batches, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(1024);
    let link = Link {
        ws: ws.to_string(),
        rest: rest.to_string(),
        ..Link::default()
    };
    let err = tx.clone();
    let task = tokio::spawn(async move {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let r = Client::new(link, "live feed".into(), markets, ToEngine { tx })
            .run(shutdown)
            .await;
        if let Err(e) = r {
            let _ = err.send(Err(e.into())).await;
        }
    });
    (rx, task)
}
