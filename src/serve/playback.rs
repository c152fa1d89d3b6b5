//! Playing captures back: events are read on a blocking thread, merged in time order, turned
//! into the frames an engine with this book would send, and published to subscribers at the
//! chosen pace.

use super::hub::Hub;
use super::{Faults, Pace};
use crate::book::Book;
use crate::tape::TapeError;
use crate::tape::{BookSide, Event, EventKind, EventStream};
use crate::venue::MarketRules;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio::time::{Duration, Instant};

/// A batch of events, each tagged with its market's index in the hub.
type Batch = Vec<(usize, Event)>;

/// Reads every capture (merged by receive time) on a thread, again and again when looping.
pub fn spawn_reader(
    paths: Vec<PathBuf>,
    rules: Vec<MarketRules>,
    names: Vec<String>,
    looping: bool,
) -> mpsc::Receiver<Result<Batch, TapeError>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || loop {
        if let Err(e) = read_once(&paths, &rules, &names, &tx) {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        if !looping || tx.is_closed() {
            return;
        }
    });
    rx
}

fn read_once(
    paths: &[PathBuf],
    rules: &[MarketRules],
    names: &[String],
    tx: &mpsc::Sender<Result<Batch, TapeError>>,
) -> Result<(), TapeError> {
    let mut streams = Vec::new();
    for p in paths {
        streams.push(EventStream::open(vec![p.clone()], rules.to_vec())?);
    }
    let mut heads: Vec<Option<Event>> = Vec::new();
    for s in &mut streams {
        heads.push(s.next_event()?);
    }
    let mut batch = Vec::with_capacity(1024);
    loop {
        let next = heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.map(|e| (e.recv_ns, i)))
            .min();
        let Some((_, i)) = next else { break };
        let ev = heads[i].take().expect("chosen above");
        heads[i] = streams[i].next_event()?;
        let market = if ev.market == crate::tape::MarketId::ALL {
            usize::MAX
        } else {
            let name = &streams[i].normalizer().rules(ev.market).id;
            names.iter().position(|n| n == name).unwrap_or(usize::MAX)
        };
        batch.push((market, ev));
        if batch.len() == 1024 {
            if tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                return Ok(());
            }
            batch.reserve(1024);
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
    Ok(())
}

/// The engine's side of playback: what each event makes it send.
pub struct Engine {
    faults: Faults,
    increments: u64,
    /// A capture snapshot being read, per market.
    pending: Vec<Option<Book>>,
    /// Remove the levels a crossing update crosses, as the paper exchange's book does
    /// (`Book::apply`), and tell subscribers as increments. `serve` replays the captures as
    /// recorded and leaves this off.
    uncross: bool,
}

impl Engine {
    pub fn new(markets: usize, faults: Faults) -> Self {
        Engine {
            faults,
            increments: 0,
            pending: vec![None; markets],
            uncross: false,
        }
    }

    /// As [`new`](Self::new), showing the book the paper exchange matches against: a level
    /// update that crosses the opposite side removes the levels it crosses.
    pub fn uncrossing(markets: usize) -> Self {
        Engine {
            uncross: true,
            ..Engine::new(markets, Faults::default())
        }
    }

    fn next_sequence(&mut self, current: u64) -> u64 {
        self.increments += 1;
        let n = self.increments;
        if self
            .faults
            .restart_seq_every
            .is_some_and(|k| n.is_multiple_of(k))
        {
            return 1;
        }
        if self
            .faults
            .skip_seq_every
            .is_some_and(|k| n.is_multiple_of(k))
        {
            return current + 2;
        }
        current + 1
    }

