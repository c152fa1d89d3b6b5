//! Where the PnL came from (docs/analytics.md): a case computed by hand on a capture built
//! here, the attribution identity on every shipped scenario, and over random order flows.

mod folders;

use altsim::backtest::{run, Progress};
use altsim::report::Summary;
use altsim::scenario;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    folders::tmp("analytics", name)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// `pnl_total = hold + spread − fees + inventory`, digit for digit, and `vs_hold`.
fn assert_identity(s: &Summary) {
    let a = &s.attribution.as_ref().expect("an attribution").total;
    let sum = d(&a.hold_pnl) + d(&a.spread_pnl) - d(&a.fees_quote) + d(&a.inventory_pnl);
    assert_eq!(sum, d(&s.pnl_total), "{a:?}");
    assert_eq!(d(&a.vs_hold), d(&s.pnl_total) - d(&a.hold_pnl));
}

const T0: i64 = 1_723_161_254_000_000_000;
const S: i64 = 1_000_000_000;

/// A capture of btcusdt: (seconds from T0, frame).
fn capture(dir: &Path) -> PathBuf {
    let frames = [
        (
            0,
            r#"{"btcusdt.ob-snap":{"asks":[["102.00","5"]],"bids":[["100.00","5"]],"sequence":1}}"#,
        ),
        (
            1,
            r#"{"btcusdt.ob-inc":{"bids":["100.00","6"],"sequence":2}}"#,
        ),
        (
            2,
            r#"{"btcusdt.ob-inc":{"asks":["102.00",""],"sequence":3}}"#,
        ),
        (
            2,
            r#"{"btcusdt.ob-inc":{"asks":["104.00","5"],"sequence":4}}"#,
        ),
        (
            3,
            r#"{"btcusdt.ob-inc":{"bids":["100.00","7"],"sequence":5}}"#,
        ),
        (
            4,
            r#"{"btcusdt.ob-inc":{"bids":["99.00","1"],"sequence":6}}"#,
        ),
        (
            5,
            r#"{"btcusdt.trades":{"trades":[{"tid":1,"taker_type":"buy","date":1723161259,"price":"103.00","amount":"0.3"}]}}"#,
        ),
        (
            6,
            r#"{"btcusdt.ob-inc":{"bids":["101.00","5"],"sequence":7}}"#,
        ),
        (
            7,
            r#"{"btcusdt.ob-inc":{"asks":["104.00","6"],"sequence":8}}"#,
        ),
    ];
    let text: String = frames
        .iter()
        .map(|(t, f)| format!("{} {f}\n", T0 + t * S))
        .collect();
    let p = dir.join("tiny.ranger");
    std::fs::write(&p, text).unwrap();
    std::fs::copy("data/markets.json", dir.join("markets.json")).unwrap();
    p
}

/// A scripted scenario on the tiny capture: 10,000 USDT and 1 BTC, fees 0.1 % / 0.2 %,
/// `extra` tables, and `orders` (TOML inline tables, one a line).
fn tiny_scenario(dir: &Path, name: &str, extra: &str, orders: &[&str]) -> scenario::Scenario {
    let cap = capture(dir);
    let toml = format!(
        "[run]\ncaptures = [\"{}\"]\nout = \"out\"\n[balances]\nusdt = 10000\nbtc = 1\n\
         [fees]\nmaker = 0.001\ntaker = 0.002\n{extra}\n[strategy]\nkind = \"scripted\"\n\
         orders = [\n{},\n]\n",
        cap.file_name().unwrap().to_str().unwrap(),
        orders.join(",\n")
    );
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, toml).unwrap();
    scenario::load(&p).unwrap()
}

const BUY_1_AT_0: &str =
    r#"{ at_secs = 0, market = "btcusdt", side = "buy", ord_type = "market", volume = "1" }"#;
const SELL_HALF_AT_2: &str =
    r#"{ at_secs = 2, market = "btcusdt", side = "sell", ord_type = "market", volume = "0.5" }"#;

