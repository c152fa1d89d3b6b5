//! Helpers shared by the simulator tests: a book set up from decimals, events by hand.
#![allow(dead_code)]

use altsim::fixed;
use altsim::sim::{Exchange, FeeSchedule, NewOrder, QueueModel, SimEvent, BALANCE_SCALE};
use altsim::tape::{BookSide, Event, EventKind, MarketId};
use altsim::venue::market::load_markets;
use altsim::venue::Side;
use rust_decimal::Decimal;
use std::path::Path;

pub const BTCUSDT: MarketId = MarketId(0);
pub const DOGEBTC: MarketId = MarketId(2);

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn exchange(fees: FeeSchedule, queue: QueueModel) -> Exchange {
    let rules = load_markets(Path::new("data/markets.json")).unwrap();
    Exchange::new(rules, fees, queue)
}

pub fn ev(market: MarketId, kind: EventKind) -> Event {
    Event {
        recv_ns: 0,
        market,
        kind,
    }
}

/// A snapshot with (price, amount) levels given as decimals.
pub fn snapshot(ex: &mut Exchange, m: MarketId, bids: &[(&str, &str)], asks: &[(&str, &str)]) {
    let r = ex.rules()[m.0 as usize].clone();
    ex.on_event(0, &ev(m, EventKind::SnapshotStart { sequence: Some(1) }));
    for (side, list) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
        for (p, a) in list {
            let kind = EventKind::SnapshotLevel {
                side,
                price: fixed::parse_str(p, r.price_precision).unwrap(),
                amount: fixed::parse_str(a, r.amount_precision).unwrap(),
            };
            ex.on_event(0, &ev(m, kind));
        }
    }
    ex.on_event(0, &ev(m, EventKind::SnapshotEnd));
}

pub fn level(ex: &mut Exchange, m: MarketId, side: BookSide, p: &str, a: &str) {
    let r = ex.rules()[m.0 as usize].clone();
    let kind = EventKind::Level {
        side,
        price: fixed::parse_str(p, r.price_precision).unwrap(),
        amount: fixed::parse_str(a, r.amount_precision).unwrap(),
        sequence: None,
    };
    ex.on_event(1, &ev(m, kind));
}

pub fn trade(ex: &mut Exchange, m: MarketId, taker: Side, p: &str, a: &str) {
    let r = ex.rules()[m.0 as usize].clone();
    let kind = EventKind::Trade {
        id: 1,
        taker,
        price: fixed::parse_str(p, r.price_precision).unwrap(),
        amount: fixed::parse_str(a, r.amount_precision).unwrap(),
        exch_ns: 0,
    };
    ex.on_event(2, &ev(m, kind));
}

pub fn bal(ex: &Exchange, c: &str) -> (String, String) {
    let b = ex.accounts().balance(c);
    (b.available.text(), b.locked.text())
}

pub fn events(ex: &mut Exchange) -> Vec<SimEvent> {
    let mut v = Vec::new();
    ex.drain(&mut v);
    v.into_iter().map(|(_, e)| e).collect()
}

pub fn place(ex: &mut Exchange, o: NewOrder) -> u64 {
    let id = ex.reserve_id();
    ex.submit(10, id, &o);
    id
}

pub fn rejected_code(ex: &mut Exchange, o: NewOrder) -> &'static str {
    place(ex, o);
    match events(ex).as_slice() {
        [SimEvent::Rejected { reject, .. }] => reject.code,
        other => panic!("expected one rejection, got {other:?}"),
    }
}

pub fn fills(evs: &[SimEvent]) -> Vec<(String, String, bool, String)> {
    evs.iter()
        .filter_map(|e| match e {
            SimEvent::Fill(f) => Some((
                fixed::format((f.price.raw() as i64).into(), 2),
                fixed::format(f.amount.raw().into(), 6),
                f.maker,
                fixed::format(f.fee.raw(), BALANCE_SCALE),
            )),
            _ => None,
        })
        .collect()
}
