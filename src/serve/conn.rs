//! The connections a server accepts and the tasks it starts for them.
//!
//! - Each client address may hold [`Limits::per_ip`] connections at once and the server
//!   [`Limits::total`]; a connection past either is closed as soon as it is accepted, so one
//!   address cannot use up the process's file descriptors and lock the others out.
//! - A request's headers must arrive within [`Limits::header_timeout`] (hyper's header-read
//!   timer), so a client that drips its headers a byte at a time is closed.
//! - A connection that sends no request within [`FIRST_REQUEST`], or that goes quiet both
//!   ways for longer than the idle limit, is closed.
//! - Every task started for a connection (and each WebSocket session, through a
//!   [`TaskGuard`]) is counted; [`Tasks::wait`] returns once all have ended.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{Duration, Instant, Sleep};
use tower::ServiceExt;

/// How long a new connection may take to send its request.
pub const FIRST_REQUEST: Duration = Duration::from_secs(10);
/// How long connections may take to finish once the server stops, before they are cut.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the server lets its clients hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once from one IP address.
    pub per_ip: usize,
    /// Connections open at once in all.
    pub total: usize,
    /// Time a client has to send a request's headers once it has started one.
    pub header_timeout: Duration,
}

impl Default for Limits {
    /// 256 connections an address and 768 in all: under the common limit of 1,024 open
    /// files, with room for the process's own files. Headers within 10 s.
    fn default() -> Self {
        Limits {
            per_ip: 256,
            total: 768,
            header_timeout: FIRST_REQUEST,
        }
    }
}

/// Connections counted: open ones per address, and all accepted and refused.
#[derive(Debug, Default)]
struct Counts {
    by_ip: BTreeMap<IpAddr, usize>,
    open: usize,
    accepted: u64,
    refused: u64,
}

/// The server's connection counts, shared with every open connection's [`Slot`].
#[derive(Debug, Clone, Default)]
pub struct Slots(Arc<Mutex<Counts>>);

/// What [`Slots`] counted, for `/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotStats {
    pub open: usize,
    pub accepted: u64,
    pub refused: u64,
    /// Connections open, by client address.
    pub by_ip: BTreeMap<IpAddr, usize>,
}

impl Slots {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a connection from `ip`, or `None` (counted as refused) when the address or
    /// the server is at its limit.
    pub fn take(&self, ip: IpAddr, limits: &Limits) -> Option<Slot> {
        let mut c = self.lock();
        let of_ip = c.by_ip.get(&ip).copied().unwrap_or(0);
        if of_ip >= limits.per_ip || c.open >= limits.total {
            c.refused += 1;
            return None;
        }
        *c.by_ip.entry(ip).or_insert(0) += 1;
        c.open += 1;
        c.accepted += 1;
        Some(Slot {
            slots: self.clone(),
            ip,
        })
    }

    pub fn stats(&self) -> SlotStats {
        let c = self.lock();
        SlotStats {
            open: c.open,
            accepted: c.accepted,
            refused: c.refused,
            by_ip: c.by_ip.clone(),
        }
    }
}

/// One open connection's place in [`Slots`], given back when the connection is dropped
/// (after a WebSocket session too: it lives in the connection's stream).
#[derive(Debug)]
pub struct Slot {
    slots: Slots,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.slots.lock();
        c.open -= 1;
        if let Some(n) = c.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.by_ip.remove(&self.ip);
            }
        }
    }
}

/// Counts the tasks a server started, as mini-redis counts its handlers: each holds a
/// [`TaskGuard`], and [`wait`](Self::wait) returns once every guard is dropped.
pub struct Tasks {
    guard: Option<TaskGuard>,
    done: mpsc::Receiver<()>,
}