/// Three fills worked out by hand (the mid is 101 until 2 s, 102 until 6 s, then 102.5). An
/// order sent at an instant reaches the exchange at that time (no latency) and is matched
/// when the next instant is applied, against the book as it stood:
/// - 0 s: market buy 1 at 102, taker fee 0.002 BTC: spread −1, fee 0.202 at mid 101;
/// - 2 s: market sell 0.5 at 100, fee 0.1 USDT: spread −1; inventory 0.998 × (102 − 101);
/// - 5 s: our ask 0.2 at 103 meets a buyer's print, maker fee 0.0206: spread +0.2.
///
/// hold 1 × (102.5 − 101) = 1.5; inventory 0.998 + 0.298 × 0.5 = 1.147; fees 0.3226;
/// PnL 1.5 − 1.8 − 0.3226 + 1.147 = 0.5244. Markouts at 1 s and 4 s; the last fill's 4 s
/// horizon (9 s) is past the run's end (7 s).
#[test]
fn a_hand_computed_case() {
    let dir = tmp("hand");
    let s = tiny_scenario(
        &dir,
        "hand",
        "[report]\nmarkout_secs = [1, 4]",
        &[
            BUY_1_AT_0,
            SELL_HALF_AT_2,
            r#"{ at_secs = 3, market = "btcusdt", side = "sell", ord_type = "limit", volume = "0.2", price = "103" }"#,
        ],
    );
    let out = run(&s, None, Progress::Quiet).unwrap();
    let sum = &out.summary;
    assert_eq!(sum.fills, 3, "{sum:?}");
    let a = &sum.attribution.as_ref().unwrap().total;
    assert_eq!(d(&a.hold_pnl), d("1.5"));
    assert_eq!(d(&a.spread_pnl), d("-1.8"));
    assert_eq!(d(&a.fees_quote), d("0.3226"));
    assert_eq!(d(&a.inventory_pnl), d("1.147"));
    assert_eq!(d(&sum.pnl_total), d("0.5244"));
    assert_eq!(d(&a.vs_hold), d("-0.9756"));
    assert_identity(sum);

    let m = &sum.markouts;
    assert_eq!(m.len(), 2);
    // 1 s: the buy at 102 sees 101 (−98.0392 bps); the sells −200 (0.5 at 100, mid 102)
    // and +48.5437 (0.2 at 103, mid 102.5): (−100 + 9.70874) / 0.7 for the sells, and
    // (−98.0392 − 100 + 9.70874) / 1.7 for all.
    assert_eq!(
        (m[0].horizon_secs.as_str(), m[0].buy_bps.as_str()),
        ("1", "-98.0392")
    );
    assert_eq!(m[0].sell_bps, "-128.9875");
    assert_eq!(m[0].all_bps, "-110.7826");
    assert_eq!(
        (m[0].fills_covered, m[0].buy_fills, m[0].sell_fills),
        (3, 1, 2)
    );
    // 4 s: the buy sees 102 at 4 s (0 bps), the first sell 102.5 at 6 s: −250; the last
    // sell's horizon is past the end and is left out: −125 / 1.5 for all.
    assert_eq!(m[1].sell_bps, "-250");
    assert_eq!(m[1].all_bps, "-83.3333");
    assert_eq!((m[1].fills_covered, m[1].sell_fills), (2, 1));
    assert_eq!(m[1].buy_bps, "0");
    // Value at 1 s: −1 × 1 − 2 × 0.5 + 0.5 × 0.2 = −1.9.
    assert_eq!(d(&m[0].value_quote), d("-1.9"));

    // The rows of markouts.csv: the last one empty past the end.
    let folder = dir.join("folder");
    run(&s, Some(&folder), Progress::Quiet).unwrap();
    let text = std::fs::read_to_string(folder.join("markouts.csv")).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "trade_id,order_id,time_ns,time_utc,side,price,amount,mid_1s,bps_1s,pnl_1s,mid_4s,bps_4s,pnl_4s"
    );
    assert_eq!(rows.len(), 4);
    assert!(
        rows[2].ends_with(",sell,100.0,0.5,102.0,-200,-1.0,102.5,-250,-1.25"),
        "{}",
        rows[2]
    );
    assert!(
        rows[3].ends_with(",sell,103.0,0.2,102.5,48.5437,0.1,,,"),
        "{}",
        rows[3]
    );
    let q = sum.quoting.as_ref().unwrap();
    assert_eq!(q.round_trip_volume, "0.7");
    assert_eq!(q.fill_ratio_buy, "1");
    // -1.8 / 0.7
    assert_eq!(q.spread_pnl_per_round_trip, "-2.571429");
    // Our ask is seen resting after the instant at 4 s until the print at 5 s fills it: 1 s
    // of the 7 s run.
    assert_eq!(q.ask_presence, "0.142857");
    assert_eq!(q.bid_presence, "0");
}

