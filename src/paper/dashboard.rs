//! The live dashboard of a paper session, at `/` on its listen address. The session's task
//! publishes one JSON state at most [`RATE`] times a second, and only while someone watches:
//! the public book and trades as the REST API serves them, each account's balances, open
//! orders, fills and equity over time, and the scenario strategy's status line. Publishing
//! replaces the last state (a `watch` channel: the newest wins) and never waits, so a slow or
//! stuck viewer cannot slow the engine or reach a result. Each viewer's stream
//! (`/dashboard/state`, server-sent events) sends the newest state, at most `RATE` a second.
//!
//! The page shows no secret: account keys, never their secrets.

use super::engine::Engine;
use crate::report::charts::Thinned;
use crate::serve::playback::Publisher;
use crate::sim::Fill;
use crate::value::Price;
use crate::venue::rest::RestBalance;
use crate::venue::{MarketRules, TradeUpdate};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Most states a second, published and sent to each viewer.
pub const RATE: u32 = 4;
/// Levels of each side of a book, trades of a market and fills of an account shown, and points
/// of each account's series (every state carries them all).
const LEVELS: usize = 10;
const POINTS: usize = 512;
const TRADES: usize = 15;
const FILLS: usize = 50;

const PAGE_JS: &str = include_str!("dashboard.js");

/// What the session task keeps for the dashboard.
pub struct Board {
    /// Shared with the viewers' streams, each of which subscribes: its receivers are the
    /// viewers.
    tx: Arc<watch::Sender<Arc<str>>>,
    /// To the renderer, which turns each snapshot into the state's JSON off the session task;
    /// `None` once closed.
    snapshots: Option<watch::Sender<Option<Arc<Snapshot>>>>,
    renderer: Option<Renderer>,
    rules: Option<Arc<[MarketRules]>>,
    feed: String,
    every: Duration,
    last: Option<Instant>,
    /// Per account: (seconds, equity, PnL, base held) over time.
    series: Vec<Thinned<[f64; 3]>>,
    first_equity: Vec<Option<f64>>,
    /// Session time of the next point of the series: one a second of session time.
    next_point_ns: i64,
}

impl Board {
    /// A board for a session fed by `feed` with `accounts` API accounts, and the sender its
    /// viewers' streams subscribe to.
    pub fn new(feed: String, accounts: usize) -> (Board, Arc<watch::Sender<Arc<str>>>) {
        let tx = Arc::new(watch::Sender::new(Arc::from("{}")));
        let (snapshots, rx) = watch::channel(None);
        let board = Board {
            tx: tx.clone(),
            snapshots: Some(snapshots),
            renderer: Some(Renderer {
                snapshots: rx,
                tx: tx.clone(),
            }),
            rules: None,
            feed,
            every: Duration::from_secs(1) / RATE,
            last: None,
            series: vec![Thinned::at_most(POINTS); accounts],
            first_equity: vec![None; accounts],
            next_point_ns: i64::MIN,
        };
        (board, tx)
    }

    /// The renderer, to run beside the session task (once).
    pub fn renderer(&mut self) -> Option<Renderer> {
        self.renderer.take()
    }

    /// Ends the renderer's input: it finishes the snapshot in hand and returns.
    pub fn close(&mut self) {
        self.snapshots = None;
    }

    /// When the next state is due: `RATE` times a second while someone watches (so a new
    /// viewer soon has the current state); `None` while no one does.
    pub fn due(&self) -> Option<Instant> {
        (self.tx.receiver_count() > 0)
            .then(|| self.last.map_or_else(Instant::now, |l| l + self.every))
    }

    /// Notes a change: a point of the series once a second of session time, and a state when
    /// one is due.
    pub fn changed(&mut self, s: &State<'_>) {
        let now = s.engine.now();
        if now >= self.next_point_ns && !self.series.is_empty() {
            self.next_point_ns = now.saturating_add(1_000_000_000);
            self.sample(s);
        }
        if self.due().is_some_and(|d| d <= Instant::now()) {
            self.publish(s);
        }
    }

