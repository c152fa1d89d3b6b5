//! The server's shared state: each market's book and sequence as the emulated engine holds
//! them, recent trades for REST, and who is subscribed to what.

use crate::book::Book;
use crate::fixed;
use crate::tape::BookSide;
use crate::venue::rest::{Depth, RestTrade, Ticker, TickerEntry};
use crate::venue::{MarketRules, Side};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Levels a side in the snapshot a new subscriber gets (ranger's cache).
pub const SNAPSHOT_LEVELS: usize = 301;
/// Trades kept per market for `GET …/trades`.
const KEEP_TRADES: usize = 1000;
/// Clients `/stats` describes; beyond them the oldest closed ones are only counted.
pub const KEEP_CLIENTS: usize = 1000;
/// Bytes queued for one client before it counts as too slow and is dropped.
pub const MAX_QUEUED_BYTES: u64 = 64 << 20;
/// The streams of a market a client may subscribe to.
pub const STREAM_KINDS: [&str; 3] = ["ob-inc", "ob-snap", "trades"];

/// One market as the emulated engine holds it.
pub struct MarketFeed {
    pub rules: MarketRules,
    pub book: Book,
    /// Sequence of the last increment sent (or of the snapshot before any).
    pub sequence: u64,
    /// Newest last.
    pub trades: VecDeque<RestTrade>,
    /// (exchange seconds, price, amount) of the trades of the last 24 hours, for tickers.
    pub day: VecDeque<(i64, i64, i64)>,
    /// True once the engine has a book (the captures' first snapshot).
    pub started: bool,
}

impl MarketFeed {
    pub fn new(rules: MarketRules) -> Self {
        MarketFeed {
            rules,
            book: Book::new(),
            sequence: 0,
            trades: VecDeque::new(),
            day: VecDeque::new(),
            started: false,
        }
    }

    fn price(&self, p: i64) -> String {
        fixed::format(p.into(), self.rules.price_precision)
    }

    fn amount(&self, a: i64) -> String {
        fixed::format(a.into(), self.rules.amount_precision)
    }

    /// The best `limit` levels of one side as (price, amount) text.
    pub fn top(&self, side: BookSide, limit: usize) -> Vec<[String; 2]> {
        self.levels(side, limit)
    }

    fn levels(&self, side: BookSide, limit: usize) -> Vec<[String; 2]> {
        self.book
            .levels(side)
            .take(limit)
            .map(|l| [self.price(l.price), self.amount(l.amount)])
            .collect()
    }

    /// `{"<m>.ob-snap":{…}}` of the current book.
    pub fn snapshot_frame(&self) -> String {
        let side = |s| {
            let levels = self.levels(s, SNAPSHOT_LEVELS);
            serde_json::to_string(&levels).expect("levels serialize")
        };
        format!(
            "{{\"{}.ob-snap\":{{\"asks\":{},\"bids\":{},\"sequence\":{}}}}}",
            self.rules.id,
            side(BookSide::Ask),
            side(BookSide::Bid),
            self.sequence
        )
    }

    /// `{"<m>.ob-inc":{"asks":[p,v],"sequence":S}}`
    pub fn increment_frame(&self, side: BookSide, price: i64, amount: i64) -> String {
        let name = match side {
            BookSide::Ask => "asks",
            BookSide::Bid => "bids",
        };
        let volume = if amount == 0 {
            String::new()
        } else {
            self.amount(amount)
        };
        format!(
            "{{\"{}.ob-inc\":{{\"{name}\":[\"{}\",\"{volume}\"],\"sequence\":{}}}}}",
            self.rules.id,
            self.price(price),
            self.sequence
        )
    }

    /// Records a trade and returns its `<m>.trades` frame.
    pub fn trade(&mut self, tid: u64, taker: Side, price: i64, amount: i64, date: i64) -> String {
        let (p, a) = (self.price(price), self.amount(amount));
        let total = fixed::format(
            i128::from(price) * i128::from(amount),
            self.rules.total_scale(),
        );
        self.trades.push_back(RestTrade {
            id: tid,
            price: p.clone(),
            amount: a.clone(),
            total,
            market: self.rules.id.clone(),
            created_at: date,
            taker_type: taker,
        });
        if self.trades.len() > KEEP_TRADES {
            self.trades.pop_front();
        }
        self.day.push_back((date, price, amount));
        while self.day.front().is_some_and(|(t, _, _)| *t < date - 86_400) {
            self.day.pop_front();
        }
        format!(
            "{{\"{}.trades\":{{\"trades\":[{{\"tid\":{tid},\"taker_type\":\"{}\",\"date\":{date},\"price\":\"{p}\",\"amount\":\"{a}\"}}]}}}}",
            self.rules.id,
            taker.as_str()
        )
    }

    pub fn depth(&self, limit: usize, now_s: i64) -> Depth {
        Depth {
            timestamp: now_s,
            asks: self.levels(BookSide::Ask, limit),
            bids: self.levels(BookSide::Bid, limit),
        }
    }

    /// The 24-hour ticker from the trades played so far.
    pub fn ticker(&self, now_s: i64) -> TickerEntry {
        let pp = self.rules.price_precision;
        let ap = self.rules.amount_precision;
        let first = self.day.front().map_or(0, |t| t.1);
        let last = self.day.back().map_or(0, |t| t.1);
        let low = self.day.iter().map(|t| t.1).min().unwrap_or(0);
        let high = self.day.iter().map(|t| t.1).max().unwrap_or(0);
        let base: i128 = self.day.iter().map(|t| i128::from(t.2)).sum();
        let quote: i128 = self
            .day
            .iter()
            .map(|t| i128::from(t.1) * i128::from(t.2))
            .sum();
        let avg = if base == 0 { 0 } else { quote / base };
        let change = if first == 0 {
            "+0.00%".to_string()
        } else {
            let bp = (i128::from(last - first) * 10_000) / i128::from(first);
            format!(
                "{}{}%",
                if bp >= 0 { "+" } else { "-" },
                fixed::format_fixed(bp.abs(), 2)
            )
        };
        let quote_s = fixed::format(quote, pp + ap);
        TickerEntry {
            at: now_s,
            ticker: Ticker {
                low: fixed::format(low.into(), pp),
                high: fixed::format(high.into(), pp),
                open: fixed::format(first.into(), pp),
                last: fixed::format(last.into(), pp),
                volume: quote_s.clone(),
                amount: fixed::format(base, ap),
                vol: quote_s,
                avg_price: fixed::format(avg, pp),
                price_change_percent: change,
                at: now_s,
            },
        }
    }
}

/// What the server keeps about one connected client.
pub struct ClientEntry {
    pub tx: mpsc::Sender<Arc<str>>,
    pub subs: BTreeSet<String>,
    pub stats: Arc<ClientStats>,
}

/// Counters a client's tasks update and the stats endpoint reads.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub id: u64,
    pub addr: String,
    pub frames_sent: AtomicU64,
    pub malformed_sent: AtomicU64,
    pub dropped_slow: AtomicBool,
    pub closed: AtomicBool,
    /// Bytes of frames queued and not yet written.
    pub queued_bytes: AtomicU64,
    /// Frames ever queued: once every one is sent (or the client closed), nothing is in
    /// flight.
    pub frames_queued: AtomicU64,
    /// Wakes the client's writer when the server drops it.
    pub kill: tokio::sync::Notify,
    /// How the writer is to close the connection.
    pub closing: super::session::Closing,
}