    /// Applies one event to the hub and returns the frames it makes, with their streams.
    pub fn apply(&mut self, hub: &mut Hub, m: usize, ev: &Event) -> Vec<(String, Arc<str>)> {
        let mut out = Vec::new();
        if m >= hub.markets.len() {
            return out;
        }
        match ev.kind {
            EventKind::Level {
                side,
                price,
                amount,
                ..
            } => {
                self.increment(hub, m, side, price, amount, &mut out);
                if self.uncross && amount > 0 {
                    for p in crossed(&hub.markets[m].book, side, price) {
                        self.increment(hub, m, side.opposite(), p, 0, &mut out);
                    }
                }
            }
            EventKind::SnapshotStart { sequence } => {
                self.pending[m] = Some(Book::new());
                if !hub.markets[m].started {
                    hub.markets[m].sequence = sequence.unwrap_or(0);
                }
            }
            EventKind::SnapshotLevel {
                side,
                price,
                amount,
            } => {
                if let Some(b) = self.pending[m].as_mut() {
                    b.set(side, price, amount);
                }
            }
            EventKind::SnapshotEnd => {
                let Some(new) = self.pending[m].take() else {
                    return out;
                };
                let feed = &mut hub.markets[m];
                if !feed.started {
                    // The first book: those who subscribed before it get their snapshot now.
                    feed.started = true;
                    feed.book = new;
                    let stream = format!("{}.ob-inc", feed.rules.id);
                    out.push((stream, Arc::from(feed.snapshot_frame())));
                } else {
                    // Existing subscribers never get a second snapshot: tell them the
                    // difference as increments, as the engine's own book changes would.
                    for (side, price, amount) in diff(&hub.markets[m].book, &new) {
                        self.increment(hub, m, side, price, amount, &mut out);
                    }
                }
            }
            EventKind::Trade {
                id,
                taker,
                price,
                amount,
                exch_ns,
            } => {
                let feed = &mut hub.markets[m];
                let frame = feed.trade(id, taker, price, amount, exch_ns.div_euclid(1_000_000_000));
                out.push((format!("{}.trades", feed.rules.id), Arc::from(frame)));
            }
            EventKind::Gap { .. }
            | EventKind::Connect
            | EventKind::Disconnect
            | EventKind::Resync
            | EventKind::Tick => {}
        }
        out
    }

    fn increment(
        &mut self,
        hub: &mut Hub,
        m: usize,
        side: BookSide,
        price: i64,
        amount: i64,
        out: &mut Vec<(String, Arc<str>)>,
    ) {
        let seq = self.next_sequence(hub.markets[m].sequence);
        let feed = &mut hub.markets[m];
        feed.book.set(side, price, amount);
        feed.sequence = seq;
        let frame = feed.increment_frame(side, price, amount);
        out.push((format!("{}.ob-inc", feed.rules.id), Arc::from(frame)));
    }
}

/// The prices of the opposite side that a level of `side` at `price` crosses, best first.
fn crossed(book: &Book, side: BookSide, price: i64) -> Vec<i64> {
    book.levels(side.opposite())
        .map(|l| l.price)
        .take_while(|&p| match side {
            BookSide::Bid => p <= price,
            BookSide::Ask => p >= price,
        })
        .collect()
}

/// The level changes that turn `old` into `new`.
fn diff(old: &Book, new: &Book) -> Vec<(BookSide, i64, i64)> {
    let mut out = Vec::new();
    for side in [BookSide::Ask, BookSide::Bid] {
        for l in old.levels(side) {
            if new.level(side, l.price) == 0 {
                out.push((side, l.price, 0));
            }
        }
        for l in new.levels(side) {
            if old.level(side, l.price) != l.amount {
                out.push((side, l.price, l.amount));
            }
        }
    }
    out
}

/// Publishes events that come from elsewhere (a paper exchange's feed) to the server's
/// subscribers, as playback at the recorded pace does: a client a whole queue behind is
/// dropped, nobody waits for it. The book shown is the one the paper exchange matches
/// against: crossed levels are removed as `Book::apply` removes them.
pub struct Publisher {
    hub: Arc<Mutex<Hub>>,
    order: Arc<tokio::sync::Mutex<()>>,
    engine: Engine,
}

impl Publisher {
    /// Reads the public state (books, trades) as the REST API serves it.
    pub fn with_hub<R>(&self, f: impl FnOnce(&Hub) -> R) -> R {
        f(&self.hub.lock().expect("hub lock"))
    }