    /// A point of each account's series at the session's time, valued at the first market's
    /// mid.
    fn sample(&mut self, s: &State<'_>) {
        // The mid at one more decimal than the prices, as equity.csv holds it.
        let mid = s.publisher.with_hub(|h| {
            let m = h.markets.first()?;
            let (bid, ask) = (m.book.best_bid()?, m.book.best_ask()?);
            let mid = (i128::from(bid.price) + i128::from(ask.price)) * 5;
            Some(Price::new(mid, m.rules.price_precision + 1).to_f64())
        });
        let t = s.engine.now().div_euclid(1_000_000);
        for (a, series) in self.series.iter_mut().enumerate() {
            if let Some(mid) = mid {
                let (equity, base) = equity(s.engine, a, mid);
                let first = *self.first_equity[a].get_or_insert(equity);
                series.push(t, [equity, equity - first, base]);
            }
        }
    }

    /// Publishes the session's state now: a snapshot is taken here and rendered off the
    /// session task.
    pub fn publish(&mut self, s: &State<'_>) {
        // Unwatched, nothing is taken and the pace is not started: a first viewer is sent a
        // state at the next change.
        if self.tx.receiver_count() == 0 {
            return;
        }
        self.last = Some(Instant::now());
        let snapshot = Arc::new(self.snapshot(s));
        if let Some(tx) = &self.snapshots {
            tx.send_replace(Some(snapshot));
        }
    }

    fn snapshot(&mut self, s: &State<'_>) -> Snapshot {
        let e = s.engine;
        let rules = self
            .rules
            .get_or_insert_with(|| Arc::from(e.markets()))
            .clone();
        let markets: Vec<Value> = s.publisher.with_hub(|h| {
            h.markets
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let side = |side| m.top(side, LEVELS);
                    json!({
                        "id": m.rules.id,
                        "started": m.started,
                        "synced": e.synced(i).unwrap_or(m.started),
                        "bids": side(crate::tape::BookSide::Bid),
                        "asks": side(crate::tape::BookSide::Ask),
                        "trades": m.trades.iter().rev().take(TRADES).collect::<Vec<_>>(),
                    })
                })
                .collect()
        });
        let accounts = (0..e.accounts())
            .map(|a| {
                let v = e.view(a);
                let open = v
                    .open_orders()
                    .map(|k| {
                        let o = v.rest_order(k);
                        json!({
                            "id": o.id,
                            "market": o.market,
                            "side": o.side,
                            "price": o.price,
                            "remaining": o.remaining_volume,
                            "queue": e.queue_ahead(a, k.inner).map(|q| q.text()),
                        })
                    })
                    .collect();
                Account {
                    key: e.account_key(a).to_string(),
                    balances: v.balances(),
                    open,
                    fills: v.fills().iter().rev().take(FILLS).cloned().collect(),
                    fill_count: v.fills().len(),
                    series: self.series[a].points().to_vec(),
                }
            })
            .collect();
        Snapshot {
            head: json!({
                "feed": self.feed,
                "clock": (e.now() > i64::MIN).then(|| crate::utc::utc(e.now())),
                "frames": s.frames,
                "feed_done": *s.feed_done.borrow(),
                "malformed_frames": e.malformed_frames(),
                "strategy": s.strategy.map(|st| st.status()),
            }),
            markets,
            accounts,
            rules,
        }
    }
}

/// What a state is made of, taken on the session task: what needs the engine or the book is
/// read there; what is only formatting (fills, series, the JSON text) is left to the renderer.
pub struct Snapshot {
    head: Value,
    markets: Vec<Value>,
    accounts: Vec<Account>,
    rules: Arc<[MarketRules]>,
}

struct Account {
    key: String,
    balances: Vec<RestBalance>,
    open: Vec<Value>,
    /// The newest first.
    fills: Vec<Fill>,
    fill_count: usize,
    series: Vec<(i64, [f64; 3])>,
}

