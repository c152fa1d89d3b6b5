//! One hand-computed case for each rule of `docs/fill-rules.md` where the paper exchange once
//! departed from Peatio.

mod common;
mod folders;

use altsim::backtest::{run, Progress};
use altsim::fixed;
use altsim::scenario;
use altsim::sim::{
    FeeSchedule, Latencies, Latency, NewOrder, OrderState, QueueModel, Sim, SimEvent,
};
use altsim::strategy::Ctx;
use altsim::tape::{BookSide, Event, EventKind, MarketId};
use altsim::venue::rest::codes;
use altsim::venue::Side;
use common::*;

const ETHUSDT: MarketId = MarketId(1);

/// Rules 7 and 8: a trade through our price fills us only when its taker is on the other side,
/// or when it shows a level the book did not, and with no more than its volume.
#[test]
fn trades_through_our_price_fill_by_taker_side() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("100000")).unwrap();
    snapshot(
        &mut ex,
        BTCUSDT,
        &[("59990.00", "1")],
        &[("60000.00", "0.3"), ("60005.00", "1")],
    );
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("60001.00")),
    );
    assert_eq!(
        fills(&events(&mut ex)),
        [("60000.0".into(), "0.3".into(), false, "0.00075".into())]
    );
    // A buyer prints at the level we just emptied: it cannot have met our bid.
    trade(&mut ex, BTCUSDT, Side::Buy, "60000.00", "0.0372");
    assert!(fills(&events(&mut ex)).is_empty());
    assert_eq!(ex.order(id).unwrap().remaining_volume().raw(), 200_000);
    // A seller prints below our bid: it met us first, with 0.05.
    trade(&mut ex, BTCUSDT, Side::Sell, "59999.00", "0.05");
    assert_eq!(
        fills(&events(&mut ex)),
        [("60001.0".into(), "0.05".into(), true, "0.000125".into())]
    );
    // A buyer prints at 59995, where no ask was shown: an ask stood within our bid, and its
    // 0.02 would have met us.
    trade(&mut ex, BTCUSDT, Side::Buy, "59995.00", "0.02");
    assert_eq!(
        fills(&events(&mut ex)),
        [("60001.0".into(), "0.02".into(), true, "0.00005".into())]
    );
    // A second print there is volume of its own: the first trade consumed what it printed.
    trade(&mut ex, BTCUSDT, Side::Buy, "59995.00", "0.03");
    assert_eq!(fills(&events(&mut ex))[0].1, "0.03");
    assert_eq!(ex.order(id).unwrap().remaining_volume().raw(), 100_000);
    ex.accounts().check_conservation().unwrap();
}

/// Rule 9: a crossing book fills our orders, best price first, with no more than it shows.
#[test]
fn crossing_volume_goes_to_our_best_order_first() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("btc", d("1")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("59990.00", "1")], &[("60010.00", "1")]);
    let worse = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Sell, d("0.1"), d("60004.00")),
    );
    let better = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Sell, d("0.1"), d("60002.00")),
    );
    events(&mut ex);
    // 0.15 bid at 60005 crosses both: 0.1 to the lower ask, the 0.05 left to the other.
    level(&mut ex, BTCUSDT, BookSide::Bid, "60005.00", "0.15");
    assert_eq!(
        fills(&events(&mut ex))
            .into_iter()
            .map(|f| (f.0, f.1))
            .collect::<Vec<_>>(),
        [
            ("60002.0".to_string(), "0.1".to_string()),
            ("60004.0".to_string(), "0.05".to_string())
        ]
    );
    assert_eq!(ex.order(better).unwrap().state, OrderState::Done);
    assert_eq!(ex.order(worse).unwrap().remaining_volume().raw(), 50_000);
    ex.accounts().check_conservation().unwrap();
}

