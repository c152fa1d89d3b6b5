//! `altsim paper`: the paper exchange behind an Altmarkets-compatible endpoint. Public data
//! (ranger WebSocket and Peatio REST) is `serve`'s, fed the very events the paper exchange
//! matches against; private REST and the private WebSocket take API-key-signed requests. One
//! task owns the engine: every frame, request and clock tick it applies is journaled first,
//! so `altsim backtest --journal` replays the session byte for byte.

pub mod accounts;
pub mod api;
pub mod dashboard;
pub mod engine;
mod error;
pub mod feed;
pub mod journal;
pub mod nonces;
pub mod order;
pub mod strategy;
pub mod view;

use crate::scenario::ExchangeConfig;
use crate::serve::playback::Publisher;
use crate::tape::reader::{Body, Record};
use crate::tape::{MarketId, Session};
use crate::venue::MarketRules;
pub use accounts::{load_accounts, Account};
use api::{Api, Cmd};
use engine::{AccountSpec, Engine, Output};
pub use error::{AccountReason, AccountsError, Cause, PaperError};
use feed::Batches;
pub use feed::Source;
use journal::{Journal, Results, SessionFile};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Duration, Instant};

/// Everything `paper` needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub source: Source,
    /// A scenario whose strategy trades in the session, and the scenario file's text.
    pub scenario: Option<(crate::scenario::Scenario, String)>,
    pub accounts: Vec<Account>,
    pub exchange: ExchangeConfig,
    /// The exchange configuration's file name and text, for the journal.
    pub exchange_source: (String, String),
    /// The session folder: journal, session file, results.
    pub out: PathBuf,
    /// Connections each address and the endpoint may hold, and the header-read timeout.
    pub limits: crate::serve::conn::Limits,
}

/// What a session did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub frames: u64,
    pub requests: u64,
    pub orders: u64,
    pub fills: u64,
    pub malformed_frames: u64,
    pub feed_done: bool,
    /// The scenario strategy's result folder and summary.
    pub strategy: Option<(PathBuf, String)>,
}

/// A running paper exchange.
pub struct Paper {
    pub addr: SocketAddr,
    server: crate::serve::Server,
    shutdown: watch::Sender<bool>,
    feed_done: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<Result<Summary, PaperError>>,
    /// The live feed's connection loop.
    live: Option<tokio::task::JoinHandle<()>>,
    frames: watch::Receiver<u64>,
}

/// Maps the captures' clock onto the wall clock at `speed`.
#[derive(Debug, Clone, Copy)]
struct Clock {
    t0: i64,
    wall0: Instant,
    speed: f64,
}

impl Clock {
    fn now(&self) -> i64 {
        let e = self.wall0.elapsed().as_nanos() as f64 * self.speed;
        self.t0.saturating_add(e as i64)
    }

    fn wall(&self, t: i64) -> Instant {
        let d = (t.saturating_sub(self.t0)).max(0) as f64 / self.speed;
        self.wall0 + Duration::from_nanos(d.min(1e18) as u64)
    }
}

fn is_loopback(a: &SocketAddr) -> bool {
    a.ip().is_loopback()
}