impl Snapshot {
    /// The state's JSON, as the page reads it.
    fn render(&self) -> String {
        let accounts: Vec<Value> = self
            .accounts
            .iter()
            .map(|a| {
                let fills: Vec<TradeUpdate> = a
                    .fills
                    .iter()
                    .map(|f| f.to_wire(&self.rules[usize::from(f.market.0)]))
                    .collect();
                let p = &a.series;
                json!({
                    "key": a.key,
                    "balances": a.balances,
                    "open": a.open,
                    "fills": fills,
                    "fill_count": a.fill_count,
                    "series": {
                        "t": p.iter().map(|(t, _)| *t as f64 / 1000.0).collect::<Vec<_>>(),
                        "equity": p.iter().map(|(_, v)| v[0]).collect::<Vec<_>>(),
                        "pnl": p.iter().map(|(_, v)| v[1]).collect::<Vec<_>>(),
                        "base": p.iter().map(|(_, v)| v[2]).collect::<Vec<_>>(),
                    },
                })
            })
            .collect();
        let mut state = self.head.clone();
        state["markets"] = Value::from(self.markets.clone());
        state["accounts"] = Value::from(accounts);
        state.to_string()
    }
}

/// Turns the session task's snapshots into the viewers' state, on a blocking thread, so that
/// formatting never holds up the session's task; the newest snapshot wins.
pub struct Renderer {
    snapshots: watch::Receiver<Option<Arc<Snapshot>>>,
    tx: Arc<watch::Sender<Arc<str>>>,
}

impl Renderer {
    /// Renders each snapshot until the board is closed or dropped.
    pub async fn run(mut self) {
        while self.snapshots.changed().await.is_ok() {
            let Some(snapshot) = self.snapshots.borrow_and_update().clone() else {
                continue;
            };
            let Ok(text) = tokio::task::spawn_blocking(move || snapshot.render()).await else {
                return;
            };
            self.tx.send_replace(Arc::from(text));
        }
    }
}

/// What a state is made of, lent by the session task.
pub struct State<'a> {
    pub engine: &'a Engine,
    pub publisher: &'a Publisher,
    pub frames: u64,
    /// Whether every capture record has been applied (read only when a state is built).
    pub feed_done: &'a watch::Sender<bool>,
    /// The scenario strategy, for its status line.
    pub strategy: Option<&'a super::strategy::Live>,
}

/// An account's equity in the first market's quote at `mid`, and its base held.
fn equity(e: &Engine, account: usize, mid: f64) -> (f64, f64) {
    let Some(m) = e.markets().first() else {
        return (0.0, 0.0);
    };
    let v = e.view(account);
    let base = v.balance(&m.base_unit).total().to_f64();
    let quote = v.balance(&m.quote_unit).total().to_f64();
    (quote + base * mid, base)
}

/// `/` (the page) and `/dashboard/state` (its stream).
pub fn router(tx: Arc<watch::Sender<Arc<str>>>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/dashboard/state", get(stream))
        .with_state(tx)
}

async fn page() -> impl IntoResponse {
    Html(crate::report::html::document(
        "altsim paper",
        "<h1>altsim paper</h1>\n<p class=\"sub\" id=\"header\">connecting…</p>\n\
         <div id=\"markets\"></div>\n<div id=\"accounts\"></div>\n",
        PAGE_JS,
    ))
}

async fn stream(
    axum::extract::State(tx): axum::extract::State<Arc<watch::Sender<Arc<str>>>>,
) -> impl IntoResponse {
    // A new viewer is sent the next state, not one built for earlier viewers.
    let rx = tx.subscribe();
    let every = Duration::from_secs(1) / RATE;
    let events = futures_util::stream::unfold((rx, false), move |(mut rx, paced)| async move {
        if paced {
            tokio::time::sleep(every).await;
        }
        rx.changed().await.ok()?;
        let state = rx.borrow_and_update().clone();
        Some((
            Ok::<_, std::convert::Infallible>(Event::default().data(&*state)),
            (rx, true),
        ))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_due_only_while_a_viewer_streams() {
        let (board, tx) = Board::new("captures".into(), 1);
        let _routes = router(tx.clone());
        assert_eq!(board.due(), None, "the page's routes are not viewers");
        let viewer = tx.subscribe();
        assert!(board.due().is_some());
        drop(viewer);
        assert_eq!(board.due(), None);
    }
}
