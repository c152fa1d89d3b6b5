//! Normalization: frames become small time-stamped events with fixed-point prices and amounts,
//! and sequence numbers are checked per market.

use super::format::Session;
use super::reader::{Body, Record};
use crate::fixed;
use crate::venue::{Frame, FrameKind, Level, MarketRules, Side};

/// A market's index in the [`Normalizer`]'s table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MarketId(pub u16);

impl MarketId {
    /// Stands for every market (a disconnect concerns them all).
    pub const ALL: MarketId = MarketId(u16::MAX);
}

/// A side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BookSide {
    Bid,
    Ask,
}

impl BookSide {
    pub fn opposite(self) -> BookSide {
        match self {
            BookSide::Bid => BookSide::Ask,
            BookSide::Ask => BookSide::Bid,
        }
    }
}

/// Why the book stopped being trustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapReason {
    /// The sequence skipped ahead.
    Jump,
    /// The sequence went backwards (the matching engine restarted).
    Reset,
    /// An increment arrived before any snapshot.
    NoSnapshot,
}

impl GapReason {
    pub fn name(self) -> &'static str {
        match self {
            GapReason::Jump => "jump",
            GapReason::Reset => "reset",
            GapReason::NoSnapshot => "no snapshot",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A snapshot begins: the book is cleared.
    SnapshotStart {
        sequence: Option<u64>,
    },
    /// One level of the snapshot in progress.
    SnapshotLevel {
        side: BookSide,
        price: i64,
        amount: i64,
    },
    /// The snapshot is complete: the book is valid again.
    SnapshotEnd,
    /// A level's new absolute amount (0 deletes it).
    Level {
        side: BookSide,
        price: i64,
        amount: i64,
        sequence: Option<u64>,
    },
    /// A public trade; `price` is the maker's, `exch_ns` the exchange's time.
    Trade {
        id: u64,
        taker: Side,
        price: i64,
        amount: i64,
        exch_ns: i64,
    },
    /// The book can no longer be trusted until the next snapshot.
    Gap {
        reason: GapReason,
        expected: u64,
        got: u64,
    },
    Connect,
    /// The connection ended: every book is untrusted (market is [`MarketId::ALL`]).
    Disconnect,
    /// The recorder asked for a fresh snapshot.
    Resync,
    /// A paper session's clock tick (`!tick`): time passes with no market event, so timers
    /// and answers in flight fall due (market is [`MarketId::ALL`]).
    Tick,
}

/// A normalized event on the local receive clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub recv_ns: i64,
    pub market: MarketId,
    pub kind: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeqState {
    /// No snapshot yet, and no complaint made.
    Fresh,
    /// Increments without a snapshot, already reported.
    Unsynced,
    /// The next increment should carry this number.
    Expect(u64),
    /// The last snapshot had no sequence number.
    Unknown,
}

/// Why a record gave no events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NormError {
    /// The frame itself is not a ranger frame: it was received that way, so a replay counts
    /// it and goes on (the sequence check catches anything it hid).
    Malformed(String),
    /// The frame does not fit the market rules given (unknown market, too many decimals):
    /// the replay cannot be trusted and stops.
    Rules(OffRules),
}

/// How a frame breaks the market rules given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffRules {
    #[error("no rules for market {0:?}: give a markets file (--markets) that lists it")]
    UnknownMarket(String),
    #[error("{what} {text:?}: {source}")]
    Number {
        what: &'static str,
        text: String,
        source: fixed::FixedError,
    },
    #[error("{what} {text:?} is not positive")]
    NotPositive { what: &'static str, text: String },
    #[error("volume {0:?} is negative")]
    NegativeVolume(String),
}

/// Turns records into events.
pub struct Normalizer {
    markets: Vec<MarketRules>,
    seq: Vec<SeqState>,
    last: usize,
}

impl Normalizer {
    pub fn new(markets: Vec<MarketRules>) -> Self {
        let mut n = Normalizer {
            markets: Vec::new(),
            seq: Vec::new(),
            last: 0,
        };
        for m in markets {
            n.add_market(m);
        }
        n
    }

