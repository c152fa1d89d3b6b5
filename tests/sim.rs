//! The paper exchange against hand-computed numbers.

mod common;

use altsim::fixed;
use altsim::sim::{
    Exchange, FeeMode, FeeSchedule, Latencies, Latency, NewOrder, OrderState, QueueModel, Rates,
    Sim, SimEvent, Tier, BALANCE_SCALE,
};
use altsim::tape::{BookSide, Event, EventKind, GapReason, MarketId};
use altsim::venue::market::load_markets;
use altsim::venue::rest::codes;
use altsim::venue::{MarketState, Side};
use common::*;
use rust_decimal::Decimal;
use std::path::Path;

#[test]
fn taker_buy_pays_fee_in_base() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("30000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("59999.00", "1")], &[("60000.00", "1")]);
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("60000.00")),
    );
    let evs = events(&mut ex);
    assert_eq!(
        fills(&evs),
        [("60000.0".into(), "0.5".into(), false, "0.00125".into())]
    );
    assert_eq!(bal(&ex, "btc"), ("0.49875".into(), "0.0".into()));
    assert_eq!(bal(&ex, "usdt"), ("0.0".into(), "0.0".into()));
    assert_eq!(ex.order(id).unwrap().state, OrderState::Done);
    ex.accounts().check_conservation().unwrap();
}

#[test]
fn maker_sell_on_doge_keeps_sixteen_decimals() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("doge", d("60")).unwrap();
    snapshot(
        &mut ex,
        DOGEBTC,
        &[("0.00000418", "1000")],
        &[("0.00000420", "1000")],
    );
    let id = place(
        &mut ex,
        NewOrder::limit("dogebtc", Side::Sell, d("60.00"), d("0.00000419")),
    );
    assert_eq!(bal(&ex, "doge"), ("0.0".into(), "60.0".into()));
    trade(&mut ex, DOGEBTC, Side::Buy, "0.00000419", "100");
    assert_eq!(bal(&ex, "btc"), ("0.0002507715".into(), "0.0".into()));
    assert_eq!(bal(&ex, "doge"), ("0.0".into(), "0.0".into()));
    let f = events(&mut ex)
        .into_iter()
        .find_map(|e| match e {
            SimEvent::Fill(f) => Some(f),
            _ => None,
        })
        .unwrap();
    assert!(f.maker);
    let wire = f.to_wire(&ex.rules()[2]);
    assert_eq!(wire.total, "0.0002514");
    assert_eq!(wire.fee_amount.as_deref(), Some("0.0000006285"));
    assert_eq!(wire.fee_currency.as_deref(), Some("btc"));
    assert_eq!(wire.fee.as_deref(), Some("0.0025"));
    assert_eq!(wire.taker_type, Side::Buy);
    assert_eq!(ex.order(id).unwrap().state, OrderState::Done);
}

#[test]
fn validation_uses_peatio_codes() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("100")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("59999.00", "1")], &[("60000.00", "1")]);
    let lim = |v: &str, p: &str| NewOrder::limit("btcusdt", Side::Buy, d(v), d(p));
    let bad = codes::INVALID_VOLUME_OR_PRICE;
    assert_eq!(rejected_code(&mut ex, lim("0.001", "100.001")), bad);
    assert_eq!(rejected_code(&mut ex, lim("0.0000001", "100")), bad);
    assert_eq!(
        rejected_code(&mut ex, lim("0.000001", "100")),
        bad,
        "under min_amount"
    );
    assert_eq!(rejected_code(&mut ex, lim("0.001", "0.001")), bad);
    assert_eq!(rejected_code(&mut ex, lim("0.001", "0.00")), bad, "price 0");
    assert_eq!(
        rejected_code(&mut ex, lim("0.001", "1000000.01")),
        bad,
        "over max_price"
    );
    assert_eq!(rejected_code(&mut ex, lim("-1", "100")), bad);
    let mut mkt = NewOrder::market("btcusdt", Side::Buy, d("0.001"));
    mkt.price = Some(d("100"));
    assert_eq!(rejected_code(&mut ex, mkt), codes::MARKET_ORDER_PRICE);
    assert_eq!(
        rejected_code(&mut ex, lim("1.1", "100")),
        codes::INSUFFICIENT_BALANCE
    );
    assert_eq!(
        rejected_code(
            &mut ex,
            NewOrder::limit("ethusdt", Side::Buy, d("1"), d("1"))
        ),
        codes::BOOK_NOT_SYNCED,
        "no snapshot yet for ethusdt"
    );
    assert_eq!(
        rejected_code(
            &mut ex,
            NewOrder::limit("nosuch", Side::Buy, d("1"), d("1"))
        ),
        codes::MARKET_NOT_ENABLED
    );
    // Nothing was locked by any of them.
    assert_eq!(bal(&ex, "usdt"), ("100.0".into(), "0.0".into()));

    let mut rules = load_markets(Path::new("data/markets.json")).unwrap();
    rules[0].state = MarketState::Disabled;
    let mut ex = Exchange::new(rules, FeeSchedule::default(), QueueModel::Conservative);
    assert_eq!(
        rejected_code(&mut ex, lim("1", "1")),
        codes::MARKET_NOT_ENABLED
    );
}