/// Rule 12: price improvement stays locked until the order ends, as Peatio's `Order#strike`.
#[test]
fn price_improvement_is_unlocked_when_the_order_ends() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("60010")).unwrap();
    snapshot(
        &mut ex,
        BTCUSDT,
        &[("59990.00", "1")],
        &[("60000.00", "0.3"), ("60005.00", "0.3")],
    );
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("1"), d("60010.00")),
    );
    events(&mut ex);
    // 60010 locked, 36001.5 paid: 24008.5 still locked, nothing available.
    assert_eq!(bal(&ex, "usdt"), ("0.0".into(), "24008.5".into()));
    // 0.00007 × 59990 = 4.1993 would fit in the 6.5 saved, but Peatio has not freed it.
    assert_eq!(
        rejected_code(
            &mut ex,
            NewOrder::limit("btcusdt", Side::Buy, d("0.00007"), d("59990.00"))
        ),
        codes::INSUFFICIENT_BALANCE
    );
    ex.cancel(20, id);
    assert_eq!(bal(&ex, "usdt"), ("24008.5".into(), "0.0".into()));
    ex.accounts().check_conservation().unwrap();
}

/// Rule 4: a market buy clips its last fill to what its lock pays for, floored to the amount
/// precision (Peatio's `Matching::MarketOrder#volume_limit`), then cancels the rest.
#[test]
fn market_buy_fills_what_its_lock_pays_for() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("420.908458")).unwrap();
    snapshot(&mut ex, ETHUSDT, &[("2679.00", "1")], &[("2680.01", "0.5")]);
    // Estimate 0.5 × 2680.01 = 1340.005; lock min(1474.0055, 420.908458).
    let id = place(&mut ex, NewOrder::market("ethusdt", Side::Buy, d("0.5")));
    let f: Vec<_> = events(&mut ex)
        .into_iter()
        .filter_map(|e| match e {
            SimEvent::Fill(f) => Some(((f.price.raw() as i64), f.amount.raw())),
            _ => None,
        })
        .collect();
    // 420.908458 / 2680.01 = 0.157054…, floored to 5 decimals.
    assert_eq!(f, [(268_001, 15_705)]);
    let o = ex.order(id).unwrap();
    assert_eq!(
        (o.state, o.remaining_volume().raw()),
        (OrderState::Cancel, 34_295)
    );
    // Paid 0.15705 × 2680.01 = 420.8955705; 0.15705 ETH less 0.25 %.
    assert_eq!(bal(&ex, "usdt"), ("0.0128875".into(), "0.0".into()));
    assert_eq!(bal(&ex, "eth"), ("0.156657375".into(), "0.0".into()));
    ex.accounts().check_conservation().unwrap();
}

/// The amounts of the fills among `evs`.
fn filled(evs: &[SimEvent]) -> Vec<String> {
    fills(evs).into_iter().map(|f| f.1).collect()
}

/// Rules 3 and 8: what a print at a level the book never showed filled is remembered through
/// an unrelated update that crosses the book, as it is without one; only a level that empties,
/// or a snapshot, forgets it.
#[test]
fn evidence_taken_at_an_unshown_level_survives_a_crossing_update() {
    let run = |crossing: bool| {
        let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
        ex.deposit("usdt", d("1000")).unwrap();
        snapshot(&mut ex, BTCUSDT, &[("100.00", "1")], &[("102.00", "1")]);
        place(
            &mut ex,
            NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("101.50")),
        );
        events(&mut ex);
        // A buyer prints where no ask was shown: an ask stood within our bid.
        trade(&mut ex, BTCUSDT, Side::Buy, "101.00", "0.2");
        let mut got = filled(&events(&mut ex));
        if crossing {
            // A bid over the ask removes it; then a new ask. Neither concerns 101.00.
            level(&mut ex, BTCUSDT, BookSide::Bid, "102.00", "1");
            level(&mut ex, BTCUSDT, BookSide::Ask, "103.00", "1");
            level(&mut ex, BTCUSDT, BookSide::Bid, "102.00", "0");
            got.extend(filled(&events(&mut ex)));
        }
        // The book now shows 0.3 at 101.00: 0.2 of what stood there is ours already.
        level(&mut ex, BTCUSDT, BookSide::Ask, "101.00", "0.3");
        got.extend(filled(&events(&mut ex)));
        ex.accounts().check_conservation().unwrap();
        got
    };
    assert_eq!(run(false), ["0.2", "0.1"]);
    assert_eq!(run(true), run(false));
}

