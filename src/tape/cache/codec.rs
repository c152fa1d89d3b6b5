//! Blocks of events as the cache stores them: each field as a varint against the one before
//! it (times, prices, sequences and trade ids move little from event to event), about 7
//! bytes an event. A block decodes on its own: the running values start afresh.
//!
//! One event:
//! - a tag byte: the kind in bits 0–3, its flags in bits 4–6, bit 7 set when the market
//!   differs from the previous event's (its index follows as a varint);
//! - the receive time less the previous one's, zigzag varint;
//! - by kind (`Δ` is against the previous value of that field in the block, zigzag varint):
//!   - snapshot start: the sequence, varint, when flag bit 0 says there is one;
//!   - snapshot level and level: Δprice, amount (zigzag varint), and for a level with flag
//!     bit 1, Δsequence less one;
//!   - trade: Δprice, amount, Δtrade id, exchange time less receive time;
//!   - gap: expected and got, varints (the reason in the flags);
//!   - the rest: nothing more.
//!
//! Differences wrap in 64 bits, so every value round-trips, the extremes included.

use super::super::normalize::{BookSide, Event, EventKind, GapReason, MarketId};
use crate::venue::Side;

/// Events per block.
pub const BLOCK: usize = 4096;

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_i(out: &mut Vec<u8>, v: i64) {
    put(out, zigzag(v));
}

/// Running values of a block, for the deltas.
#[derive(Default)]
struct State {
    recv_ns: i64,
    market: u16,
    price: i64,
    sequence: u64,
    trade: u64,
}

/// Encodes events into the uncompressed form of one block.
#[derive(Default)]
pub struct Encoder {
    state: State,
    pub raw: Vec<u8>,
    pub events: usize,
}

impl Encoder {
    pub fn push(&mut self, ev: &Event) {
        let s = &mut self.state;
        let (kind, flags): (u8, u8) = match ev.kind {
            EventKind::SnapshotStart { sequence } => (0, u8::from(sequence.is_some())),
            EventKind::SnapshotLevel { side, .. } => (1, side as u8),
            EventKind::SnapshotEnd => (2, 0),
            EventKind::Level { side, sequence, .. } => {
                (3, side as u8 | u8::from(sequence.is_some()) << 1)
            }
            EventKind::Trade { taker, .. } => (4, taker as u8),
            EventKind::Gap { reason, .. } => (5, reason as u8),
            EventKind::Connect => (6, 0),
            EventKind::Disconnect => (7, 0),
            EventKind::Resync => (8, 0),
            EventKind::Tick => (9, 0),
        };
        let other_market = ev.market.0 != s.market;
        self.raw
            .push(kind | flags << 4 | u8::from(other_market) << 7);
        if other_market {
            put(&mut self.raw, u64::from(ev.market.0));
            s.market = ev.market.0;
        }
        put_i(&mut self.raw, ev.recv_ns.wrapping_sub(s.recv_ns));
        s.recv_ns = ev.recv_ns;
        let out = &mut self.raw;
        match ev.kind {
            EventKind::SnapshotStart { sequence } => {
                if let Some(q) = sequence {
                    put(out, q);
                }
            }
            EventKind::SnapshotLevel { price, amount, .. } => {
                put_i(out, price.wrapping_sub(s.price));
                s.price = price;
                put_i(out, amount);
            }
            EventKind::Level {
                price,
                amount,
                sequence,
                ..
            } => {
                put_i(out, price.wrapping_sub(s.price));
                s.price = price;
                put_i(out, amount);
                if let Some(q) = sequence {
                    put_i(out, q.wrapping_sub(s.sequence).wrapping_sub(1) as i64);
                    s.sequence = q;
                }
            }
            EventKind::Trade {
                id,
                price,
                amount,
                exch_ns,
                ..
            } => {
                put_i(out, price.wrapping_sub(s.price));
                s.price = price;
                put_i(out, amount);
                put_i(out, id.wrapping_sub(s.trade) as i64);
                s.trade = id;
                put_i(out, exch_ns.wrapping_sub(ev.recv_ns));
            }
            EventKind::Gap { expected, got, .. } => {
                put(out, expected);
                put(out, got);
            }
            EventKind::SnapshotEnd
            | EventKind::Connect
            | EventKind::Disconnect
            | EventKind::Resync
            | EventKind::Tick => {}
        }
        self.events += 1;
    }

    /// Starts the next block.
    pub fn clear(&mut self) {
        self.state = State::default();
        self.raw.clear();
        self.events = 0;
    }
}

/// Why a block does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// The bytes of a block being read.
struct Cursor<'a> {
    raw: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    #[inline(always)]
    fn byte(&mut self) -> Result<u8, Corrupt> {
        let b = *self.raw.get(self.at).ok_or(Corrupt)?;
        self.at += 1;
        Ok(b)
    }

    /// A LEB128 varint: at most 10 bytes, and no bits past 64.
    #[inline(always)]
    fn varint(&mut self) -> Result<u64, Corrupt> {
        let b = self.byte()?;
        if b < 0x80 {
            return Ok(u64::from(b));
        }
        self.varint_rest(u64::from(b & 0x7f))
    }

    #[inline(never)]
    fn varint_rest(&mut self, mut v: u64) -> Result<u64, Corrupt> {
        let mut shift = 7;
        loop {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(Corrupt);
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(Corrupt);
            }
        }
    }

    #[inline(always)]
    fn signed(&mut self) -> Result<i64, Corrupt> {
        self.varint().map(unzigzag)
    }
}

