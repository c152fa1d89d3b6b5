//! One WebSocket client of the ranger emulator: its requests, its frames, its faults.

use super::conn::TaskGuard;
use super::hub::{ClientEntry, ClientStats, Hub, Queue};
use super::Faults;
use crate::venue::ClientRequest;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio::time::{Duration, Instant};

/// Largest request ranger reads.
pub const MAX_REQUEST: usize = 512;
/// Frames queued for one client before it counts as too slow and is dropped.
pub const CLIENT_QUEUE: usize = 1 << 16;

/// Heartbeat settings.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    /// Protocol ping interval.
    pub ping: Duration,
    /// A client silent this long is dropped.
    pub timeout: Duration,
}

/// What one client's session needs of the server.
pub struct Context {
    pub hub: Arc<Mutex<Hub>>,
    /// Held while anything is queued for clients (see `playback::run`).
    pub order: Arc<tokio::sync::Mutex<()>>,
    /// The client's address, for `/stats`.
    pub addr: String,
    pub faults: Faults,
    pub heartbeat: Heartbeat,
    pub shutdown: watch::Receiver<bool>,
    /// Held for as long as the session runs: the server's stop waits for it.
    pub _guard: TaskGuard,
}

/// Close codes (RFC 6455 §7.4.1) the server sends when it ends a connection itself.
pub mod close_code {
    /// The client was silent past the timeout.
    pub const NORMAL: u16 = 1000;
    /// The server is stopping.
    pub const GOING_AWAY: u16 = 1001;
    /// The client fell a whole queue behind.
    pub const POLICY: u16 = 1008;
}

/// How a WebSocket is to be closed, set once by whoever ends it first: the peer (its own
/// code is echoed), the server with a code, or nobody (a fault's drop: a Close without a
/// code).
#[derive(Debug, Default)]
pub struct Closing(std::sync::atomic::AtomicU32);

/// `Closing` values besides a code.
const CLOSE_UNSET: u32 = 0;
const CLOSE_ECHO: u32 = u32::MAX;

impl Closing {
    /// `None` when the peer closed first. The first reason given stands.
    pub fn set(&self, code: Option<u16>) {
        let v = code.map_or(CLOSE_ECHO, u32::from);
        let _ = self
            .0
            .compare_exchange(CLOSE_UNSET, v, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The code to close with (`None`: no code of the server's own).
    pub fn code(&self) -> Option<u16> {
        match self.0.load(Ordering::Relaxed) {
            CLOSE_UNSET | CLOSE_ECHO => None,
            c => u16::try_from(c).ok(),
        }
    }
}

/// How long the closing handshake may take before the connection is cut.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Serves one connection until it closes, a fault drops it, or the server stops. A writer
/// task sends what is queued for the client; this task reads its requests. However it ends,
/// the client gets a Close frame: its own code echoed when it closed first.
pub async fn run(socket: WebSocket, cx: Context, initial: Vec<String>) {
    let Context {
        hub,
        order,
        addr,
        faults,
        heartbeat,
        mut shutdown,
        _guard,
    } = cx;
    let (tx, rx) = mpsc::channel::<Arc<str>>(CLIENT_QUEUE);
    let stats = {
        let mut h = hub.lock().expect("hub lock");
        let id = h.next_client;
        h.next_client += 1;
        let stats = Arc::new(ClientStats {
            id,
            addr,
            ..ClientStats::default()
        });
        h.remember(stats.clone());
        h.clients.insert(
            id,
            ClientEntry {
                tx: tx.clone(),
                subs: BTreeSet::new(),
                stats: stats.clone(),
            },
        );
        stats
    };
    let id = stats.id;
    let q = Queue {
        tx: tx.clone(),
        stats: stats.clone(),
    };
    let (sink, mut stream) = socket.split();
    let mut writer = tokio::spawn(write_loop(sink, rx, stats.clone(), faults, heartbeat.ping));
    if !initial.is_empty() {
        subscribe(&hub, &order, &q, id, &initial, "subscribed").await;
    }
    let mut last_seen = Instant::now();
    let mut writer_done = false;
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { break };
                last_seen = Instant::now();
                let text = match msg {
                    Message::Text(t) => t.to_string(),
                    // The reply is queued already; the writer sends it.
                    Message::Close(_) => {
                        stats.closing.set(None);
                        break;
                    }
                    _ => continue,
                };
                if !handle_request(&hub, &order, &q, id, &text).await {
                    break;
                }
            }
            _ = tokio::time::sleep(heartbeat.timeout.saturating_sub(last_seen.elapsed())) => {
                stats.closing.set(Some(close_code::NORMAL));
                break;
            }
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            _ = shutdown.changed() => {
                stats.closing.set(Some(close_code::GOING_AWAY));
                break;
            }
        }
    }
    hub.lock().expect("hub lock").clients.remove(&id);
    stats.kill.notify_one();
    drop(tx);
    if !writer_done {
        let _ = writer.await;
    }
    stats.closed.store(true, Ordering::Relaxed);
}