/// Rule 8: successive prints at a level the book never showed are each volume of their own
/// (each trade consumed what it printed), so each fills up to its own amount.
#[test]
fn successive_prints_at_an_unshown_level_are_new_volume() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("1000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("100.00", "1")], &[("102.00", "1")]);
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("2"), d("101.50")),
    );
    events(&mut ex);
    let mut got = Vec::new();
    for a in ["0.005", "0.6103", "2.086"] {
        trade(&mut ex, BTCUSDT, Side::Buy, "101.00", a);
        got.extend(filled(&events(&mut ex)));
    }
    assert_eq!(got, ["0.005", "0.6103", "1.3847"]);
    assert_eq!(ex.order(id).unwrap().state, OrderState::Done);
    ex.accounts().check_conservation().unwrap();
}

/// Rules 7 and 6: a seller that printed below our bid met every bid at our price first, so the
/// queue ahead of us there is empty afterwards.
#[test]
fn a_trade_through_our_price_empties_the_queue_ahead() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("1000")).unwrap();
    snapshot(&mut ex, BTCUSDT, &[("100.00", "1")], &[("102.00", "1")]);
    let id = place(
        &mut ex,
        NewOrder::limit("btcusdt", Side::Buy, d("0.5"), d("100.00")),
    );
    events(&mut ex);
    assert_eq!(ex.order(id).unwrap().queue_ahead().raw(), 1_000_000);
    trade(&mut ex, BTCUSDT, Side::Sell, "99.00", "0.1");
    assert_eq!(filled(&events(&mut ex)), ["0.1"]);
    assert_eq!(ex.order(id).unwrap().queue_ahead().raw(), 0);
    // So the next seller at our price meets us first.
    trade(&mut ex, BTCUSDT, Side::Sell, "100.00", "0.2");
    assert_eq!(filled(&events(&mut ex)), ["0.2"]);
    assert_eq!(ex.order(id).unwrap().remaining_volume().raw(), 200_000);
    ex.accounts().check_conservation().unwrap();
}

fn at(t: i64, kind: EventKind) -> Event {
    Event {
        recv_ns: t,
        market: BTCUSDT,
        kind,
    }
}

/// A book with `n` asks of 0.01 from 60000.00 up, one cent apart, received at `t`.
fn ladder(sim: &mut Sim, t: i64, n: i64) {
    sim.on_event(&at(t, EventKind::SnapshotStart { sequence: Some(1) }));
    for i in 0..n {
        sim.on_event(&at(
            t,
            EventKind::SnapshotLevel {
                side: BookSide::Ask,
                price: 6_000_000 + i,
                amount: 10_000,
            },
        ));
    }
    sim.on_event(&at(t, EventKind::SnapshotEnd));
}

/// What an answer says, without its time.
fn kind(e: &SimEvent) -> String {
    match e {
        SimEvent::Order(o) => format!(
            "order {} {:?} {}",
            o.id,
            o.state,
            o.remaining_volume().raw()
        ),
        SimEvent::Fill(f) => format!("fill {} {}", f.trade_id, (f.price.raw() as i64)),
        SimEvent::Balance { currency, balance } => format!("balance {currency} {balance:?}"),
        other => format!("{other:?}"),
    }
}

/// Rule 15: with jittered response latency, answers still reach the strategy in the order the
/// exchange gave them.
#[test]
fn answers_arrive_in_the_order_given() {
    let run = |response: Latency| {
        let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
        ex.deposit("usdt", d("100000")).unwrap();
        let lat = Latencies {
            entry: Latency::Constant { ns: 0 },
            response,
            feed_ns: 0,
        };
        let mut sim = Sim::new(ex, lat, 3);
        ladder(&mut sim, 1_000, 20);
        sim.place(NewOrder::limit(
            "btcusdt",
            Side::Buy,
            d("0.2"),
            d("60000.19"),
        ));
        sim.on_event(&at(2_000, EventKind::Connect));
        let mut out = Vec::new();
        sim.finish(&mut out);
        out
    };
    let given: Vec<_> = run(Latency::Constant { ns: 0 })
        .iter()
        .map(|(_, e)| kind(e))
        .collect();
    assert_eq!(given.iter().filter(|k| k.starts_with("fill")).count(), 20);
    let jittered = run(Latency::Uniform {
        min_ns: 0,
        max_ns: 5_000_000,
    });
    let times: Vec<_> = jittered.iter().map(|(t, _)| *t).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(times.last() > times.first(), "the jitter did delay answers");
    let got: Vec<_> = jittered.iter().map(|(_, e)| kind(e)).collect();
    assert_eq!(got, given);
}