#[test]
fn cancel_releases_and_unknown_ids_are_refused() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("1000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("59999.00", "1")], &[("60000.00", "1")]);
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.01"), d("59000.00")),
    );
    assert_eq!(bal(&ex, "usdt"), ("410.0".into(), "590.0".into()));
    ex.cancel(20, id);
    assert_eq!(bal(&ex, "usdt"), ("1000.0".into(), "0.0".into()));
    assert_eq!(ex.order(id).unwrap().state, OrderState::Cancel);
    events(&mut ex);
    ex.cancel(21, 999);
    ex.cancel(22, id);
    let evs = events(&mut ex);
    let codes_seen: Vec<_> = evs
        .iter()
        .map(|e| match e {
            SimEvent::CancelFailed { reject, .. } => reject.code,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(codes_seen, [codes::INVALID_ID, codes::CANCEL_ERROR]);
}

#[test]
fn marketable_limit_walks_levels_with_price_improvement_and_rests_the_rest() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("60010")).unwrap();
    snapshot(
        &mut ex,
        BTCUSDT,
        &[("59990.00", "1")],
        &[("60000.00", "0.3"), ("60005.00", "0.3"), ("60020.00", "5")],
    );
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("1"), d("60010.00")),
    );
    let evs = events(&mut ex);
    assert_eq!(
        fills(&evs),
        [
            ("60000.0".into(), "0.3".into(), false, "0.00075".into()),
            ("60005.0".into(), "0.3".into(), false, "0.00075".into())
        ]
    );
    // Paid 18000 + 18001.5 of the 60010 locked; the 6.5 of price improvement stays locked
    // with the 0.4 × 60010 = 24004 of the rest until the order ends (Peatio's `strike`).
    assert_eq!(bal(&ex, "usdt"), ("0.0".into(), "24008.5".into()));
    let o = ex.order(id).unwrap();
    assert_eq!(
        (o.state, o.remaining_volume().raw()),
        (OrderState::Wait, 400_000)
    );
    assert_eq!(o.avg_price().text(), "60002.5");
    ex.accounts().check_conservation().unwrap();
}

#[test]
fn taken_liquidity_stays_taken_until_the_feed_resets_the_level() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("100000")).unwrap();
    snapshot(
        &mut ex,
        BTCUSDT,
        &[("59990.00", "1")],
        &[("60000.00", "0.3"), ("60001.00", "1")],
    );
    place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.2"), d("60000.00")),
    );
    let second = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.2"), d("60000.00")),
    );
    let f = fills(&events(&mut ex));
    assert_eq!(f.len(), 2);
    assert_eq!(f[1].1, "0.1", "only what the first left");
    assert_eq!(ex.order(second).unwrap().remaining_volume().raw(), 100_000);
    // The feed sets the level anew (someone else added volume): the resting rest crosses it.
    level(&mut ex, BTCUSDT, BookSide::Ask, "60000.00", "0.5");
    let f = fills(&events(&mut ex));
    assert_eq!(
        f,
        [("60000.0".into(), "0.1".into(), true, "0.00025".into())]
    );
}

