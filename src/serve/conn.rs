//! Connections the server accepts: a connection that sends no request within a short time
//! (half-open), or that goes quiet both ways for longer than the client timeout, is closed,
//! so idle sockets cannot hold the server's file descriptors.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Duration, Instant, Sleep};

/// How long a new connection may take to send its request.
pub const FIRST_REQUEST: Duration = Duration::from_secs(10);

/// A TCP listener whose connections time out when idle.
pub struct Listener {
    inner: TcpListener,
    idle: Duration,
}

impl Listener {
    pub fn new(inner: TcpListener, idle: Duration) -> Self {
        Listener { inner, idle }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Idle<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((s, addr)) => {
                    // Frames are small and must leave at once, not wait for a full segment.
                    let _ = s.set_nodelay(true);
                    return (Idle::new(s, self.idle), addr);
                }
                // Out of file descriptors, or a connection reset before it was accepted: the
                // idle ones free theirs as they time out.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The peer's address, for handlers.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Listener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// A stream that fails with `TimedOut` once nothing has been read or written for its limit
/// ([`FIRST_REQUEST`] until the server first writes, then the idle limit). Activity only sets
/// a flag, which the timer checks when it fires, so a busy connection costs no timer work:
/// an idle connection ends between one and two limits after its last activity.
pub struct Idle<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    answered: bool,
    active: bool,
}

impl<S> Idle<S> {
    fn new(inner: S, idle: Duration) -> Self {
        Idle {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(FIRST_REQUEST.min(idle))),
            answered: false,
            active: false,
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