    /// Adds a market, or replaces the rules of one already known; returns its id.
    pub fn add_market(&mut self, rules: MarketRules) -> MarketId {
        if let Some(id) = self.market_id(&rules.id) {
            self.markets[id.0 as usize] = rules;
            return id;
        }
        self.markets.push(rules);
        self.seq.push(SeqState::Fresh);
        MarketId((self.markets.len() - 1) as u16)
    }

    pub fn markets(&self) -> &[MarketRules] {
        &self.markets
    }

    pub fn rules(&self, id: MarketId) -> &MarketRules {
        &self.markets[id.0 as usize]
    }

    pub fn market_id(&self, name: &str) -> Option<MarketId> {
        self.markets
            .iter()
            .position(|m| m.id == name)
            .map(|i| MarketId(i as u16))
    }

    #[inline]
    fn lookup(&mut self, name: &str) -> Result<MarketId, OffRules> {
        if self.markets.get(self.last).is_some_and(|m| m.id == name) {
            return Ok(MarketId(self.last as u16));
        }
        let id = self
            .market_id(name)
            .ok_or_else(|| OffRules::UnknownMarket(name.to_string()))?;
        self.last = id.0 as usize;
        Ok(id)
    }

    /// Normalizes one record into `out` (appending). Returns the frame's kind, if it was one.
    pub fn push(
        &mut self,
        rec: &Record<'_>,
        out: &mut Vec<Event>,
    ) -> Result<Option<FrameKind>, NormError> {
        let t = rec.recv_ns;
        match &rec.body {
            Body::Frame(text) => {
                let frame = Frame::parse(text)
                    .map_err(|e| NormError::Malformed(format!("bad frame: {e}")))?;
                let kind = frame.kind();
                self.frame(t, &frame, out).map_err(NormError::Rules)?;
                Ok(Some(kind))
            }
            Body::Binary(_) => Ok(None),
            Body::Session(s) => {
                self.session(t, s, out);
                Ok(None)
            }
        }
    }

    fn session(&mut self, t: i64, s: &Session, out: &mut Vec<Event>) {
        let ev = |market, kind| Event {
            recv_ns: t,
            market,
            kind,
        };
        match s {
            Session::Connect { .. } => out.push(ev(MarketId::ALL, EventKind::Connect)),
            Session::Disconnect { .. } => {
                for st in &mut self.seq {
                    *st = SeqState::Fresh;
                }
                out.push(ev(MarketId::ALL, EventKind::Disconnect));
            }
            Session::Resync { market } => {
                // The recorder resubscribes after a gap already reported: increments before
                // the new snapshot are expected, not another gap.
                if let Some(id) = self.market_id(market) {
                    self.seq[id.0 as usize] = SeqState::Unsynced;
                    out.push(ev(id, EventKind::Resync));
                }
            }
            // The recorder's own gap notes repeat what the sequence check below finds.
            Session::Gap { .. }
            | Session::Subscribe { .. }
            | Session::Unsubscribe { .. }
            | Session::Depth { .. }
            | Session::Place { .. }
            | Session::Cancel { .. }
            | Session::CancelAll { .. }
            | Session::Stop {} => {}
            Session::Tick {} => out.push(ev(MarketId::ALL, EventKind::Tick)),
        }
    }

