//! The client's connection loop: connect, subscribe, hand on every frame, watch sequences,
//! resync after gaps, reconnect with backoff.

use super::error::{GetError, RangerError};
use super::status::Status;
use super::{Link, Summary};
use crate::tape::Session;
use crate::utc::wall_ns as now_ns;
use crate::venue::rest::Depth;
use crate::venue::{ClientRequest, Frame, MarketJson};
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Ranger reads requests of at most this many bytes.
const MAX_REQUEST: usize = 512;

/// Where a market's `ob-inc` sequence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seq {
    /// Waiting for the snapshot of a (re)subscription.
    AwaitSnapshot,
    Expect(u64),
}

/// Why a connection ended.
enum End {
    Lost(String),
    Shutdown,
}

/// Where a recording goes: files for `record`, the engine for a live `paper` session. Frames
/// arrive verbatim with their receive times, session records between them, in order.
#[allow(async_fn_in_trait)]
pub trait Sink {
    async fn frame(&mut self, recv_ns: i64, frame: &[u8]) -> std::io::Result<()>;
    async fn session(&mut self, recv_ns: i64, s: &Session) -> std::io::Result<()>;
    async fn flush(&mut self) -> std::io::Result<()>;
    /// Bytes written in all and to the current file, for the status line.
    fn bytes(&self) -> (u64, u64) {
        (0, 0)
    }
}

/// One ranger endpoint followed for a set of markets, into a sink.
pub struct Client<S> {
    cfg: Link,
    /// What the sink is called in errors (the folder, or the feed).
    name: String,
    markets: Vec<MarketJson>,
    writer: S,
    summary: Summary,
    status: Status,
    seq: BTreeMap<String, Seq>,
    rng: u64,
}

/// Subscribe (or unsubscribe) requests for `streams`, each within ranger's size limit.
fn requests(streams: &[String], subscribe: bool) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut chunk: Vec<String> = Vec::new();
    let make = |c: &[String]| {
        let r = if subscribe {
            ClientRequest::Subscribe(c.to_vec())
        } else {
            ClientRequest::Unsubscribe(c.to_vec())
        };
        r.to_json()
    };
    for s in streams {
        chunk.push(s.clone());
        if chunk.len() > 1 && make(&chunk).len() > MAX_REQUEST {
            chunk.pop();
            out.push((make(&chunk), std::mem::take(&mut chunk)));
            chunk.push(s.clone());
        }
    }
    if !chunk.is_empty() {
        out.push((make(&chunk), chunk));
    }
    out
}

/// The market a frame is about (the part of its first key before the dot), `-` for others.
fn market_of(text: &str) -> &str {
    text.strip_prefix("{\"")
        .and_then(|r| r.split_once('"'))
        .and_then(|(key, _)| key.split_once('.'))
        .map_or("-", |(m, _)| m)
}

impl<S: Sink> Client<S> {
    pub fn new(cfg: Link, name: String, markets: Vec<MarketJson>, writer: S) -> Self {
        let status = Status::new(cfg.progress);
        Client {
            cfg,
            name,
            markets,
            writer,
            summary: Summary::default(),
            status,
            seq: BTreeMap::new(),
            rng: now_ns() as u64 | 1,
        }
    }

    fn streams(&self) -> Vec<String> {
        self.markets
            .iter()
            .flat_map(|m| [format!("{}.ob-inc", m.id), format!("{}.trades", m.id)])
            .collect()
    }

    fn io(&self, source: std::io::Error) -> RangerError {
        RangerError::Sink {
            name: self.name.clone(),
            source,
        }
    }

    async fn session(&mut self, s: Session) -> Result<(), RangerError> {
        let r = self.writer.session(now_ns(), &s).await;
        r.map_err(|e| self.io(e))
    }

    async fn flush(&mut self) -> Result<(), RangerError> {
        let r = self.writer.flush().await;
        r.map_err(|e| self.io(e))
    }

