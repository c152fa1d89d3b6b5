//! `altsim serve`: an emulated Altmarkets exchange (ranger WebSocket and Peatio public REST)
//! that plays captures back.

pub mod conn;
pub mod hub;
pub mod playback;
pub mod rest;
pub mod session;

use crate::venue::MarketRules;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hub::Hub;
use rest::Stats;
use session::Heartbeat;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::time::Duration;

/// How fast captures play.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// At the recorded pace times `speed`; a client that falls a whole queue behind is dropped.
    Recorded { speed: f64 },
    /// As fast as the slowest subscriber reads.
    Max,
}

/// Faults to inject, for testing clients. Counts are per connection unless said otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Close the connection once this many frames were sent on it.
    pub drop_after_frames: Option<u64>,
    /// Close the connection this long after it opened.
    pub drop_after: Option<Duration>,
    /// Every Nth increment (over all markets) skips a sequence number.
    pub skip_seq_every: Option<u64>,
    /// Every Nth increment (over all markets) restarts the sequence at 1, as an engine
    /// restart does.
    pub restart_seq_every: Option<u64>,
    /// Send a malformed frame before every Nth frame.
    pub malformed_every: Option<u64>,
    /// After every Nth frame, send nothing for `stall_for` (without closing).
    pub stall_every: Option<u64>,
    pub stall_for: Option<Duration>,
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub captures: Vec<PathBuf>,
    /// Rules for captures without a header.
    pub markets: Vec<MarketRules>,
    pub pace: Pace,
    pub looping: bool,
    /// Skip (without sending) this much of the captures' start, ns.
    pub start_offset_ns: i64,
    /// Start playing once this many clients have subscribed.
    pub wait_clients: usize,
    pub faults: Faults,
    pub ping: Duration,
    pub timeout: Duration,
    /// Connections each address and the server may hold, and the header-read timeout.
    pub limits: conn::Limits,
}

impl Config {
    pub fn new(captures: Vec<PathBuf>, markets: Vec<MarketRules>) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            captures,
            markets,
            pace: Pace::Recorded { speed: 1.0 },
            looping: false,
            start_offset_ns: 0,
            wait_clients: 0,
            faults: Faults::default(),
            ping: Duration::from_secs(54),
            timeout: Duration::from_secs(60),
            limits: conn::Limits::default(),
        }
    }
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    hub: Arc<Mutex<Hub>>,
    order: Arc<tokio::sync::Mutex<()>>,
    shutdown: watch::Sender<bool>,
    playback: Option<tokio::task::JoinHandle<Result<(), crate::tape::TapeError>>>,
    http: tokio::task::JoinHandle<()>,
    tasks: conn::Tasks,
}

#[derive(Clone)]
struct AppState {
    hub: Arc<Mutex<Hub>>,
    /// Held while anything is queued for clients (see `playback::run`).
    order: Arc<tokio::sync::Mutex<()>>,
    faults: Faults,
    heartbeat: Heartbeat,
    shutdown: watch::Receiver<bool>,
    /// Held by each WebSocket session, so that the server's stop waits for it.
    guard: conn::TaskGuard,
}

impl axum::extract::FromRef<AppState> for rest::Shared {
    fn from_ref(s: &AppState) -> rest::Shared {
        s.hub.clone()
    }
}

async fn ranger(
    ws: WebSocketUpgrade,
    State(app): State<AppState>,
    ConnectInfo(conn::Peer(peer)): ConnectInfo<conn::Peer>,
    RawQuery(query): RawQuery,
) -> Response {
    let streams: Vec<String> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.strip_prefix("stream="))
        .map(|s| s.replace("%2E", ".").replace("%2e", "."))
        .collect();
    ws.max_message_size(1 << 16).on_upgrade(move |socket| {
        session::run(
            socket,
            session::Context {
                hub: app.hub,
                order: app.order,
                addr: peer.to_string(),
                faults: app.faults,
                heartbeat: app.heartbeat,
                shutdown: app.shutdown,
                _guard: app.guard,
            },
            streams,
        )
    })
}

/// A server that could not start, or whose playback failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Capture(#[from] crate::tape::TapeError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("playback stopped: {0}")]
    Playback(#[from] tokio::task::JoinError),
}

impl Server {
    /// Binds, starts playback and returns at once.
    pub async fn start(cfg: Config) -> Result<Server, ServeError> {
        Self::start_with(cfg, conn::Tasks::default(), None).await
    }