impl Paper {
    /// Binds, opens the session folder and starts the feed; returns at once.
    pub async fn start(cfg: Config, allow_remote: bool) -> Result<Paper, PaperError> {
        if !is_loopback(&cfg.listen) && !allow_remote {
            return Err(PaperError::NotLoopback(cfg.listen));
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut live = None;
        let (rules, first, feed, clock) = match &cfg.source {
            Source::Captures {
                paths,
                markets,
                speed,
                start_offset_ns,
            } => {
                if !(*speed > 0.0 && speed.is_finite()) {
                    return Err(PaperError::Speed(*speed));
                }
                if paths.is_empty() {
                    return Err(PaperError::NoCaptures);
                }
                let rules = feed::rules_of(paths, markets)?;
                let mut feed = feed::spawn_captures(paths.clone());
                // The first batch sets the clock.
                let first = match feed.recv().await {
                    Some(Ok(b)) => b,
                    Some(Err(e)) => return Err(e),
                    None => Vec::new(),
                };
                let t0 = first.first().map_or(0, |r| r.recv_ns);
                let clock = Clock {
                    t0: t0.saturating_add(*start_offset_ns),
                    wall0: Instant::now(),
                    speed: *speed,
                };
                (rules, first, feed, clock)
            }
            Source::Live { ws, rest, markets } => {
                let listed = feed::live_markets(rest, markets).await?;
                let rules = listed
                    .iter()
                    .map(|m| MarketRules::from_json(m.clone()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|source| PaperError::Rules {
                        from: format!("{rest}/public/markets"),
                        source,
                    })?;
                let (feed, task) = feed::spawn_live(ws, rest, listed, shutdown_rx.clone());
                live = Some(task);
                let clock = Clock {
                    t0: crate::utc::wall_ns(),
                    wall0: Instant::now(),
                    speed: 1.0,
                };
                (rules, Vec::new(), feed, clock)
            }
        };
        let started = first.first().map_or(clock.t0, |r| r.recv_ns);
        let specs: Vec<AccountSpec> = cfg.accounts.iter().map(|a| a.spec.clone()).collect();
        let engine = Engine::new(rules.clone(), &cfg.exchange, &specs)?;
        let session = SessionFile {
            version: 1,
            source: cfg.source.describe(),
            accounts: specs,
            config_name: cfg.exchange_source.0.clone(),
            config: cfg.exchange_source.1.clone(),
        };
        let journal = Journal::create(&cfg.out, &rules, &session, started)?;
        let strategy = match &cfg.scenario {
            Some((s, text)) => Some(strategy::Live::start(
                s,
                text,
                rules.clone(),
                &cfg.out,
                Path::new(journal::JOURNAL),
            )?),
            None => None,
        };
        let results = Results::create(&cfg.out.join("results"))?;
        let keys = cfg
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.spec.key.clone(), (i, a.secret.clone())))
            .collect();
        let (cmds_tx, cmds) = mpsc::channel(1024);
        let tasks = crate::serve::conn::Tasks::default();
        let api = Api::new(keys, rules.clone(), cmds_tx, tasks.guard());
        let (board, board_tx) = dashboard::Board::new(cfg.source.describe(), cfg.accounts.len());
        let mut scfg = crate::serve::Config::new(Vec::new(), rules);
        scfg.listen = cfg.listen;
        scfg.limits = cfg.limits;
        let server = crate::serve::Server::start_with(
            scfg,
            tasks,
            Some(api.router().merge(dashboard::router(board_tx))),
        )
        .await?;
        let (done_tx, feed_done) = watch::channel(false);
        let (frames_tx, frames) = watch::channel(0);
        let task = Task {
            engine,
            journal,
            results: Some(results),
            publisher: server.publisher(),
            clock,
            buf: first.into(),
            feed: Some(feed),
            live: live.is_some(),
            frames: frames_tx,
            strategy,
            last_t: i64::MIN,
            status: crate::console::Status::new(),
            cmds,
            watchers: Vec::new(),
            pending: BTreeMap::new(),
            next_token: 0,
            summary: Summary::default(),
            feed_done: done_tx,
            board,
        };
        let task = tokio::spawn(task.run(shutdown_rx));
        Ok(Paper {
            addr: server.addr,
            server,
            shutdown,
            feed_done,
            task,
            live,
            frames,
        })
    }

    /// `http://ADDR`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Feed frames applied so far (session records of the feed not counted).
    pub fn frames(&self) -> u64 {
        *self.frames.borrow()
    }

    /// Waits until another feed frame has been applied; false once the session has ended.
    pub async fn next_frame(&mut self) -> bool {
        self.frames.changed().await.is_ok()
    }

    /// Waits until every capture record has been applied (never, for a live feed).
    pub async fn wait_feed(&mut self) {
        let _ = self.feed_done.wait_for(|d| *d).await;
    }

    /// Stops the session: journals the stop, delivers what is in flight, writes the results.
    pub async fn stop(self) -> Result<Summary, PaperError> {
        let _ = self.shutdown.send(true);
        let r = self.task.await?;
        if let Some(live) = self.live {
            let _ = live.await;
        }
        self.server.stop().await;
        r
    }
}

/// The engine task's state.
struct Task {
    engine: Engine,
    journal: Journal,
    results: Option<Results>,
    publisher: Publisher,
    clock: Clock,
    buf: VecDeque<Record<'static>>,
    feed: Option<Batches>,
    /// The feed is a live connection: its session records are worth a log line.
    live: bool,
    frames: watch::Sender<u64>,
    strategy: Option<strategy::Live>,
    /// The journal's last receive time: each record's is later, so every record is one
    /// instant for the strategy and for a backtest of the journal.
    last_t: i64,
    status: crate::console::Status,
    cmds: mpsc::Receiver<Cmd>,
    /// Private WebSocket clients, by account.
    watchers: Vec<(usize, api::PrivateTx)>,
    pending: BTreeMap<u64, oneshot::Sender<(u16, String)>>,
    next_token: u64,
    summary: Summary,
    feed_done: watch::Sender<bool>,
    board: dashboard::Board,
}