/// Ends a WebSocket from the server's side: a Close with `code` unless the peer closed first
/// (then the reply tungstenite queued is what goes out), flushed, within [`CLOSE_WAIT`].
pub async fn close<S>(sink: &mut S, code: Option<u16>)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let frame = code.map(|c| CloseFrame {
        code: c,
        reason: Utf8Bytes::from_static(""),
    });
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        // Refused (and harmless) when the peer closed first: its reply is already queued.
        let _ = sink.send(Message::Close(frame)).await;
        let _ = sink.close().await;
    })
    .await;
}

/// Queues the subscription answer and snapshots in order with the increments.
async fn subscribe(
    hub: &Arc<Mutex<Hub>>,
    order: &tokio::sync::Mutex<()>,
    q: &Queue,
    id: u64,
    streams: &[String],
    message: &str,
) -> bool {
    let _order = order.lock().await;
    let frames = hub
        .lock()
        .expect("hub lock")
        .subscribe(id, streams, message);
    for f in frames {
        if !q.send(f).await {
            return false;
        }
    }
    true
}

/// Sends what is queued for the client, with the faults and protocol pings; ends when the
/// queue closes, the server drops the client, a fault closes it, or a send fails.
async fn write_loop(
    mut sink: Sink,
    mut rx: mpsc::Receiver<Arc<str>>,
    stats: Arc<ClientStats>,
    faults: Faults,
    ping_every: Duration,
) {
    let connected = Instant::now();
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut counters = Counters::default();
    loop {
        tokio::select! {
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                stats.queued_bytes.fetch_sub(frame.len() as u64, Ordering::Relaxed);
                // Write what is queued in one go and flush once: a flush per frame would cost
                // a system call per frame.
                let mut next = Some(frame);
                let mut open = true;
                let mut written = 0;
                while let Some(frame) = next.take() {
                    open = deliver(&mut sink, frame, &stats, &faults, &mut counters, connected).await;
                    written += 1;
                    if !open || written == 512 {
                        break;
                    }
                    next = rx.try_recv().ok();
                    if let Some(f) = &next {
                        stats.queued_bytes.fetch_sub(f.len() as u64, Ordering::Relaxed);
                    }
                }
                if sink.flush().await.is_err() {
                    break;
                }
                counters.flushed(&stats);
                if !open {
                    break;
                }
            }
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            _ = stats.kill.notified() => break,
        }
    }
    close(&mut sink, stats.closing.code()).await;
}

/// Frames since the last stall and since the last malformed frame.
#[derive(Default)]
struct Counters {
    since_stall: u64,
    since_malformed: u64,
    /// Frames handed to the socket since its last flush.
    unflushed: u64,
}

impl Counters {
    /// Counts the frames written once a flush has succeeded.
    fn flushed(&mut self, stats: &ClientStats) {
        stats
            .frames_sent
            .fetch_add(std::mem::take(&mut self.unflushed), Ordering::Relaxed);
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Queues one frame on the socket, applying the faults; false when the connection is to end.
async fn deliver(
    sink: &mut Sink,
    frame: Arc<str>,
    stats: &ClientStats,
    faults: &Faults,
    c: &mut Counters,
    connected: Instant,
) -> bool {
    let sent = stats.frames_sent.load(Ordering::Relaxed) + c.unflushed;
    if faults.drop_after_frames.is_some_and(|n| sent >= n)
        || faults.drop_after.is_some_and(|d| connected.elapsed() >= d)
    {
        return false;
    }
    if let Some(n) = faults.malformed_every {
        c.since_malformed += 1;
        if c.since_malformed >= n {
            c.since_malformed = 0;
            let bad = Message::Text(Utf8Bytes::from_static("{\"malformed\":"));
            if sink.feed(bad).await.is_err() {
                return false;
            }
            stats.malformed_sent.fetch_add(1, Ordering::Relaxed);
        }
    }
    if sink
        .feed(Message::Text(Utf8Bytes::from(frame.as_ref())))
        .await
        .is_err()
    {
        return false;
    }
    c.unflushed += 1;
    if let (Some(n), Some(d)) = (faults.stall_every, faults.stall_for) {
        c.since_stall += 1;
        if c.since_stall >= n {
            c.since_stall = 0;
            if sink.flush().await.is_err() {
                return false;
            }
            c.flushed(stats);
            tokio::time::sleep(d).await;
        }
    }
    true
}

/// Handles one text request; false when the client is gone.
async fn handle_request(
    hub: &Arc<Mutex<Hub>>,
    order: &tokio::sync::Mutex<()>,
    q: &Queue,
    id: u64,
    text: &str,
) -> bool {
    let answer = if text.len() > MAX_REQUEST {
        error_frame(&format!(
            "Could not parse: request of {} bytes is over {MAX_REQUEST}",
            text.len()
        ))
    } else {
        match ClientRequest::parse(text) {
            Ok(ClientRequest::Ping) => "pong".into(),
            Ok(ClientRequest::Subscribe(streams)) => {
                return subscribe(hub, order, q, id, &streams, "subscribed").await
            }
            Ok(ClientRequest::Unsubscribe(streams)) => {
                return subscribe(hub, order, q, id, &streams, "unsubscribed").await
            }
            Err(e) => error_frame(&e.reason),
        }
    };
    q.send(Arc::from(answer)).await
}

fn error_frame(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}