/// Everything the playback, the sessions and REST share.
pub struct Hub {
    pub markets: Vec<MarketFeed>,
    pub clients: BTreeMap<u64, ClientEntry>,
    /// Clients for the report at exit: every open one and the latest closed ones, up to
    /// [`KEEP_CLIENTS`] in all.
    pub history: VecDeque<Arc<ClientStats>>,
    /// Clients that ever connected.
    pub clients_seen: u64,
    pub next_client: u64,
    /// The playback's clock: receive time of the last event played, ns.
    pub now_ns: i64,
    pub frames_published: u64,
    pub playback_done: bool,
    /// The connections open, accepted and refused.
    pub slots: super::conn::Slots,
    /// Woken when a client subscribes: playback may be waiting for subscribers.
    pub subscribed: Arc<tokio::sync::Notify>,
}

impl Hub {
    pub fn new(rules: Vec<MarketRules>) -> Self {
        Hub {
            markets: rules.into_iter().map(MarketFeed::new).collect(),
            clients: BTreeMap::new(),
            history: VecDeque::new(),
            clients_seen: 0,
            next_client: 1,
            now_ns: 0,
            frames_published: 0,
            playback_done: false,
            slots: super::conn::Slots::default(),
            subscribed: Arc::new(tokio::sync::Notify::new()),
        }
    }

    pub fn market(&self, id: &str) -> Option<&MarketFeed> {
        self.markets.iter().find(|m| m.rules.id == id)
    }

    pub fn market_index(&self, id: &str) -> Option<usize> {
        self.markets.iter().position(|m| m.rules.id == id)
    }

    /// Registers a new client's counters, forgetting the oldest closed clients beyond
    /// [`KEEP_CLIENTS`].
    pub fn remember(&mut self, stats: Arc<ClientStats>) {
        self.clients_seen += 1;
        self.history.push_back(stats);
        while self.history.len() > KEEP_CLIENTS {
            match self
                .history
                .iter()
                .position(|c| c.closed.load(Ordering::Relaxed))
            {
                Some(i) => {
                    self.history.remove(i);
                }
                None => break,
            }
        }
    }

    /// Whether `stream` is one this server publishes: `<market>.<kind>` of a known market.
    pub fn known_stream(&self, stream: &str) -> bool {
        stream
            .rsplit_once('.')
            .is_some_and(|(m, kind)| STREAM_KINDS.contains(&kind) && self.market(m).is_some())
    }

    /// Clients subscribed to at least one stream.
    pub fn subscribed_clients(&self) -> usize {
        self.clients.values().filter(|c| !c.subs.is_empty()).count()
    }