/// What the dashboard reads of the session task (borrowing its fields, not the task).
macro_rules! board_state {
    ($t:ident) => {
        dashboard::State {
            engine: &$t.engine,
            publisher: &$t.publisher,
            frames: $t.summary.frames,
            feed_done: &$t.feed_done,
            strategy: $t.strategy.as_ref(),
        }
    };
}

impl Task {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<Summary, PaperError> {
        let mut flush = tokio::time::interval(Duration::from_secs(1));
        let rendering = self.board.renderer().map(|r| tokio::spawn(r.run()));
        let r = self.serve(&mut shutdown, &mut flush).await;
        self.board.close();
        if let Some(rendering) = rendering {
            let _ = rendering.await;
        }
        let t = self.clock.now().max(self.engine.now());
        let stop = self
            .apply(
                Record {
                    recv_ns: t,
                    body: Body::Session(Session::Stop {}),
                },
                None,
            )
            .await;
        self.journal.flush()?;
        r?;
        stop?;
        let results = self.results.take().expect("results until the end");
        results.finish(&self.engine)?;
        self.status.clear();
        if let Some(st) = self.strategy.take() {
            self.summary.strategy = Some(st.finish()?);
        }
        let s = &mut self.summary;
        s.malformed_frames = self.engine.malformed_frames();
        for a in 0..self.engine.accounts() {
            s.orders += self.engine.view(a).orders().count() as u64;
            s.fills += self.engine.view(a).fills().len() as u64;
        }
        Ok(self.summary)
    }