/// Decodes one block's `n` events from its uncompressed bytes, appending them to `out`.
pub fn decode(raw: &[u8], n: usize, out: &mut Vec<Event>) -> Result<(), Corrupt> {
    let mut s = State::default();
    let mut c = Cursor { raw, at: 0 };
    out.reserve(n);
    for _ in 0..n {
        let tag = c.byte()?;
        let (kind, flags) = (tag & 0x0f, tag >> 4 & 0x07);
        if tag & 0x80 != 0 {
            s.market = u16::try_from(c.varint()?).map_err(|_| Corrupt)?;
        }
        s.recv_ns = s.recv_ns.wrapping_add(c.signed()?);
        let side = if flags & 1 == 0 {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        let kind = match kind {
            3 => {
                s.price = s.price.wrapping_add(c.signed()?);
                let amount = c.signed()?;
                let sequence = if flags & 2 == 2 {
                    s.sequence = s.sequence.wrapping_add(c.signed()? as u64).wrapping_add(1);
                    Some(s.sequence)
                } else {
                    None
                };
                EventKind::Level {
                    side,
                    price: s.price,
                    amount,
                    sequence,
                }
            }
            1 => {
                s.price = s.price.wrapping_add(c.signed()?);
                EventKind::SnapshotLevel {
                    side,
                    price: s.price,
                    amount: c.signed()?,
                }
            }
            4 => {
                s.price = s.price.wrapping_add(c.signed()?);
                let amount = c.signed()?;
                s.trade = s.trade.wrapping_add(c.signed()? as u64);
                let exch_ns = s.recv_ns.wrapping_add(c.signed()?);
                EventKind::Trade {
                    id: s.trade,
                    taker: if flags & 1 == 0 {
                        Side::Buy
                    } else {
                        Side::Sell
                    },
                    price: s.price,
                    amount,
                    exch_ns,
                }
            }
            0 => EventKind::SnapshotStart {
                sequence: if flags & 1 == 1 {
                    Some(c.varint()?)
                } else {
                    None
                },
            },
            2 => EventKind::SnapshotEnd,
            5 => EventKind::Gap {
                reason: match flags {
                    0 => GapReason::Jump,
                    1 => GapReason::Reset,
                    2 => GapReason::NoSnapshot,
                    _ => return Err(Corrupt),
                },
                expected: c.varint()?,
                got: c.varint()?,
            },
            6 => EventKind::Connect,
            7 => EventKind::Disconnect,
            8 => EventKind::Resync,
            9 => EventKind::Tick,
            _ => return Err(Corrupt),
        };
        out.push(Event {
            recv_ns: s.recv_ns,
            market: MarketId(s.market),
            kind,
        });
    }
    if c.at != raw.len() {
        return Err(Corrupt);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<Event> {
        let kinds = [
            EventKind::SnapshotStart { sequence: None },
            EventKind::SnapshotStart { sequence: Some(7) },
            EventKind::SnapshotLevel {
                side: BookSide::Ask,
                price: 123,
                amount: 4,
            },
            EventKind::SnapshotEnd,
            EventKind::Level {
                side: BookSide::Bid,
                price: i64::MAX,
                amount: 0,
                sequence: Some(u64::MAX),
            },
            EventKind::Level {
                side: BookSide::Ask,
                price: i64::MIN,
                amount: i64::MAX,
                sequence: Some(0),
            },
            EventKind::Level {
                side: BookSide::Ask,
                price: 1,
                amount: 2,
                sequence: None,
            },
            EventKind::Trade {
                id: 9,
                taker: Side::Sell,
                price: 5,
                amount: 6,
                exch_ns: i64::MIN,
            },
            EventKind::Trade {
                id: u64::MAX,
                taker: Side::Buy,
                price: -5,
                amount: -6,
                exch_ns: i64::MAX,
            },
            EventKind::Gap {
                reason: GapReason::NoSnapshot,
                expected: 3,
                got: u64::MAX,
            },
            EventKind::Gap {
                reason: GapReason::Reset,
                expected: u64::MAX,
                got: 0,
            },
            EventKind::Connect,
            EventKind::Disconnect,
            EventKind::Resync,
            EventKind::Tick,
        ];
        let times = [i64::MIN, 0, 5, 5, i64::MAX, -3, 1_723_161_254_206_652_067];
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                recv_ns: times[i % times.len()],
                market: MarketId(if i % 3 == 0 { u16::MAX } else { i as u16 / 2 }),
                kind,
            })
            .collect()
    }

    #[test]
    fn every_kind_and_extreme_round_trips() {
        let evs = all_kinds();
        let mut e = Encoder::default();
        for ev in &evs {
            e.push(ev);
        }
        let mut back = Vec::new();
        decode(&e.raw, e.events, &mut back).unwrap();
        assert_eq!(back, evs);
        // A block cut short, or with bytes to spare, or asked for one event more, is corrupt.
        let mut out = Vec::new();
        assert_eq!(
            decode(&e.raw[..e.raw.len() - 1], e.events, &mut out),
            Err(Corrupt)
        );
        let mut long = e.raw.clone();
        long.push(0);
        assert_eq!(decode(&long, e.events, &mut out), Err(Corrupt));
        assert_eq!(decode(&e.raw, e.events + 1, &mut out), Err(Corrupt));
        // An unknown kind.
        assert_eq!(decode(&[0x0f, 0], 1, &mut out), Err(Corrupt));
        // A varint past 64 bits.
        assert_eq!(
            decode(
                &[0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
                1,
                &mut out
            ),
            Err(Corrupt)
        );
    }

    #[test]
    fn zigzag_round_trips_at_the_extremes() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 12345, -98765] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
