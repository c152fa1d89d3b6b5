//! The book against a reference model of two B-trees, over random feeds whose prices move
//! through the depth, far from the top and across the ladder's window, and over the shipped
//! sample itself.

use altsim::book::{Book, PriceLevel, Walk};
use altsim::tape::{BookSide, Event, EventKind, EventStream, GapReason, MarketId};
use altsim::venue::market::load_markets;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The book's rules stated plainly: a level's amount by price per side, 0 removes it, and a
/// positive update removes the opposite levels it crosses.
#[derive(Default)]
struct Reference {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    valid: bool,
    crossings: u64,
}

impl Reference {
    fn side(&mut self, side: BookSide) -> &mut BTreeMap<i64, i64> {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    fn set(&mut self, side: BookSide, price: i64, amount: i64) {
        if amount == 0 {
            self.side(side).remove(&price);
        } else {
            self.side(side).insert(price, amount);
        }
    }

    fn apply(&mut self, ev: &Event) {
        match ev.kind {
            EventKind::Level {
                side,
                price,
                amount,
                ..
            } => {
                self.set(side, price, amount);
                if amount > 0 {
                    let before = self.bids.len() + self.asks.len();
                    match side {
                        BookSide::Bid => self.asks.retain(|p, _| *p > price),
                        BookSide::Ask => self.bids.retain(|p, _| *p < price),
                    }
                    if self.bids.len() + self.asks.len() != before {
                        self.crossings += 1;
                    }
                }
            }
            EventKind::SnapshotStart { .. } => {
                self.bids.clear();
                self.asks.clear();
                self.valid = false;
            }
            EventKind::SnapshotLevel {
                side,
                price,
                amount,
            } => self.set(side, price, amount),
            EventKind::SnapshotEnd => self.valid = true,
            EventKind::Gap { .. } | EventKind::Disconnect | EventKind::Resync => self.valid = false,
            _ => {}
        }
    }

    fn levels(&self, side: BookSide) -> Vec<PriceLevel> {
        let l = |(&price, &amount): (&i64, &i64)| PriceLevel { price, amount };
        match side {
            BookSide::Bid => self.bids.iter().rev().map(l).collect(),
            BookSide::Ask => self.asks.iter().map(l).collect(),
        }
    }

    fn walk(&self, side: BookSide, amount: i64, limit: Option<i64>) -> Walk {
        let mut w = Walk::default();
        for l in self.levels(side) {
            let beyond = limit.is_some_and(|p| match side {
                BookSide::Ask => l.price > p,
                BookSide::Bid => l.price < p,
            });
            if w.filled >= amount || beyond {
                break;
            }
            let take = (amount - w.filled).min(l.amount);
            w.filled += take;
            w.cost += i128::from(take) * i128::from(l.price);
            w.worst_price = Some(l.price);
            w.levels += 1;
        }
        w
    }
}

fn same(book: &Book, r: &Reference, probes: &[i64]) -> Result<(), TestCaseError> {
    for side in [BookSide::Bid, BookSide::Ask] {
        let want = r.levels(side);
        prop_assert_eq!(book.levels(side).collect::<Vec<_>>(), want.clone());
        prop_assert_eq!(book.best(side), want.first().copied());
        prop_assert_eq!(book.depth_len(side), want.len());
        for &p in probes {
            let shown = match side {
                BookSide::Bid => r.bids.get(&p),
                BookSide::Ask => r.asks.get(&p),
            };
            prop_assert_eq!(book.level(side, p), shown.copied().unwrap_or(0));
        }
        for (amount, limit) in [(1, None), (1_000, None), (50_000, probes.first().copied())] {
            prop_assert_eq!(book.walk(side, amount, limit), r.walk(side, amount, limit));
        }
    }
    prop_assert_eq!(book.is_valid(), r.valid);
    prop_assert_eq!(book.crossings(), r.crossings);
    prop_assert_eq!(book.is_crossed(), false);
    Ok(())
}

fn ev(kind: EventKind) -> Event {
    Event {
        recv_ns: 1,
        market: MarketId(0),
        kind,
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A level `offset` ticks from the drifting centre.
    Level {
        bid: bool,
        offset: i64,
        amount: i64,
    },
    /// The centre moves.
    Drift(i64),
    Snapshot(Vec<(bool, i64, i64)>),
    Gap,
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => -300i64..300,
        3 => -40_000i64..40_000,
        2 => -200_000i64..200_000,
        1 => -5_000_000i64..5_000_000,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    // Amounts of every size, past 32 bits too.
    let amount = prop_oneof![
        2 => Just(0i64),
        3 => 1i64..1_000,
        1 => (u32::MAX as i64 - 2)..(u32::MAX as i64 + 2),
        1 => (1i64 << 40)..(1i64 << 50),
    ];
    let snapshot_amount = prop_oneof![4 => 1i64..1_000, 1 => (u32::MAX as i64 - 2)..(1i64 << 40)];
    prop_oneof![
        20 => (any::<bool>(), offset(), amount).prop_map(|(bid, offset, amount)| Op::Level { bid, offset, amount }),
        2 => prop_oneof![-500i64..500, -100_000i64..100_000].prop_map(Op::Drift),
        1 => prop::collection::vec((any::<bool>(), offset(), snapshot_amount), 0..40).prop_map(Op::Snapshot),
        1 => Just(Op::Gap),
    ]
}

/// Bids below the centre and asks above it, as a feed sends them (a level on the wrong side
/// of the centre is a crossing update).
fn price(centre: i64, bid: bool, offset: i64) -> (BookSide, i64) {
    let side = if bid { BookSide::Bid } else { BookSide::Ask };
    let p = if bid {
        centre - offset
    } else {
        centre + offset
    };
    (side, p.max(1))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_book_matches_the_reference(ops in prop::collection::vec(op(), 1..400)) {
        let (mut book, mut r) = (Book::new(), Reference::default());
        let mut centre = 10_000_000i64;
        let mut probes = Vec::new();
        for op in ops {
            let evs = match op {
                Op::Level { bid, offset, amount } => {
                    let (side, price) = price(centre, bid, offset);
                    probes.push(price);
                    vec![ev(EventKind::Level { side, price, amount, sequence: None })]
                }
                Op::Drift(d) => {
                    centre += d;
                    Vec::new()
                }
                Op::Snapshot(levels) => {
                    let mut evs = vec![ev(EventKind::SnapshotStart { sequence: Some(1) })];
                    evs.extend(levels.into_iter().map(|(bid, offset, amount)| {
                        let (side, price) = price(centre, bid, offset.abs() + 1);
                        ev(EventKind::SnapshotLevel { side, price, amount })
                    }));
                    evs.push(ev(EventKind::SnapshotEnd));
                    evs
                }
                Op::Gap => vec![ev(EventKind::Gap { reason: GapReason::Jump, expected: 2, got: 5 })],
            };
            for e in &evs {
                book.apply(e);
                r.apply(e);
            }
            if probes.len() > 16 {
                probes.remove(0);
            }
            same(&book, &r, &probes)?;
        }
    }
}

/// Every event of the shipped sample, compared level by level every 1,000 events.
#[test]
fn the_sample_gives_the_reference_book() {
    let markets = load_markets(Path::new("data/markets.json")).unwrap();
    let stream = EventStream::open(
        vec![PathBuf::from("data/btcusdt-20240808T2354Z.ranger.gz")],
        markets,
    )
    .unwrap();
    let (mut book, mut r) = (Book::new(), Reference::default());
    let mut n = 0;
    for e in stream {
        let e = e.unwrap();
        if e.market != MarketId(0) && e.market != MarketId::ALL {
            continue;
        }
        book.apply(&e);
        r.apply(&e);
        n += 1;
        if n % 1_000 == 0 {
            same(&book, &r, &[]).unwrap();
        }
    }
    same(&book, &r, &[]).unwrap();
    assert!(n > 250_000, "{n} events");
}
