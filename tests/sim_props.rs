//! Properties of the paper exchange over random order flows on the shipped data.

use altsim::sim::{Exchange, FeeMode, FeeSchedule, NewOrder, OrderState, QueueModel, SimEvent};
use altsim::tape::{BookSide, Event, EventKind, EventStream, MarketId};
use altsim::venue::market::load_markets;
use altsim::venue::Side;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The first events of the shipped sample (about 70 s of market data).
fn sample() -> &'static [Event] {
    static EVENTS: OnceLock<Vec<Event>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let markets = load_markets(Path::new("data/markets.json")).unwrap();
        EventStream::open(
            vec![PathBuf::from("data/btcusdt-20240808T2354Z.ranger.gz")],
            markets,
        )
        .unwrap()
        .take(40_000)
        .map(|e| e.unwrap())
        .collect()
    })
}

#[derive(Debug, Clone)]
enum Action {
    Limit { side: Side, ticks: i64, lots: i64 },
    Market { side: Side, lots: i64 },
    Cancel { nth: usize },
}

fn action() -> impl Strategy<Value = Action> {
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    prop_oneof![
        5 => (side.clone(), -300i64..300, 1i64..200).prop_map(|(side, ticks, lots)| Action::Limit { side, ticks, lots }),
        1 => (side, 1i64..50).prop_map(|(side, lots)| Action::Market { side, lots }),
        2 => (0usize..64).prop_map(|nth| Action::Cancel { nth }),
    ]
}