    pub(super) fn new(hub: Arc<Mutex<Hub>>, order: Arc<tokio::sync::Mutex<()>>) -> Self {
        let markets = hub.lock().expect("hub lock").markets.len();
        Publisher {
            hub,
            order,
            engine: Engine::uncrossing(markets),
        }
    }

    /// The hub's index of a market.
    pub fn market_index(&self, name: &str) -> Option<usize> {
        let h = self.hub.lock().expect("hub lock");
        h.markets.iter().position(|m| m.rules.id == name)
    }

    /// Applies one event of market `m` (a hub index; `usize::MAX` for none) and sends the
    /// frames it makes.
    pub async fn publish(&mut self, m: usize, ev: &Event) {
        let _order = self.order.lock().await;
        let mut h = self.hub.lock().expect("hub lock");
        h.now_ns = ev.recv_ns;
        let frames = self.engine.apply(&mut h, m, ev);
        h.frames_published += frames.len() as u64;
        for (stream, frame) in frames {
            for (client, q) in h.subscribers(&stream) {
                if !q.offer(frame.clone()) {
                    h.drop_slow(client);
                }
            }
        }
    }

    /// Marks the feed as ended (`/stats` shows it).
    pub fn done(&self) {
        self.hub.lock().expect("hub lock").playback_done = true;
    }
}

/// Priming stops this far into the captures even if a market never had a snapshot.
const PRIME_MAX_NS: i64 = 10_000_000_000;