#[test]
fn market_orders_follow_peatio() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("1000")).unwrap();
    ex.deposit("btc", d("1")).unwrap();
    snapshot(
        &mut ex,
        BTCUSDT,
        &[("59990.00", "0.5")],
        &[("60000.00", "0.01"), ("60010.00", "0.01")],
    );
    // Too thin for 0.03.
    assert_eq!(
        rejected_code(&mut ex, NewOrder::market("btcusdt", Side::Buy, d("0.03"))),
        codes::INSUFFICIENT_LIQUIDITY
    );
    assert_eq!(
        rejected_code(&mut ex, NewOrder::market("btcusdt", Side::Sell, d("0.6"))),
        codes::INSUFFICIENT_LIQUIDITY
    );
    // Estimate 600 + 600.1 = 1200.1; ×1.1 = 1320.11 > 1000 available: locks 1000. The first
    // level costs 600; the 400 left buys 400 / 60010 = 0.006665 (floored to 6 decimals) of the
    // second, and the rest is cancelled.
    let id = place(&mut ex, NewOrder::market("btcusdt", Side::Buy, d("0.02")));
    let evs = events(&mut ex);
    assert_eq!(
        fills(&evs),
        [
            ("60000.0".into(), "0.01".into(), false, "0.000025".into()),
            (
                "60010.0".into(),
                "0.006665".into(),
                false,
                "0.0000166625".into()
            )
        ]
    );
    let o = ex.order(id).unwrap();
    assert_eq!(
        (o.state, o.remaining_volume().raw()),
        (OrderState::Cancel, 3_335)
    );
    // 1000 − 600 − 399.96665 = 0.03335 back; 0.016665 BTC less 0.25 %.
    assert_eq!(bal(&ex, "usdt"), ("0.03335".into(), "0.0".into()));
    assert_eq!(bal(&ex, "btc"), ("1.0166233375".into(), "0.0".into()));
    // A market sell fills at the bid and is done.
    let id = place(&mut ex, NewOrder::market("btcusdt", Side::Sell, d("0.1")));
    assert_eq!(ex.order(id).unwrap().state, OrderState::Done);
    // 0.1 × 59990 = 5999, less 0.25 % = 5984.0025.
    assert_eq!(bal(&ex, "usdt"), ("5984.03585".into(), "0.0".into()));
    ex.accounts().check_conservation().unwrap();
}

#[test]
fn queue_position_decides_maker_fills() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("60000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("59990.00", "1")], &[("60000.00", "1")]);
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("59990.00")),
    );
    assert_eq!(ex.order(id).unwrap().queue_ahead().raw(), 1_000_000);
    events(&mut ex);
    trade(&mut ex, BTCUSDT, Side::Sell, "59990.00", "0.6");
    assert!(fills(&events(&mut ex)).is_empty());
    assert_eq!(ex.order(id).unwrap().queue_ahead().raw(), 400_000);
    // A taker buy at our price does not touch our bid.
    trade(&mut ex, BTCUSDT, Side::Buy, "59990.00", "0.6");
    assert!(fills(&events(&mut ex)).is_empty());
    trade(&mut ex, BTCUSDT, Side::Sell, "59990.00", "0.5");
    assert_eq!(
        fills(&events(&mut ex)),
        [("59990.0".into(), "0.1".into(), true, "0.00025".into())]
    );
    // Partial fill accounted: 0.1 bought, 0.4 × 59990 still locked.
    assert_eq!(bal(&ex, "usdt"), ("30005.0".into(), "23996.0".into()));
    assert_eq!(bal(&ex, "btc"), ("0.09975".into(), "0.0".into()));
    // The level update after the trade is not counted again, and a cancel elsewhere does not
    // move a conservative queue.
    level(&mut ex, BTCUSDT, BookSide::Bid, "59990.00", "0.3");
    assert_eq!(ex.order(id).unwrap().queue_ahead().raw(), 0);
    // A sell strictly through our price reached us first: its volume fills us at our price.
    trade(&mut ex, BTCUSDT, Side::Sell, "59980.00", "0.01");
    assert_eq!(
        fills(&events(&mut ex)),
        [("59990.0".into(), "0.01".into(), true, "0.000025".into())]
    );
    trade(&mut ex, BTCUSDT, Side::Sell, "59980.00", "1");
    assert_eq!(
        fills(&events(&mut ex)),
        [("59990.0".into(), "0.39".into(), true, "0.000975".into())]
    );
    assert_eq!(ex.order(id).unwrap().state, OrderState::Done);
    ex.accounts().check_conservation().unwrap();
}