/// Held by a task for as long as it runs.
#[derive(Debug, Clone)]
pub struct TaskGuard(#[allow(dead_code)] mpsc::Sender<()>);

impl Default for Tasks {
    fn default() -> Self {
        let (tx, done) = mpsc::channel(1);
        Tasks {
            guard: Some(TaskGuard(tx)),
            done,
        }
    }
}

impl Tasks {
    /// A guard for a new task.
    pub fn guard(&self) -> TaskGuard {
        self.guard
            .clone()
            .expect("guards are handed out before wait")
    }

    /// Waits until every task holding a guard has ended.
    pub async fn wait(mut self) {
        self.guard = None;
        let _ = self.done.recv().await;
    }
}

/// The peer's address, for handlers (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Where and how [`serve`] accepts connections.
pub struct Accept {
    pub listener: TcpListener,
    pub limits: Limits,
    /// A connection silent both ways this long is closed.
    pub idle: Duration,
    pub slots: Slots,
    pub guard: TaskGuard,
}

/// Accepts connections until `shutdown` and serves `router` on each, within the limits; then
/// lets the open connections finish (at most [`STOP_GRACE`]) and returns.
pub async fn serve(accept: Accept, router: Router, mut shutdown: watch::Receiver<bool>) {
    let Accept {
        listener,
        limits,
        idle,
        slots,
        guard,
    } = accept;
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, addr) = match accepted {
            Ok(a) => a,
            // Out of file descriptors, or a connection reset before it was accepted: the
            // idle ones free theirs as they time out.
            Err(_) => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    _ = shutdown.changed() => break,
                }
            }
        };
        // Past a limit the connection is closed at once (dropped here).
        let Some(slot) = slots.take(addr.ip(), &limits) else {
            continue;
        };
        // Frames are small and must leave at once, not wait for a full segment.
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Idle::new(stream, idle, slot));
        conns.spawn(connection(
            io,
            addr,
            router.clone(),
            limits,
            shutdown.clone(),
        ));
        while conns.try_join_next().is_some() {}
    }
    drop(router);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_GRACE, drain).await.is_err() {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
    drop(guard);
}

/// Serves one connection's requests (and hands an upgraded one to its WebSocket session).
async fn connection(
    io: TokioIo<Idle<TcpStream>>,
    addr: SocketAddr,
    router: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(Peer(addr)));
        router.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(io, svc).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = shutdown.changed() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// A stream that fails with `TimedOut` once nothing has been read or written for its limit
/// ([`FIRST_REQUEST`] until the server first writes, then the idle limit). Activity only sets
/// a flag, which the timer checks when it fires, so a busy connection costs no timer work:
/// an idle connection ends between one and two limits after its last activity. It holds the
/// connection's [`Slot`].
pub struct Idle<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    answered: bool,
    active: bool,
    _slot: Slot,
}

impl<S> Idle<S> {
    fn new(inner: S, idle: Duration, slot: Slot) -> Self {
        Idle {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(FIRST_REQUEST.min(idle))),
            answered: false,
            active: false,
            _slot: slot,
        }
    }

    /// Whether the limit has passed with no activity; re-arms the timer after activity.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.deadline.as_mut().poll(cx).is_ready() {
            if !std::mem::take(&mut self.active) {
                return true;
            }
            let limit = if self.answered {
                self.idle
            } else {
                FIRST_REQUEST.min(self.idle)
            };
            self.deadline.as_mut().reset(Instant::now() + limit);
        }
        false
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle")
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.active = true;
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.answered = true;
                this.active = true;
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cap_each_address_and_the_total_and_come_back_when_dropped() {
        let limits = Limits {
            per_ip: 2,
            total: 3,
            ..Limits::default()
        };
        let slots = Slots::default();
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 1].into();
        let a1 = slots.take(a, &limits).unwrap();
        let _a2 = slots.take(a, &limits).unwrap();
        assert!(slots.take(a, &limits).is_none(), "a third from one address");
        let _b1 = slots.take(b, &limits).unwrap();
        assert!(slots.take(b, &limits).is_none(), "a fourth in all");
        drop(a1);
        let _b2 = slots.take(b, &limits).unwrap();
        let st = slots.stats();
        assert_eq!((st.open, st.accepted, st.refused), (3, 4, 2));
        assert_eq!(st.by_ip.get(&a), Some(&1));
        assert_eq!(st.by_ip.get(&b), Some(&2));
    }
}
