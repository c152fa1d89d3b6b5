//! One WebSocket client of the ranger emulator: its requests, its frames, its faults.

use super::hub::{ClientEntry, ClientStats, Hub};
use super::Faults;
use crate::venue::ClientRequest;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
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

/// Serves one connection until it closes, a fault drops it, or the server stops.
pub async fn run(
    socket: WebSocket,
    hub: Arc<Mutex<Hub>>,
    addr: String,
    initial: Vec<String>,
    faults: Faults,
    heartbeat: Heartbeat,
    mut shutdown: watch::Receiver<bool>,
) {
    let (tx, mut rx) = mpsc::channel::<Arc<str>>(CLIENT_QUEUE);
    let stats = {
        let mut h = hub.lock().expect("hub lock");
        let id = h.next_client;
        h.next_client += 1;
        let stats = Arc::new(ClientStats {
            id,
            addr,
            ..ClientStats::default()
        });
        h.history.push(stats.clone());
        h.clients.insert(
            id,
            ClientEntry {
                tx: tx.clone(),
                subs: BTreeSet::new(),
                stats: stats.clone(),
            },
        );
        if !initial.is_empty() {
            h.subscribe(id, &initial, "subscribed");
        }
        stats
    };
    let id = stats.id;
    let (mut sink, mut stream) = socket.split();
    let connected = Instant::now();
    let mut last_seen = Instant::now();
    let mut ping = tokio::time::interval(heartbeat.ping);
    ping.tick().await;
    let mut since_stall = 0u64;
    let mut since_malformed = 0u64;
    loop {
        tokio::select! {
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                if faults.drop_after_frames.is_some_and(|n| stats.frames_sent.load(Ordering::Relaxed) >= n)
                    || faults.drop_after.is_some_and(|d| connected.elapsed() >= d)
                {
                    break;
                }
                if faults.malformed_every.is_some_and(|n| { since_malformed += 1; since_malformed >= n }) {
                    since_malformed = 0;
                    if sink.send(Message::Text(Utf8Bytes::from_static("{\"malformed\":"))).await.is_err() {
                        break;
                    }
                    stats.malformed_sent.fetch_add(1, Ordering::Relaxed);
                }
                if sink.send(Message::Text(Utf8Bytes::from(frame.as_ref()))).await.is_err() {
                    break;
                }
                stats.frames_sent.fetch_add(1, Ordering::Relaxed);
                if let (Some(n), Some(d)) = (faults.stall_every, faults.stall_for) {
                    since_stall += 1;
                    if since_stall >= n {
                        since_stall = 0;
                        tokio::time::sleep(d).await;
                    }
                }
            }
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { break };
                last_seen = Instant::now();
                let text = match msg {
                    Message::Text(t) => t.to_string(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let answer = handle_request(&hub, id, &text);
                if let Some(a) = answer {
                    if tx.try_send(Arc::from(a)).is_err() {
                        hub.lock().expect("hub lock").drop_slow(id);
                        break;
                    }
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() >= heartbeat.timeout {
                    break;
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    hub.lock().expect("hub lock").clients.remove(&id);
    stats.closed.store(true, Ordering::Relaxed);
    let _ = sink.send(Message::Close(None)).await;
}

/// Handles one text request; returns a frame to send that is not queued by the hub.
fn handle_request(hub: &Arc<Mutex<Hub>>, id: u64, text: &str) -> Option<String> {
    if text.len() > MAX_REQUEST {
        return Some(error_frame(&format!(
            "Could not parse: request of {} bytes is over {MAX_REQUEST}",
            text.len()
        )));
    }
    match ClientRequest::parse(text) {
        Ok(ClientRequest::Ping) => Some("pong".into()),
        Ok(ClientRequest::Subscribe(streams)) => {
            hub.lock()
                .expect("hub lock")
                .subscribe(id, &streams, "subscribed");
            None
        }
        Ok(ClientRequest::Unsubscribe(streams)) => {
            hub.lock()
                .expect("hub lock")
                .subscribe(id, &streams, "unsubscribed");
            None
        }
        Err(e) => Some(error_frame(&e.reason)),
    }
}

fn error_frame(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}