fn scaled(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

/// What the book showed just before a submission, to judge its taker fills.
fn best(ex: &mut Exchange, side: BookSide) -> Option<i64> {
    ex.book(MarketId(0)).best(side).map(|l| l.price)
}

fn run(
    flow: &[(usize, Action)],
    queue: QueueModel,
    mode: FeeMode,
) -> Result<Vec<String>, TestCaseError> {
    let rules = load_markets(Path::new("data/markets.json")).unwrap();
    let fees = FeeSchedule {
        mode,
        ..FeeSchedule::default()
    };
    let mut ex = Exchange::new(rules, fees, queue);
    ex.deposit("usdt", Decimal::new(200_000, 0)).unwrap();
    ex.deposit("btc", Decimal::new(3, 0)).unwrap();
    let events = sample();
    let mut next = 0usize;
    let mut ids = Vec::new();
    let mut log = Vec::new();
    let mut out = Vec::new();
    // Volume shown by the snapshot in progress: [asks, bids].
    let mut snapshot = [0i64; 2];
    for (i, ev) in events.iter().enumerate() {
        let now = ev.recv_ns;
        while next < flow.len() && flow[next].0 <= i {
            let action = &flow[next].1;
            next += 1;
            let (bid, ask) = (best(&mut ex, BookSide::Bid), best(&mut ex, BookSide::Ask));
            let order = match *action {
                Action::Limit { side, ticks, lots } => {
                    let Some(anchor) = (match side {
                        Side::Buy => bid,
                        Side::Sell => ask,
                    }) else {
                        continue;
                    };
                    let price = (anchor + ticks).max(1);
                    NewOrder::limit("btcusdt", side, scaled(lots * 100, 6), scaled(price, 2))
                }
                Action::Market { side, lots } => {
                    NewOrder::market("btcusdt", side, scaled(lots * 100, 6))
                }
                Action::Cancel { nth } => {
                    if let Some(&id) = ids.get(nth % ids.len().max(1)) {
                        ex.cancel(now, id);
                    }
                    continue;
                }
            };
            let id = ex.reserve_id();
            ids.push(id);
            ex.submit(now, id, &order);
            ex.drain(&mut out);
            for (_, e) in out.drain(..) {
                if let SimEvent::Fill(f) = &e {
                    prop_assert!(!f.maker, "a new order only takes");
                    match f.side {
                        Side::Buy => {
                            prop_assert!(
                                ask.is_some_and(|a| (f.price.raw() as i64) >= a),
                                "bought below the best ask"
                            );
                            if let Some(p) = order.price {
                                prop_assert!(
                                    scaled(f.price.raw() as i64, 2) <= p,
                                    "bought above the limit"
                                );
                            }
                        }
                        Side::Sell => {
                            prop_assert!(
                                bid.is_some_and(|b| (f.price.raw() as i64) <= b),
                                "sold above the best bid"
                            );
                            if let Some(p) = order.price {
                                prop_assert!(
                                    scaled(f.price.raw() as i64, 2) >= p,
                                    "sold below the limit"
                                );
                            }
                        }
                    }
                }
                log.push(format!("{e:?}"));
            }
            ex.accounts()
                .check_conservation()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        // What this event can give our resting orders at most: [our buys, our sells]. A trade
        // gives its volume (at or through our price); a level, the volume it adds on the side
        // that could cross us; a snapshot, what it shows.
        let side_index = |side: BookSide| usize::from(side == BookSide::Bid);
        let mut supply = [0i64; 2];
        match ev.kind {
            EventKind::Trade { amount, .. } => supply = [amount, amount],
            EventKind::Level {
                side,
                price,
                amount,
                ..
            } => {
                supply[side_index(side)] =
                    (amount - ex.book(MarketId(0)).level(side, price)).max(0);
            }
            EventKind::SnapshotStart { .. } => snapshot = [0, 0],
            EventKind::SnapshotLevel { side, amount, .. } => snapshot[side_index(side)] += amount,
            EventKind::SnapshotEnd => supply = snapshot,
            _ => {}
        }
        let mut made = [0i64; 2];
        ex.on_event(now, ev);
        ex.drain(&mut out);
        for (_, e) in out.drain(..) {
            if let SimEvent::Fill(f) = &e {
                prop_assert!(f.maker, "market data only fills resting orders");
                let reached = match ev.kind {
                    EventKind::Trade { price, .. } => match f.side {
                        Side::Buy => price <= (f.price.raw() as i64),
                        Side::Sell => price >= (f.price.raw() as i64),
                    },
                    EventKind::Level { .. } | EventKind::SnapshotEnd => {
                        let book = ex.book(MarketId(0));
                        match f.side {
                            Side::Buy => book
                                .best_ask()
                                .is_some_and(|a| a.price <= (f.price.raw() as i64)),
                            Side::Sell => book
                                .best_bid()
                                .is_some_and(|b| b.price >= (f.price.raw() as i64)),
                        }
                    }
                    _ => false,
                };
                prop_assert!(
                    reached,
                    "maker fill {f:?} without a trade or cross at {ev:?}"
                );
                made[usize::from(f.side == Side::Sell)] += f.amount.raw();
            }
            log.push(format!("{e:?}"));
        }
        for k in 0..2 {
            prop_assert!(
                made[k] <= supply[k],
                "maker volume {} beyond the {} that {ev:?} traded or showed",
                made[k],
                supply[k]
            );
        }
        ex.accounts()
            .check_conservation()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    for o in ex.orders() {
        prop_assert!(
            o.remaining_volume().raw() >= 0
                && o.remaining_volume().raw() <= o.origin_volume().raw()
        );
        prop_assert!(o.locked().raw() >= 0);
        if o.state == OrderState::Done {
            prop_assert_eq!(o.remaining_volume().raw(), 0);
        }
        if o.state != OrderState::Wait {
            prop_assert_eq!(o.locked().raw(), 0, "a closed order holds nothing");
        }
    }
    Ok(log)
}

fn flow() -> impl Strategy<Value = Vec<(usize, Action)>> {
    prop::collection::vec((0usize..40_000, action()), 1..120).prop_map(|mut v| {
        v.sort_by_key(|(i, _)| *i);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn conservation_and_honest_fills(
        flow in flow(),
        prob in any::<bool>(),
        quote_mode in any::<bool>(),
    ) {
        let queue = if prob { QueueModel::PowerProb { n: 2 } } else { QueueModel::Conservative };
        let mode = if quote_mode { FeeMode::Quote } else { FeeMode::Received };
        run(&flow, queue, mode)?;
    }
}

#[test]
fn the_same_flow_gives_the_same_events() {
    let flow: Vec<(usize, Action)> = (0..200)
        .map(|i| {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            let a = match i % 5 {
                0 => Action::Market { side, lots: 3 },
                1 => Action::Cancel { nth: i * 7 },
                _ => Action::Limit {
                    side,
                    ticks: (i as i64 % 7) - 3,
                    lots: 10 + i as i64 % 20,
                },
            };
            (i * 190, a)
        })
        .collect();
    let a = run(&flow, QueueModel::PowerProb { n: 2 }, FeeMode::Received).unwrap();
    let b = run(&flow, QueueModel::PowerProb { n: 2 }, FeeMode::Received).unwrap();
    assert!(
        a.len() > 300,
        "the flow should do something: {} events",
        a.len()
    );
    assert!(
        a.iter().any(|e| e.contains("maker: true")),
        "some maker fills"
    );
    assert_eq!(a, b);
}