    /// Adds (or with `message` "unsubscribed", removes) streams of a client's subscriptions
    /// and returns what to queue for it, in order: the `success` answer listing all its
    /// subscriptions and, for each new `<m>.ob-inc`, a snapshot of the current book. The
    /// caller queues them under the ordering lock, so no increment can slip in between.
    pub fn subscribe(&mut self, client: u64, streams: &[String], message: &str) -> Vec<Arc<str>> {
        let unknown: Vec<&str> = streams
            .iter()
            .filter(|s| !self.known_stream(s))
            .map(|s| s.as_str())
            .take(10)
            .collect();
        if !unknown.is_empty() {
            let error = format!("Unknown streams: {}", unknown.join(", "));
            return vec![Arc::from(serde_json::json!({ "error": error }).to_string())];
        }
        let Some(c) = self.clients.get_mut(&client) else {
            return Vec::new();
        };
        let mut snaps = Vec::new();
        for s in streams {
            let new = if message == "subscribed" {
                c.subs.insert(s.clone())
            } else {
                c.subs.remove(s);
                false
            };
            if let (true, Some(m)) = (new, s.strip_suffix(".ob-inc")) {
                // Before its first snapshot a market has no book to show: the subscriber gets
                // it when the engine has one.
                if let Some(feed) = self.markets.iter().find(|f| f.rules.id == m && f.started) {
                    snaps.push(Arc::from(feed.snapshot_frame()));
                }
            }
        }
        if message == "subscribed" {
            // One waiter at most (playback): the permit is kept if it is not waiting yet.
            self.subscribed.notify_one();
        }
        let answer = serde_json::json!({"success": {"message": message, "streams": c.subs}});
        let mut out = vec![Arc::from(answer.to_string())];
        out.extend(snaps);
        out
    }

    /// Forgets a client that cannot keep up; its writer sees the channel close.
    pub fn drop_slow(&mut self, client: u64) {
        if let Some(c) = self.clients.remove(&client) {
            c.stats.dropped_slow.store(true, Ordering::Relaxed);
            c.stats
                .closing
                .set(Some(super::session::close_code::POLICY));
            c.stats.kill.notify_one();
        }
    }

    /// Senders of the clients subscribed to `stream`.
    pub fn subscribers(&self, stream: &str) -> Vec<(u64, Queue)> {
        self.clients
            .iter()
            .filter(|(_, c)| c.subs.contains(stream))
            .map(|(id, c)| {
                (
                    *id,
                    Queue {
                        tx: c.tx.clone(),
                        stats: c.stats.clone(),
                    },
                )
            })
            .collect()
    }
}

/// What is queued for one client, counted in bytes.
#[derive(Clone)]
pub struct Queue {
    pub tx: mpsc::Sender<Arc<str>>,
    pub stats: Arc<ClientStats>,
}

impl Queue {
    /// Queues a frame if there is room; false when the client has fallen too far behind
    /// (its queue is full in frames or in bytes) or is gone.
    pub fn offer(&self, frame: Arc<str>) -> bool {
        let len = frame.len() as u64;
        if self.stats.queued_bytes.load(Ordering::Relaxed) + len > MAX_QUEUED_BYTES {
            return false;
        }
        self.stats.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if self.tx.try_send(frame).is_err() {
            self.stats.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        self.stats.frames_queued.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Queues a frame, waiting for room in frames; false when the client is gone or holds
    /// more than [`MAX_QUEUED_BYTES`] unread.
    pub async fn send(&self, frame: Arc<str>) -> bool {
        let len = frame.len() as u64;
        if self.stats.queued_bytes.fetch_add(len, Ordering::Relaxed) + len > MAX_QUEUED_BYTES {
            self.stats.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        if self.tx.send(frame).await.is_err() {
            self.stats.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        self.stats.frames_queued.fetch_add(1, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_keep_open_clients_and_the_latest_closed() {
        let mut h = Hub::new(Vec::new());
        let open = Arc::new(ClientStats::default());
        h.remember(open.clone());
        for id in 0..(KEEP_CLIENTS as u64 * 3) {
            let c = Arc::new(ClientStats {
                id,
                ..ClientStats::default()
            });
            c.closed.store(true, Ordering::Relaxed);
            h.remember(c);
        }
        assert_eq!(h.history.len(), KEEP_CLIENTS);
        assert_eq!(h.clients_seen, KEEP_CLIENTS as u64 * 3 + 1);
        assert!(Arc::ptr_eq(&h.history[0], &open));
        assert_eq!(h.history.back().unwrap().id, KEEP_CLIENTS as u64 * 3 - 1);
    }

    #[tokio::test]
    async fn a_client_that_never_reads_is_bounded_in_bytes() {
        let (tx, _rx) = mpsc::channel(1 << 16);
        let q = Queue {
            tx,
            stats: Arc::new(ClientStats::default()),
        };
        let frame: Arc<str> = Arc::from("x".repeat(1 << 20));
        let mut queued = 0;
        while q.offer(frame.clone()) {
            queued += 1;
        }
        assert_eq!(queued, MAX_QUEUED_BYTES >> 20);
        assert!(!q.send(frame.clone()).await);
        assert_eq!(
            q.stats.queued_bytes.load(Ordering::Relaxed),
            MAX_QUEUED_BYTES
        );
    }
}