#[test]
fn crossing_book_fills_resting_orders_at_their_price_up_to_what_it_shows() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("btc", d("1")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("59990.00", "1")], &[("60010.00", "1")]);
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Sell, d("0.2"), d("60005.00")),
    );
    events(&mut ex);
    level(&mut ex, BTCUSDT, BookSide::Bid, "60006.00", "0.05");
    // 0.05 × 60005 = 3000.25, less 0.25 % in USDT.
    assert_eq!(
        fills(&events(&mut ex)),
        [("60005.0".into(), "0.05".into(), true, "7.500625".into())]
    );
    // The level falls to 0.03: nothing new there (it is what we took, less what left).
    level(&mut ex, BTCUSDT, BookSide::Bid, "60006.00", "0.03");
    assert!(fills(&events(&mut ex)).is_empty());
    // It grows to 0.08: 0.05 of it is new.
    level(&mut ex, BTCUSDT, BookSide::Bid, "60006.00", "0.08");
    assert_eq!(fills(&events(&mut ex))[0].1, "0.05");
    // A bid at our very price crosses too, and fills the last 0.1.
    level(&mut ex, BTCUSDT, BookSide::Bid, "60005.00", "1");
    assert_eq!(fills(&events(&mut ex))[0].1, "0.1");
    assert_eq!(ex.order(id).unwrap().state, OrderState::Done);
    ex.accounts().check_conservation().unwrap();
}

#[test]
fn cancels_ahead_move_the_probabilistic_queue_only() {
    // We join behind 1.0; then `grow` more joins behind us and 0.4 is cancelled.
    for (model, grow, want) in [
        (QueueModel::Conservative, "2", 1_000_000),
        // front 1.0, back 1.0: half the cancel is ahead of us.
        (QueueModel::PowerProb { n: 2 }, "2", 800_000),
        // front 1.0, back 3.0: 1/(1+9) of it.
        (QueueModel::PowerProb { n: 2 }, "4", 960_000),
        // n = 3: 1/(1+27) of it, truncated.
        (QueueModel::PowerProb { n: 3 }, "4", 985_715),
    ] {
        let mut ex = exchange(FeeSchedule::default(), model);
        ex.deposit("usdt", d("60000")).unwrap();
        snapshot(&mut ex, BTCUSDT, &[("59990.00", "1")], &[("60000.00", "1")]);
        let id = place(
            &mut ex,
            NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("59990.00")),
        );
        level(&mut ex, BTCUSDT, BookSide::Bid, "59990.00", grow);
        let after: Decimal = d(grow) - d("0.4");
        level(
            &mut ex,
            BTCUSDT,
            BookSide::Bid,
            "59990.00",
            &after.to_string(),
        );
        assert_eq!(
            ex.order(id).unwrap().queue_ahead().raw(),
            want,
            "{model:?} {grow}"
        );
    }
}

#[test]
fn no_fills_or_orders_on_an_invalid_book() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("60000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("59990.00", "1")], &[("60000.00", "1")]);
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("59990.00")),
    );
    events(&mut ex);
    let gap = EventKind::Gap {
        reason: GapReason::Jump,
        expected: 2,
        got: 9,
    };
    ex.on_event(3, &ev(BTCUSDT, gap));
    trade(&mut ex, BTCUSDT, Side::Sell, "59000.00", "5");
    assert!(fills(&events(&mut ex)).is_empty());
    let r = rejected_code(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.1"), d("59990.00")),
    );
    assert_eq!(r, codes::BOOK_NOT_SYNCED);
    assert_eq!(
        ex.order(id).unwrap().state,
        OrderState::Wait,
        "resting orders stay"
    );
    snapshot(&mut ex, BTCUSDT, &[("59990.00", "1")], &[("60000.00", "1")]);
    trade(&mut ex, BTCUSDT, Side::Sell, "59000.00", "5");
    assert_eq!(fills(&events(&mut ex)).len(), 1);
}