    /// As [`start`](Self::start), with `extra` routes served beside the public ones, whose
    /// tasks hold guards of `tasks` (the server's stop waits for them). With no captures there
    /// is no playback: events come through [`publisher`](Self::publisher).
    pub async fn start_with(
        cfg: Config,
        tasks: conn::Tasks,
        extra: Option<Router>,
    ) -> Result<Server, ServeError> {
        // Open every capture once here so that a bad path or header fails the start.
        let mut rules = cfg.markets.clone();
        for p in &cfg.captures {
            let s = crate::tape::EventStream::open(vec![p.clone()], cfg.markets.clone())?;
            for r in s.normalizer().markets() {
                if !rules.iter().any(|x| x.id == r.id) {
                    rules.push(r.clone());
                }
            }
        }
        let names: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
        let hub = Arc::new(Mutex::new(Hub::new(rules.clone())));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Listen {
            addr: cfg.listen,
            source,
        })?;
        let order = Arc::new(tokio::sync::Mutex::new(()));
        let app = AppState {
            hub: hub.clone(),
            order: order.clone(),
            faults: cfg.faults,
            heartbeat: Heartbeat {
                ping: cfg.ping,
                timeout: cfg.timeout,
            },
            shutdown: shutdown_rx.clone(),
            guard: tasks.guard(),
        };
        let base = "/api/v2/peatio/public";
        let router = Router::new()
            .route("/api/v2/ranger/public", get(ranger))
            .route("/api/v2/ranger/public/", get(ranger))
            .route(&format!("{base}/timestamp"), get(rest::timestamp))
            .route(&format!("{base}/markets"), get(rest::markets))
            .route(&format!("{base}/markets/tickers"), get(rest::tickers))
            .route(
                &format!("{base}/markets/{{market}}/tickers"),
                get(rest::ticker),
            )
            .route(
                &format!("{base}/markets/{{market}}/depth"),
                get(rest::depth),
            )
            .route(
                &format!("{base}/markets/{{market}}/trades"),
                get(rest::trades),
            )
            .route("/stats", get(rest::stats))
            .with_state(app);
        let router = match extra {
            Some(r) => router.merge(r),
            None => router,
        };
        let accept = conn::Accept {
            listener,
            limits: cfg.limits,
            idle: cfg.timeout,
            slots: hub.lock().expect("hub lock").slots.clone(),
            guard: tasks.guard(),
        };
        let http = tokio::spawn(conn::serve(accept, router, shutdown_rx.clone()));
        let (primed_tx, primed) = tokio::sync::oneshot::channel();
        let playback = (!cfg.captures.is_empty()).then(|| {
            let batches = playback::spawn_reader(
                cfg.captures.clone(),
                cfg.markets.clone(),
                names,
                cfg.looping,
            );
            tokio::spawn(playback::run(playback::Playback {
                hub: hub.clone(),
                batches,
                pace: cfg.pace,
                faults: cfg.faults,
                start_offset_ns: cfg.start_offset_ns,
                wait_clients: cfg.wait_clients,
                order: order.clone(),
                primed: primed_tx,
                shutdown: shutdown_rx,
            }))
        });
        if playback.is_some() && cfg.wait_clients > 0 {
            // Waiting clients find the captures' first books in REST from the start.
            let _ = primed.await;
        }
        Ok(Server {
            addr,
            hub,
            order,
            shutdown,
            playback,
            http,
            tasks,
        })
    }

    /// `http://ADDR`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://ADDR/api/v2/ranger/public`
    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/v2/ranger/public", self.addr)
    }

    /// A handle to publish events that come from elsewhere (for a server without captures).
    pub fn publisher(&self) -> playback::Publisher {
        playback::Publisher::new(self.hub.clone(), self.order.clone())
    }

    pub fn stats(&self) -> Stats {
        rest::stats_of(&self.hub.lock().expect("hub lock"))
    }

    /// The server's current book of a market as (asks, bids) best first.
    pub fn book(&self, market: &str) -> Option<crate::book::Book> {
        let h = self.hub.lock().expect("hub lock");
        h.market(market).map(|m| m.book.clone())
    }

    /// Waits until the captures have been played (or playback failed).
    pub async fn wait_playback(&mut self) -> Result<(), ServeError> {
        match self.playback.take() {
            Some(task) => Ok(task.await??),
            None => Ok(()),
        }
    }

    pub fn playback_done(&self) -> bool {
        self.hub.lock().expect("hub lock").playback_done
    }

    /// Stops everything, waits for every task the server started, and returns the final
    /// stats.
    pub async fn stop(self) -> Stats {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.playback {
            let _ = task.await;
        }
        let _ = self.http.await;
        self.tasks.wait().await;
        rest::stats_of(&self.hub.lock().expect("hub lock"))
    }
}

/// Runs a server from the command line: prints its base URL as the first line on stdout,
/// serves until Ctrl-C (or, with `exit_at_end`, until the captures are played), and returns
/// the final stats.
pub fn run_cli(cfg: Config, exit_at_end: bool) -> Result<Stats, ServeError> {
    let rt = tokio::runtime::Runtime::new().map_err(ServeError::Runtime)?;
    rt.block_on(async move {
        let mut server = Server::start(cfg).await?;
        let _ = crate::console::out(&format!("{}\n", server.base_url()));
        crate::log!(
            "altsim serve: ranger at {}, REST at {}/api/v2/peatio/public, stats at {}/stats",
            server.ws_url(),
            server.base_url(),
            server.base_url()
        );
        if exit_at_end {
            tokio::select! {
                r = server.wait_playback() => r?,
                _ = tokio::signal::ctrl_c() => {}
            }
        } else {
            let _ = tokio::signal::ctrl_c().await;
        }
        Ok(server.stop().await)
    })
}