#[test]
fn the_identity_holds_on_every_shipped_scenario() {
    for name in ["mm-tight", "mm-wide", "twap-buy"] {
        let s = scenario::load(Path::new(&format!("scenarios/{name}.toml"))).unwrap();
        let out = run(&s, None, Progress::Quiet).unwrap();
        assert!(out.summary.fills > 0, "{name}");
        assert_identity(&out.summary);
        // The spread term is the markout at horizon 0: the same mid, the same fills.
        let zero = out
            .summary
            .markouts
            .iter()
            .find(|m| m.horizon_secs == "0")
            .unwrap();
        assert_eq!(
            d(&zero.value_quote),
            d(&out.summary.attribution.as_ref().unwrap().total.spread_pnl),
            "{name}"
        );
        assert_eq!(
            out.summary.sharpe, None,
            "{name}: a short run is not annualized"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random scripted flows (sides, types, sizes, prices near the market, cancels, latency,
    /// both fee modes) on the first minute of the sample: the identity holds exactly.
    #[test]
    fn the_identity_holds_over_random_order_flows(
        orders in prop::collection::vec(
            (0u32..55_000, any::<bool>(), any::<bool>(), 1u32..400, -300i32..300, prop::option::of(1u32..20_000)),
            1..25,
        ),
        latency in 0u32..50,
        quote_fees in any::<bool>(),
    ) {
        let dir = tmp("props");
        let mut list = String::new();
        for (at_ms, buy, market, vol, off, cancel) in &orders {
            let side = if *buy { "buy" } else { "sell" };
            let volume = format!("0.{:05}", vol);
            let order = if *market {
                format!(r#"{{ at_secs = {}, market = "btcusdt", side = "{side}", ord_type = "market", volume = "{volume}" }}"#, *at_ms as f64 / 1000.0)
            } else {
                let price = 61_830 + off;
                let c = cancel.map_or(String::new(), |c| format!(", cancel_after_secs = {}", c as f64 / 1000.0));
                format!(r#"{{ at_secs = {}, market = "btcusdt", side = "{side}", ord_type = "limit", volume = "{volume}", price = "{price}.00"{c} }}"#, *at_ms as f64 / 1000.0)
            };
            list.push_str(&order);
            list.push_str(",\n");
        }
        let sample = std::path::absolute("data/btcusdt-20240808T2354Z.ranger.gz").unwrap();
        let toml = format!(
            r#"
[run]
captures = ["{}"]
end = "2024-08-08T23:55:14Z"
out = "out"
equity_interval_secs = 0.5
[balances]
usdt = 100000
btc = 2
[fees]
mode = "{}"
[latency]
entry_ms = {latency}
response_ms = {latency}
[strategy]
kind = "scripted"
orders = [
{list}]
"#,
            sample.display(),
            if quote_fees { "quote" } else { "received" },
        );
        let p = dir.join("flow.toml");
        std::fs::write(&p, toml).unwrap();
        let s = scenario::load(&p).unwrap();
        let out = run(&s, None, Progress::Quiet).unwrap();
        if out.summary.fills > 0 {
            assert_identity(&out.summary);
        }
    }
}

/// A live session's status line shows where the PnL stands: spread, fees and inventory.
#[test]
fn the_status_line_shows_the_sources() {
    use altsim::tape::EventStream;
    let dir = tmp("status");
    let s = tiny_scenario(&dir, "status", "", &[BUY_1_AT_0, SELL_HALF_AT_2]);
    let cap = s.captures[0].clone();
    let rules = altsim::venue::market::load_markets(&dir.join("markets.json")).unwrap();
    let mut st = EventStream::open(vec![cap], rules).unwrap();
    let markets = st.normalizer().markets().to_vec();
    let mut session = altsim::backtest::Session::open(&s, markets, Some(&dir.join("out"))).unwrap();
    let mut instant = Vec::new();
    while let Some(ev) = st.next_event().unwrap() {
        if instant
            .first()
            .is_some_and(|f: &altsim::tape::Event| f.recv_ns != ev.recv_ns)
        {
            session.instant(&instant).unwrap();
            instant.clear();
        }
        instant.push(ev);
    }
    // After the instant at 6 s (mid 102.5): spread −2, fees 0.302, inventory
    // 0.998 × (102 − 101) + 0.498 × (102.5 − 102) = 1.247; with hold 1.5, PnL 0.445.
    let line = session.status();
    assert!(
        line.contains("PnL 0.445 usdt (spread -2.00 − fees 0.30 + inventory 1.25)"),
        "{line}"
    );
}