#[test]
fn quote_fee_mode_and_tiers() {
    let fees = FeeSchedule {
        default: Rates {
            maker: 1000,
            taker: 2000,
        },
        mode: FeeMode::Quote,
        ..FeeSchedule::default()
    };
    let mut ex = exchange(fees, QueueModel::Conservative);
    ex.deposit("usdt", d("1000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("9990.00", "1")], &[("10000.00", "1")]);
    place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.05"), d("10000.00")),
    );
    // 500 + 0.2 % = 501 quote; the whole 0.05 BTC arrives.
    assert_eq!(bal(&ex, "usdt"), ("499.0".into(), "0.0".into()));
    assert_eq!(bal(&ex, "btc"), ("0.05".into(), "0.0".into()));
    assert_eq!(
        fixed::format(ex.accounts().fees("usdt"), BALANCE_SCALE),
        "1.0"
    );
    ex.accounts().check_conservation().unwrap();

    let fees = FeeSchedule {
        tiers: vec![Tier {
            min_volume: 500 * 10i128.pow(16),
            rates: Rates { maker: 0, taker: 0 },
        }],
        ..FeeSchedule::default()
    };
    let mut ex = exchange(fees, QueueModel::Conservative);
    ex.deposit("usdt", d("1000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("9990.00", "1")], &[("10000.00", "1")]);
    place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.05"), d("10000.00")),
    );
    place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.05"), d("10000.00")),
    );
    let f: Vec<_> = fills(&events(&mut ex)).into_iter().map(|f| f.3).collect();
    assert_eq!(
        f,
        ["0.000125", "0.0"],
        "the second fill is in the zero-fee tier"
    );
}

#[test]
fn latency_delays_arrival_and_answers() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("100000")).unwrap();
    let lat = Latencies {
        entry: Latency::Constant { ns: 1_000 },
        response: Latency::Constant { ns: 500 },
        feed_ns: 100,
    };
    let mut sim = Sim::new(ex, lat, 1);
    let mk = |t: i64, kind| Event {
        recv_ns: t,
        market: BTCUSDT,
        kind,
    };
    let p = |s: &str| fixed::parse_str(s, 2).unwrap();
    let a = |s: &str| fixed::parse_str(s, 6).unwrap();
    sim.on_event(&mk(10_000, EventKind::SnapshotStart { sequence: Some(1) }));
    sim.on_event(&mk(
        10_000,
        EventKind::SnapshotLevel {
            side: BookSide::Ask,
            price: p("60000"),
            amount: a("1"),
        },
    ));
    sim.on_event(&mk(10_000, EventKind::SnapshotEnd));
    let id = sim.place(NewOrder::limit("btcusdt", Side::Buy, d("0.1"), d("60000")));
    // The ask leaves at exchange time 10_950 − 100 = 10_850, before our order arrives (11_000).
    sim.on_event(&mk(
        10_950,
        EventKind::Level {
            side: BookSide::Ask,
            price: p("60000"),
            amount: 0,
            sequence: None,
        },
    ));
    sim.on_event(&mk(
        11_200,
        EventKind::Level {
            side: BookSide::Ask,
            price: p("60001"),
            amount: a("1"),
            sequence: None,
        },
    ));
    let mut out = Vec::new();
    sim.poll(&mut out);
    assert!(out.is_empty(), "the answer is still on its way at 11_200");
    sim.on_event(&mk(
        11_600,
        EventKind::Trade {
            id: 1,
            taker: Side::Buy,
            price: p("60001"),
            amount: 1,
            exch_ns: 0,
        },
    ));
    sim.poll(&mut out);
    // Placed at 10_000, arrived at 11_000, answered at 11_500: resting, not filled, with the
    // 6000 USDT it locked.
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].0, out[1].0), (11_500, 11_500));
    match &out[0].1 {
        SimEvent::Order(o) => assert_eq!(
            (o.id, o.state, o.remaining_volume().raw()),
            (id, OrderState::Wait, a("0.1"))
        ),
        other => panic!("{other:?}"),
    }
    match &out[1].1 {
        SimEvent::Balance { currency, balance } => assert_eq!(
            (currency.as_str(), balance.locked.raw()),
            ("usdt", 6_000 * 10i128.pow(BALANCE_SCALE))
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn our_own_orders_at_one_price_queue_in_time_order() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("100000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("59990.00", "1")], &[("60000.00", "1")]);
    let a = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("59990.00")),
    );
    let b = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("59990.00")),
    );
    assert_eq!(ex.order(b).unwrap().queue_ahead().raw(), 1_500_000);
    events(&mut ex);
    trade(&mut ex, BTCUSDT, Side::Sell, "59990.00", "1.2");
    let f: Vec<_> = fills(&events(&mut ex)).into_iter().map(|f| f.1).collect();
    assert_eq!(f, ["0.2"]);
    assert_eq!(ex.order(b).unwrap().queue_ahead().raw(), 300_000);
    // The feed's level falls by what traded: nobody moves twice.
    level(&mut ex, BTCUSDT, BookSide::Bid, "59990.00", "0");
    assert_eq!(ex.order(a).unwrap().queue_ahead().raw(), 0);
    assert_eq!(
        ex.order(b).unwrap().queue_ahead().raw(),
        300_000,
        "behind what is left of a"
    );
    trade(&mut ex, BTCUSDT, Side::Sell, "59990.00", "0.6");
    let f: Vec<_> = fills(&events(&mut ex))
        .into_iter()
        .map(|f| (f.1, f.2))
        .collect();
    assert_eq!(f, [("0.3".to_string(), true), ("0.3".to_string(), true)]);
    assert_eq!(ex.order(a).unwrap().state, OrderState::Done);
    assert_eq!(ex.order(b).unwrap().remaining_volume().raw(), 200_000);
}