/// Rule 16: the strategy's balances change when the answers reach it, not when the exchange
/// books the fill.
#[test]
fn the_strategy_sees_balances_as_answers_arrive() {
    let mut ex = exchange(FeeSchedule::default(), QueueModel::Conservative);
    ex.deposit("usdt", d("100000")).unwrap();
    let lat = Latencies {
        entry: Latency::Constant { ns: 100 },
        response: Latency::Constant { ns: 1_000 },
        feed_ns: 0,
    };
    let mut sim = Sim::new(ex, lat, 1);
    ladder(&mut sim, 10_000, 1);
    sim.place(NewOrder::limit(
        "btcusdt",
        Side::Buy,
        d("0.01"),
        d("60000.00"),
    ));
    // The order reaches the exchange at 10_100 and fills there; the answers leave for us at
    // 11_100.
    sim.on_event(&at(10_200, EventKind::Connect));
    let btc = |sim: &mut Sim| {
        let b = Ctx::new(sim).balance("btc");
        b.available.text()
    };
    assert_eq!(
        fixed::format(sim.exchange().accounts().balance("btc").available.raw(), 16),
        "0.009975"
    );
    assert_eq!(
        btc(&mut sim),
        "0.0",
        "the fill's answer is still on its way"
    );
    assert_eq!(
        Ctx::new(&mut sim).available("usdt"),
        d("100000"),
        "nor has the lock been reported"
    );
    sim.on_event(&at(11_100, EventKind::Connect));
    sim.poll(&mut Vec::new());
    assert_eq!(btc(&mut sim), "0.009975");
    assert_eq!(Ctx::new(&mut sim).available("usdt"), d("99400"));
}

/// Rule 17: one upstream update split into frames of one receive time reaches the strategy
/// whole: pure market making prices off the book after the last frame, never the crossed book
/// in between.
#[test]
fn strategies_act_after_every_event_of_an_instant() {
    let dir = folders::tmp("fill-rules", "instant");
    // The market moves from 100/101 to 105/106 at 2 s, in three frames received together: the
    // first alone leaves a crossed book (bid 105 over ask 101, mid 103).
    let capture = "\
1000000000 {\"btcusdt.ob-snap\":{\"asks\":[[\"101.00\",\"1\"]],\"bids\":[[\"100.00\",\"1\"]],\"sequence\":1}}
2000000000 {\"btcusdt.ob-inc\":{\"bids\":[\"105.00\",\"1\"],\"sequence\":2}}
2000000000 {\"btcusdt.ob-inc\":{\"asks\":[\"101.00\",\"\"],\"sequence\":3}}
2000000000 {\"btcusdt.ob-inc\":{\"asks\":[\"106.00\",\"1\"],\"sequence\":4}}
3000000000 {\"btcusdt.ob-inc\":{\"bids\":[\"99.00\",\"1\"],\"sequence\":5}}
";
    std::fs::write(dir.join("c.ranger"), capture).unwrap();
    let markets = std::fs::canonicalize("data/markets.json").unwrap();
    let toml = format!(
        r#"
[run]
captures = ["c.ranger"]
markets = "{}"
out = "out"
[balances]
usdt = "1000"
btc = "1"
[strategy]
kind = "pure_market_making"
market = "btcusdt"
bid_spread = "1"
ask_spread = "10"
order_amount = "0.001"
order_refresh_time = 1
"#,
        markets.display()
    );
    std::fs::write(dir.join("s.toml"), toml).unwrap();
    let s = scenario::load(&dir.join("s.toml")).unwrap();
    let out = run(&s, None, Progress::Quiet).unwrap();
    let tables = altsim::report::Tables::read(&out.dir).unwrap();
    let placed: Vec<_> = tables
        .orders
        .iter()
        .filter(|o| o.state == "wait" && o.executed_volume == "0.0")
        .map(|o| (o.time_ns / 1_000_000_000, o.side.as_str(), o.price.as_str()))
        .collect();
    // At 1 s: mid 100.5 → bid 99.495 → 99.49, ask 110.55. At 2 s: mid 105.5 → bid 104.445 →
    // 104.44, ask 116.05 (mid 103 would have given 101.97 and 113.3).
    assert_eq!(
        placed,
        [
            (1, "buy", "99.49"),
            (1, "sell", "110.55"),
            (2, "buy", "104.44"),
            (2, "sell", "116.05")
        ]
    );
    assert!(tables.fills.is_empty());
}