    async fn serve(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        flush: &mut tokio::time::Interval,
    ) -> Result<(), PaperError> {
        loop {
            // A live frame is applied as it arrives: its receive time is already now.
            let feed_at = match self.buf.front() {
                Some(_) if self.live => Some(Instant::now()),
                Some(r) => Some(self.clock.wall(r.recv_ns)),
                None => None,
            };
            let tick = match (
                self.engine.next_due(),
                self.strategy.as_ref().and_then(|s| s.next_due()),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let tick_at = tick.map(|t| self.clock.wall(t));
            let want_feed = self.buf.is_empty() && self.feed.is_some();
            let board_at = self.board.due();
            tokio::select! {
                biased;
                _ = shutdown.changed() => return Ok(()),
                _ = sleep_until(feed_at), if feed_at.is_some() => {
                    let mut rec = self.buf.pop_front().expect("a record is due");
                    // The journal stays in time order even if the wall clock steps back.
                    rec.recv_ns = rec.recv_ns.max(self.engine.now());
                    let frame = match &rec.body {
                        Body::Session(s) => {
                            if self.live {
                                note(s);
                            }
                            false
                        }
                        Body::Frame(_) | Body::Binary(_) => {
                            self.summary.frames += 1;
                            true
                        }
                    };
                    self.apply(rec, None).await?;
                    if frame {
                        self.frames.send_replace(self.summary.frames);
                    }
                }
                _ = sleep_until(tick_at), if tick_at.is_some() => {
                    let t = tick.unwrap_or_default().max(self.engine.now());
                    self.apply(Record { recv_ns: t, body: Body::Session(Session::Tick {}) }, None).await?;
                }
                cmd = self.cmds.recv() => match cmd {
                    Some(cmd) => self.command(cmd).await?,
                    None => return Ok(()),
                },
                batch = recv_feed(&mut self.feed), if want_feed => match batch {
                    Some(Ok(b)) => self.buf.extend(b),
                    Some(Err(e)) => return Err(e),
                    None => {
                        self.feed = None;
                        self.publisher.done();
                        let _ = self.feed_done.send(true);
                    }
                },
                _ = sleep_until(board_at), if board_at.is_some() => {
                    self.board.publish(&board_state!(self));
                }
                _ = flush.tick() => {
                    if let Some(st) = &self.strategy {
                        self.status.show(&st.status());
                    }
                    self.journal.flush()?;
                    if let Some(r) = self.results.as_mut() {
                        r.flush()?;
                    }
                }
            }
        }
    }

    /// Journals a record, applies it, publishes its market events and hands out what the
    /// engine said.
    async fn apply(&mut self, mut rec: Record<'_>, token: Option<u64>) -> Result<(), PaperError> {
        rec.recv_ns = rec.recv_ns.max(self.last_t.saturating_add(1));
        self.last_t = rec.recv_ns;
        self.journal.write(&rec)?;
        if let Some(st) = self.strategy.as_mut() {
            st.record(&rec)?;
        }
        // A request is on disk before its answer can leave: an answered request survives a
        // kill -9 (frames and ticks wait for the flush every second).
        if token.is_some() {
            self.journal.flush()?;
        }
        let events = match self.engine.apply(&rec, token) {
            Ok(evs) => evs.to_vec(),
            Err(e) => {
                crate::log!("altsim paper: {e}");
                Vec::new()
            }
        };
        for ev in &events {
            let m = if ev.market == MarketId::ALL {
                usize::MAX
            } else {
                ev.market.0 as usize
            };
            self.publisher.publish(m, ev).await;
        }
        let mut outs = Vec::new();
        self.engine.drain(&mut outs);
        for o in outs {
            if let Some(r) = self.results.as_mut() {
                r.output(&self.engine, &o)?;
            }
            match o {
                Output::Reply {
                    token,
                    status,
                    body,
                } => {
                    if let Some(tx) = self.pending.remove(&token) {
                        let _ = tx.send((status, body));
                    }
                }
                Output::Private {
                    account,
                    stream,
                    frame,
                    ..
                } => {
                    let frame: Arc<str> = Arc::from(frame);
                    self.watchers.retain(|(a, tx)| {
                        *a != account || tx.try_send((stream, frame.clone())).is_ok()
                    });
                }
            }
        }
        self.board.changed(&board_state!(self));
        Ok(())
    }

    async fn command(&mut self, cmd: Cmd) -> Result<(), PaperError> {
        match cmd {
            Cmd::Request { session, reply } => {
                if self.engine.is_stopped() {
                    return Ok(());
                }
                self.summary.requests += 1;
                let token = self.next_token;
                self.next_token += 1;
                self.pending.insert(token, reply);
                // Received before any feed record not yet applied: the journal stays in
                // receive order.
                let mut t = self.clock.now();
                if let Some(next) = self.buf.front() {
                    t = t.min(next.recv_ns);
                }
                let t = t.max(self.engine.now());
                self.apply(
                    Record {
                        recv_ns: t,
                        body: Body::Session(session),
                    },
                    Some(token),
                )
                .await
            }
            Cmd::Read {
                account,
                read,
                reply,
            } => {
                let _ = reply.send(view::answer(self.engine.view(account), read));
                Ok(())
            }
            Cmd::Watch { account, tx } => {
                self.watchers.push((account, tx));
                Ok(())
            }
        }
    }
}

/// A log line for what a live feed's connection did.
fn note(s: &Session) {
    match s {
        Session::Connect { url } => crate::log!("altsim paper: feed connected to {url}"),
        Session::Disconnect { reason } => {
            crate::log!("altsim paper: feed disconnected ({reason}); orders are refused until the books are whole again")
        }
        Session::Gap {
            market,
            expected,
            got,
        } => crate::log!(
            "altsim paper: {market}: sequence gap (expected {expected}, got {got}); resubscribing, orders refused until the snapshot"
        ),
        _ => {}
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        // Already due: no trip through the timer, whose resolution is a millisecond.
        Some(at) if at <= Instant::now() => {}
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn recv_feed(feed: &mut Option<Batches>) -> Option<Result<Vec<Record<'static>>, PaperError>> {
    match feed {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs a session from the command line: prints the base URL first on stdout, trades until
/// Ctrl-C (or, with `exit_at_end`, until the captures are played), then writes the results.
pub fn run_cli(cfg: Config, allow_remote: bool, exit_at_end: bool) -> Result<Summary, PaperError> {
    let rt = tokio::runtime::Runtime::new().map_err(PaperError::Runtime)?;
    let out = cfg.out.clone();
    rt.block_on(async move {
        let mut paper = Paper::start(cfg, allow_remote).await?;
        let _ = crate::console::out(&format!("{}\n", paper.base_url()));
        crate::log!("altsim paper: dashboard at {}/", paper.base_url());
        crate::log!(
            "altsim paper: REST at {0}/api/v2/peatio, ranger at ws://{1}/api/v2/ranger/public \
             and ws://{1}/api/v2/ranger/private; journal and results in {2}",
            paper.base_url(),
            paper.addr,
            out.display()
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(PaperError::Runtime)?;
        tokio::select! {
            _ = paper.wait_feed(), if exit_at_end => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        paper.stop().await
    })
}