/// The next event: from `held` first, then from the reader.
async fn next_event(
    held: &mut std::collections::VecDeque<(usize, Event)>,
    batches: &mut mpsc::Receiver<Result<Batch, TapeError>>,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Option<(usize, Event)>, TapeError> {
    if held.is_empty() {
        let batch = tokio::select! {
            b = batches.recv() => b,
            _ = shutdown.changed() => None,
        };
        match batch {
            Some(b) => held.extend(b?),
            None => return Ok(None),
        }
    }
    Ok(held.pop_front())
}

/// What playback runs with: the hub it publishes to, the batches of events the reader thread
/// sends, the pace and faults, and the signals it shares with the server.
pub struct Playback {
    pub hub: Arc<Mutex<Hub>>,
    pub batches: mpsc::Receiver<Result<Batch, TapeError>>,
    pub pace: Pace,
    pub faults: Faults,
    /// Events before this far into the captures build the books unseen.
    pub start_offset_ns: i64,
    /// Clients to wait for, with the first books primed, before the pace starts.
    pub wait_clients: usize,
    /// Held while anything is queued for clients.
    pub order: Arc<tokio::sync::Mutex<()>>,
    /// Sent once the first books are primed (at once when no client is waited for).
    pub primed: tokio::sync::oneshot::Sender<()>,
    pub shutdown: watch::Receiver<bool>,
}

/// Runs playback until the captures end (or for ever when looping) or shutdown.
pub async fn run(p: Playback) -> Result<(), TapeError> {
    let Playback {
        hub,
        mut batches,
        pace,
        faults,
        start_offset_ns,
        wait_clients,
        order,
        primed,
        mut shutdown,
    } = p;
    let markets = hub.lock().expect("hub lock").markets.len();
    let mut engine = Engine::new(markets, faults);
    let mut held = std::collections::VecDeque::new();
    let mut clock: Option<(i64, Instant)> = None;
    let mut last_t = i64::MIN;
    let mut went_live = false;
    if wait_clients > 0 {
        // Clients such as Hummingbot's read REST depth and the time before they subscribe:
        // the captures' first snapshots are applied now, so they find the books and the clock
        // as playback begins, not empty ones (subscribers get those books as snapshots).
        let mut seen = vec![false; markets];
        while let Some((m, ev)) = next_event(&mut held, &mut batches, &mut shutdown).await? {
            let t0 = *clock.get_or_insert((ev.recv_ns, Instant::now()));
            let into = ev.recv_ns - t0.0;
            let whole = {
                let h = hub.lock().expect("hub lock");
                seen.iter()
                    .enumerate()
                    .any(|(i, s)| *s && h.markets[i].started)
                    && seen
                        .iter()
                        .enumerate()
                        .all(|(i, s)| !*s || h.markets[i].started)
            };
            if into > PRIME_MAX_NS || whole {
                held.push_front((m, ev));
                break;
            }
            if let Some(s) = seen.get_mut(m) {
                *s = true;
            }
            // A client may subscribe while the books are being primed: it is sent what
            // playback would have sent it.
            let _order = order.lock().await;
            let mut h = hub.lock().expect("hub lock");
            h.now_ns = ev.recv_ns;
            let frames = engine.apply(&mut h, m, &ev);
            h.frames_published += frames.len() as u64;
            for (stream, frame) in frames {
                for (client, q) in h.subscribers(&stream) {
                    if !q.offer(frame.clone()) {
                        h.drop_slow(client);
                    }
                }
            }
            last_t = ev.recv_ns;
        }
        let _ = primed.send(());
        let subscribed = hub.lock().expect("hub lock").subscribed.clone();
        while hub.lock().expect("hub lock").subscribed_clients() < wait_clients {
            tokio::select! {
                _ = subscribed.notified() => {}
                _ = shutdown.changed() => return Ok(()),
            }
        }
        if let Some((t0, _)) = clock {
            // The pace resumes where priming stopped; whoever subscribed has the books as
            // they stand there.
            let ahead = (last_t - t0 - start_offset_ns).max(0);
            went_live = last_t - t0 >= start_offset_ns;
            let back = match pace {
                Pace::Recorded { speed } => Duration::from_nanos((ahead as f64 / speed) as u64),
                Pace::Max => Duration::ZERO,
            };
            let now = Instant::now();
            clock = Some((t0, now.checked_sub(back).unwrap_or(now)));
        }
    } else {
        let _ = primed.send(());
    }
    let mut pending = Vec::new();
    while let Some((m, ev)) = next_event(&mut held, &mut batches, &mut shutdown).await? {
        // A loop starts the capture's clock again: keep ours running.
        if ev.recv_ns < last_t {
            clock = None;
        }
        last_t = ev.recv_ns;
        let (t0, start) = *clock.get_or_insert((ev.recv_ns, Instant::now()));
        let live = ev.recv_ns - t0 >= start_offset_ns;
        if live {
            if let Pace::Recorded { speed } = pace {
                let wait = (ev.recv_ns - t0 - start_offset_ns) as f64 / speed;
                let at = start + Duration::from_nanos(wait.max(0.0) as u64);
                if at > Instant::now() {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = shutdown.changed() => return Ok(()),
                    }
                }
            }
        }
        // Everything queued for clients is queued under this lock, so a subscriber's
        // snapshot and the increments around it stay in order.
        let _order = order.lock().await;
        {
            let mut h = hub.lock().expect("hub lock");
            h.now_ns = ev.recv_ns;
            let mut frames = Vec::new();
            if live && !went_live {
                // The skipped start built the books unseen: whoever subscribed meanwhile
                // gets them as they stand where playback begins.
                went_live = true;
                for feed in h.markets.iter().filter(|f| f.started) {
                    let stream = format!("{}.ob-inc", feed.rules.id);
                    frames.push((stream, Arc::from(feed.snapshot_frame())));
                }
            }
            frames.extend(engine.apply(&mut h, m, &ev));
            if live {
                h.frames_published += frames.len() as u64;
                for (stream, frame) in frames {
                    for (client, q) in h.subscribers(&stream) {
                        match pace {
                            Pace::Recorded { .. } => {
                                if !q.offer(frame.clone()) {
                                    h.drop_slow(client);
                                }
                            }
                            Pace::Max => pending.push((client, q, frame.clone())),
                        }
                    }
                }
            }
        }
        for (client, q, frame) in pending.drain(..) {
            // A client that has gone away is simply skipped; one holding too many bytes
            // unread is dropped.
            tokio::select! {
                sent = q.send(frame) => {
                    if !sent {
                        hub.lock().expect("hub lock").drop_slow(client);
                    }
                }
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }
    hub.lock().expect("hub lock").playback_done = true;
    Ok(())
}