#[test]
fn events_of_an_unknown_market_are_ignored() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    let t = EventKind::Trade {
        id: 1,
        taker: Side::Buy,
        price: 1,
        amount: 1,
        exch_ns: 0,
    };
    ex.on_event(0, &ev(MarketId(99), t));
    ex.on_event(0, &ev(MarketId(99), EventKind::SnapshotEnd));
    assert!(events(&mut ex).is_empty());
}

#[test]
fn a_watch_lets_through_every_event_that_concerns_the_orders() {
    use altsim::sim::exchange::Probe;
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("100000")).unwrap();
    ex.deposit("btc", d("2")).unwrap();
    snapshot(
        &mut ex,
        BTCUSDT,
        &[("59990.00", "1"), ("59980.00", "1")],
        &[("60010.00", "1"), ("60020.00", "1")],
    );
    // Resting at 59985 and 60015, and half of the 60010 ask taken.
    place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.1"), d("59985.00")),
    );
    place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Sell, d("0.1"), d("60015.00")),
    );
    place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("60010.00")),
    );
    events(&mut ex);
    let w = ex.watch(BTCUSDT);
    let hit = |e: &Event| {
        let mut books = ex.books().clone();
        let a = Exchange::apply_shared(&mut books, ex.rules().len(), e).unwrap();
        let hit = match Probe::of(e, a) {
            Probe::Pass => false,
            Probe::All => true,
            Probe::Level {
                side: BookSide::Bid,
                price,
                adds,
                crossed,
            } => w.bid(price, adds, crossed),
            Probe::Level {
                side: BookSide::Ask,
                price,
                adds,
                crossed,
            } => w.ask(price, adds, crossed),
            Probe::Trade { price } => w.trade(price),
        };
        (ex.concerned(e, a), hit)
    };
    let level = |side, p: i64, a: i64| {
        ev(
            BTCUSDT,
            EventKind::Level {
                side,
                price: p * 100,
                amount: a,
                sequence: None,
            },
        )
    };
    let trade = |taker, p: i64| {
        ev(
            BTCUSDT,
            EventKind::Trade {
                id: 9,
                taker,
                price: p * 100,
                amount: 10_000,
                exch_ns: 0,
            },
        )
    };
    let (mut concerned, mut passed) = (0, 0);
    for p in (59960..=60040).step_by(5) {
        for e in [
            level(BookSide::Bid, p, 0),
            level(BookSide::Bid, p, 50_000_000),
            level(BookSide::Ask, p, 0),
            level(BookSide::Ask, p, 50_000_000),
            trade(Side::Buy, p),
            trade(Side::Sell, p),
        ] {
            let (c, h) = hit(&e);
            assert!(
                h || !c,
                "{e:?} concerns the orders but the watch passed over it"
            );
            concerned += usize::from(c);
            passed += usize::from(!h);
        }
    }
    assert!(concerned > 10 && passed > 40, "{concerned} {passed}");
    // By the rules: a bid below our buy, and a trade between our orders, concern nothing; an
    // ask reaching our buy, a level of liquidity we took, and a trade at our price may.
    assert_eq!(
        hit(&level(BookSide::Bid, 59970, 50_000_000)),
        (false, false)
    );
    assert_eq!(hit(&trade(Side::Buy, 60000)), (false, false));
    assert_eq!(hit(&level(BookSide::Ask, 59985, 50_000_000)), (true, true));
    assert!(hit(&level(BookSide::Ask, 60010, 20_000_000)).1);
    assert!(hit(&trade(Side::Sell, 59985)).0);
}