    /// Backoff with ±25 % jitter.
    fn jitter(&mut self, d: Duration) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let f = 0.75 + (self.rng % 1000) as f64 / 2000.0;
        d.mul_f64(f)
    }

    /// Records until `shutdown` turns true; hands the sink back with what was done.
    pub async fn run(
        mut self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(Summary, S), RangerError> {
        let mut backoff = self.cfg.backoff_min;
        let mut first = true;
        let (depth_tx, mut depth_rx) = mpsc::channel::<(String, Result<Depth, RangerError>)>(64);
        loop {
            if !first {
                self.summary.reconnects += 1;
            }
            first = false;
            let started = Instant::now();
            let end = self
                .connection(&mut shutdown, &depth_tx, &mut depth_rx)
                .await?;
            let reason = match end {
                End::Shutdown => break,
                End::Lost(r) => r,
            };
            self.session(Session::Disconnect {
                reason: reason.clone(),
            })
            .await?;
            self.flush().await?;
            if started.elapsed() > Duration::from_secs(10) {
                backoff = self.cfg.backoff_min;
            }
            let wait = self.jitter(backoff);
            self.status.note(
                now_ns(),
                &format!("disconnected: {reason}; reconnecting in {wait:.1?}"),
            );
            backoff = (backoff * 2).min(self.cfg.backoff_max);
            tokio::select! {
                _ = sleep(wait) => {}
                _ = shutdown.changed() => break,
            }
        }
        self.flush().await?;
        self.status.finish();
        self.summary.bytes = self.writer.bytes().0;
        Ok((self.summary, self.writer))
    }

    async fn connection(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        depth_tx: &mpsc::Sender<(String, Result<Depth, RangerError>)>,
        depth_rx: &mut mpsc::Receiver<(String, Result<Depth, RangerError>)>,
    ) -> Result<End, RangerError> {
        let url = self.cfg.ws.clone();
        let connect = tokio_tungstenite::connect_async_with_config(url.as_str(), None, true);
        let mut ws = tokio::select! {
            r = timeout(Duration::from_secs(10), connect) => match r {
                Ok(Ok((ws, _))) => ws,
                Ok(Err(e)) => return Ok(End::Lost(format!("cannot connect to {url}: {e}"))),
                Err(_) => return Ok(End::Lost(format!("cannot connect to {url}: timed out"))),
            },
            _ = shutdown.changed() => return Ok(End::Shutdown),
        };
        self.session(Session::Connect { url: url.clone() }).await?;
        self.status.note(now_ns(), &format!("connected to {url}"));
        self.seq.clear();
        for m in &self.markets {
            self.seq.insert(m.id.clone(), Seq::AwaitSnapshot);
        }
        for (text, streams) in requests(&self.streams(), true) {
            if let Err(e) = ws.send(Message::Text(text.into())).await {
                return Ok(End::Lost(format!("subscribe failed: {e}")));
            }
            self.session(Session::Subscribe { streams }).await?;
        }
        let mut flush = tokio::time::interval(self.cfg.flush_every);
        // Ping often enough that a quiet but live server answers before the silence limit.
        let mut ping = tokio::time::interval(self.cfg.ping_every.min(self.cfg.silence / 2));
        ping.tick().await;
        let far = Duration::from_secs(86_400 * 365);
        let mut depth = tokio::time::interval(self.cfg.depth_every.unwrap_or(far));
        let mut last_seen = Instant::now();
        loop {
            tokio::select! {
                msg = ws.next() => {
                    let t = now_ns();
                    last_seen = Instant::now();
                    let msg = match msg {
                        Some(Ok(m)) => m,
                        Some(Err(e)) => return Ok(End::Lost(e.to_string())),
                        None => return Ok(End::Lost("connection closed".into())),
                    };
                    match msg {
                        Message::Text(text) => {
                            // Verbatim, before anything else looks at it.
                            let w = self.writer.frame(t, text.as_bytes()).await;
                            w.map_err(|e| self.io(e))?;
                            if let Some(n) = &self.cfg.frames_written {
                                n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            if let Some(resync) = self.observe(t, text.as_str()).await? {
                                for (req, streams) in requests(&[format!("{resync}.ob-inc")], false) {
                                    let _ = ws.send(Message::Text(req.into())).await;
                                    self.session(Session::Unsubscribe { streams }).await?;
                                }
                                for (req, streams) in requests(&[format!("{resync}.ob-inc")], true) {
                                    let _ = ws.send(Message::Text(req.into())).await;
                                    self.session(Session::Subscribe { streams }).await?;
                                }
                                self.session(Session::Resync { market: resync.clone() }).await?;
                                self.summary.resyncs += 1;
                            }
                        }
                        Message::Binary(bytes) => {
                            let w = self.writer.frame(t, &bytes).await;
                            w.map_err(|e| self.io(e))?;
                            *self.summary.frames.entry("-".into()).or_default() += 1;
                        }
                        Message::Close(c) => {
                            let why = c.map_or("closed by the server".into(), |c| format!("closed by the server: {} {}", c.code, c.reason));
                            return Ok(End::Lost(why));
                        }
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                _ = ping.tick() => {
                    if let Err(e) = ws.send(Message::Text("ping".into())).await {
                        return Ok(End::Lost(format!("ping failed: {e}")));
                    }
                }
                _ = sleep(self.cfg.silence.saturating_sub(last_seen.elapsed())) => {
                    return Ok(End::Lost(format!("silent for {:?}", self.cfg.silence)));
                }
                _ = flush.tick() => {
                    self.flush().await?;
                    let (all, current) = self.writer.bytes();
                    self.summary.bytes = all;
                    self.status.tick(now_ns(), &self.summary, current);
                }
                _ = depth.tick(), if self.cfg.depth_every.is_some() => {
                    for m in &self.markets {
                        let (tx, id) = (depth_tx.clone(), m.id.clone());
                        let url = format!("{}/public/markets/{id}/depth", self.cfg.rest.trim_end_matches('/'));
                        tokio::task::spawn_blocking(move || {
                            let r = super::http_get(&url).and_then(|t| {
                                serde_json::from_str::<Depth>(&t)
                                    .map_err(|e| RangerError::get(&url, GetError::Json(e)))
                            });
                            let _ = tx.blocking_send((id, r));
                        });
                    }
                }
                Some((market, r)) = depth_rx.recv() => match r {
                    Ok(depth) => self.session(Session::Depth { market, depth }).await?,
                    Err(e) => self.status.note(now_ns(), &e.to_string()),
                },
                _ = shutdown.changed() => {
                    self.session(Session::Disconnect { reason: "recorder stopped".into() }).await?;
                    let _ = ws.close(None).await;
                    return Ok(End::Shutdown);
                }
            }
        }
    }

    /// Counts a frame and checks its sequence; returns a market to resync.
    async fn observe(&mut self, t: i64, text: &str) -> Result<Option<String>, RangerError> {
        let market = market_of(text);
        match self.summary.frames.get_mut(market) {
            Some(n) => *n += 1,
            None => {
                self.summary.frames.insert(market.to_string(), 1);
            }
        }
        let (m, got) = match Frame::parse(text) {
            Ok(Frame::Snapshot(s)) => {
                if let (Some(st), Some(seq)) = (self.seq.get_mut(s.market), s.sequence) {
                    *st = Seq::Expect(seq + 1);
                }
                return Ok(None);
            }
            Ok(Frame::Increment(inc)) => match inc.sequence {
                Some(seq) => (inc.market.to_string(), seq),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let Some(st) = self.seq.get_mut(&m) else {
            return Ok(None);
        };
        let expected = match *st {
            Seq::Expect(e) if e == got => {
                *st = Seq::Expect(got + 1);
                return Ok(None);
            }
            Seq::Expect(e) => e,
            // Increments still in flight from before a resync.
            Seq::AwaitSnapshot => return Ok(None),
        };
        *st = Seq::AwaitSnapshot;
        self.summary.gaps += 1;
        self.session(Session::Gap {
            market: m.clone(),
            expected,
            got,
        })
        .await?;
        self.status.note(
            t,
            &format!("{m}: sequence gap (expected {expected}, got {got}); resubscribing"),
        );
        Ok(Some(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_stay_under_ranger_limit() {
        let streams: Vec<String> = (0..100).map(|i| format!("market{i:03}.ob-inc")).collect();
        let reqs = requests(&streams, true);
        assert!(reqs.len() > 1);
        assert!(reqs.iter().all(|(t, _)| t.len() <= MAX_REQUEST));
        let back: Vec<String> = reqs.into_iter().flat_map(|(_, s)| s).collect();
        assert_eq!(back, streams);
        assert_eq!(market_of(r#"{"btcusdt.ob-inc":{}}"#), "btcusdt");
        assert_eq!(market_of(r#"{"success":{}}"#), "-");
        assert_eq!(market_of("pong"), "-");
    }
}