    fn frame(&mut self, t: i64, frame: &Frame<'_>, out: &mut Vec<Event>) -> Result<(), OffRules> {
        match frame {
            Frame::Increment(inc) => {
                let id = self.lookup(inc.market)?;
                let (pp, ap) = self.precisions(id);
                if let Some(seq) = inc.sequence {
                    self.check_sequence(t, id, seq, out);
                }
                for (side, levels) in [(BookSide::Ask, &inc.asks), (BookSide::Bid, &inc.bids)] {
                    let Some(levels) = levels else { continue };
                    for l in levels.as_slice() {
                        let (price, amount) = level(l, pp, ap)?;
                        out.push(Event {
                            recv_ns: t,
                            market: id,
                            kind: EventKind::Level {
                                side,
                                price,
                                amount,
                                sequence: inc.sequence,
                            },
                        });
                    }
                }
            }
            Frame::Trades(tr) => {
                let id = self.lookup(tr.market)?;
                let (pp, ap) = self.precisions(id);
                for x in &tr.trades {
                    let price = positive(x.price, pp, "trade price")?;
                    let amount = positive(x.amount, ap, "trade amount")?;
                    out.push(Event {
                        recv_ns: t,
                        market: id,
                        kind: EventKind::Trade {
                            id: x.tid,
                            taker: x.taker_type,
                            price,
                            amount,
                            exch_ns: x.date.saturating_mul(1_000_000_000),
                        },
                    });
                }
            }
            Frame::Snapshot(snap) => {
                let id = self.lookup(snap.market)?;
                let (pp, ap) = self.precisions(id);
                self.seq[id.0 as usize] = match snap.sequence {
                    Some(s) => SeqState::Expect(s + 1),
                    None => SeqState::Unknown,
                };
                let ev = |kind| Event {
                    recv_ns: t,
                    market: id,
                    kind,
                };
                out.push(ev(EventKind::SnapshotStart {
                    sequence: snap.sequence,
                }));
                for (side, list) in [(BookSide::Ask, &snap.asks), (BookSide::Bid, &snap.bids)] {
                    for l in list {
                        let (price, amount) = level(l, pp, ap)?;
                        if amount > 0 {
                            out.push(ev(EventKind::SnapshotLevel {
                                side,
                                price,
                                amount,
                            }));
                        }
                    }
                }
                out.push(ev(EventKind::SnapshotEnd));
            }
            Frame::Success { .. }
            | Frame::Error(_)
            | Frame::Pong
            | Frame::Order(_)
            | Frame::Trade(_)
            | Frame::Balance(_) => {}
        }
        Ok(())
    }

    #[inline]
    fn precisions(&self, id: MarketId) -> (u32, u32) {
        let m = &self.markets[id.0 as usize];
        (m.price_precision, m.amount_precision)
    }

    #[inline]
    fn check_sequence(&mut self, t: i64, id: MarketId, seq: u64, out: &mut Vec<Event>) {
        let state = &mut self.seq[id.0 as usize];
        let gap = match *state {
            SeqState::Expect(e) if e == seq => None,
            SeqState::Expect(e) if seq > e => Some((GapReason::Jump, e)),
            SeqState::Expect(e) => Some((GapReason::Reset, e)),
            SeqState::Fresh => Some((GapReason::NoSnapshot, 0)),
            SeqState::Unsynced => None,
            SeqState::Unknown => None,
        };
        *state = match *state {
            SeqState::Fresh | SeqState::Unsynced => SeqState::Unsynced,
            _ => SeqState::Expect(seq + 1),
        };
        if let Some((reason, expected)) = gap {
            out.push(Event {
                recv_ns: t,
                market: id,
                kind: EventKind::Gap {
                    reason,
                    expected,
                    got: seq,
                },
            });
        }
    }
}

#[inline]
fn num(text: &str, scale: u32, what: &'static str) -> Result<i64, OffRules> {
    fixed::parse(text.as_bytes(), scale).map_err(|source| OffRules::Number {
        what,
        text: text.to_string(),
        source,
    })
}

/// A price or trade amount: zero or less cannot be.
#[inline]
fn positive(text: &str, scale: u32, what: &'static str) -> Result<i64, OffRules> {
    let v = num(text, scale, what)?;
    if v <= 0 {
        return Err(OffRules::NotPositive {
            what,
            text: text.to_string(),
        });
    }
    Ok(v)
}

#[inline]
fn level(l: &Level<'_>, pp: u32, ap: u32) -> Result<(i64, i64), OffRules> {
    let price = positive(l.price, pp, "price")?;
    let amount = if l.volume.is_empty() {
        0
    } else {
        num(l.volume, ap, "volume")?
    };
    if amount < 0 {
        return Err(OffRules::NegativeVolume(l.volume.to_string()));
    }
    Ok((price, amount))
}
