//! Backtests from scenario files: determinism, accounting, scripted fills and bad input.

mod folders;

use folders::altsim;

use altsim::backtest::{run, Progress};
use altsim::fixed;
use altsim::report::{RunInfo, Tables};
use altsim::scenario;
use folders::files;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    folders::tmp("backtest", name)
}

#[test]
fn two_runs_write_identical_files() {
    let s = scenario::load(Path::new("scenarios/mm-tight.toml")).unwrap();
    let (a, b) = (tmp("det-a"), tmp("det-b"));
    run(&s, Some(&a), Progress::Quiet).unwrap();
    run(&s, Some(&b), Progress::Quiet).unwrap();
    let (fa, fb) = (files(&a), files(&b));
    let names: Vec<_> = fa.iter().map(|f| f.0.as_str()).collect();
    for want in [
        "fills.csv",
        "orders.csv",
        "equity.csv",
        "summary.json",
        "price.png",
        "price.svg",
        "pnl.png",
        "inventory.svg",
        "drawdown.png",
        "markouts.csv",
        "attribution.png",
        "sources.svg",
        "markouts.png",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    #[cfg(feature = "parquet")]
    assert!(names.contains(&"fills.parquet") && names.contains(&"markouts.parquet"));
    assert_eq!(fa.len(), fb.len());
    for ((na, ca), (nb, cb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ca == cb, "{na} differs between two runs");
    }
}

#[test]
fn pnl_equals_the_equity_change_recomputed_from_fills() {
    let s = scenario::load(Path::new("scenarios/mm-tight.toml")).unwrap();
    let dir = tmp("accounting");
    let out = run(&s, Some(&dir), Progress::Quiet).unwrap();
    let info = RunInfo::read(&dir).unwrap();
    let t = Tables::read(&dir).unwrap();
    assert!(t.fills.len() > 20, "a run with fills: {}", t.fills.len());
    let w = |s: &str, scale| fixed::parse_wide(s, scale).unwrap();
    let (first, last) = (t.equity.first().unwrap(), t.equity.last().unwrap());
    // Balances at the start, then every fill applied by hand.
    let (mut base, mut quote) = (w(&first.base, 16), w(&first.quote, 16));
    let total_scale = info.price_precision + info.amount_precision;
    for f in &t.fills {
        let amount = w(&f.amount, info.amount_precision) * 10i128.pow(16 - info.amount_precision);
        let total = w(&f.total, total_scale) * 10i128.pow(16 - total_scale);
        let fee = w(&f.fee, 16);
        let (fee_base, fee_quote) = if f.fee_currency == info.base_unit {
            (fee, 0)
        } else {
            (0, fee)
        };
        if f.side == "buy" {
            base += amount - fee_base;
            quote -= total + fee_quote;
        } else {
            base -= amount;
            quote += total - fee_quote;
        }
    }
    assert_eq!(fixed::format(base, 16), last.base);
    assert_eq!(fixed::format(quote, 16), last.quote);
    let mid_scale = info.price_precision + 1;
    let value = |b: i128, q: i128, mid: &str| q * 10i128.pow(mid_scale) + b * w(mid, mid_scale);
    let start = value(w(&first.base, 16), w(&first.quote, 16), &first.mid);
    let end = value(base, quote, &last.mid);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["pnl_total"],
        fixed::format(end - start, info.equity_scale)
    );
    assert_eq!(
        out.summary.pnl_total,
        fixed::format(end - start, info.equity_scale)
    );
}

const SCRIPTED: &str = r#"
[run]
captures = ["../../../../data/btcusdt-20240808T2354Z.ranger.gz"]
markets = "../../../../data/markets.json"
out = "out"

[balances]
usdt = "10000"

[strategy]
kind = "scripted"
orders = [
  { at_secs = 1, market = "btcusdt", side = "buy", ord_type = "market", volume = "0.01" },
  { at_secs = 2, market = "btcusdt", side = "buy", ord_type = "limit", volume = "0.001", price = "1000", cancel_after_secs = 1 },
  { at_secs = 3, market = "btcusdt", side = "buy", ord_type = "limit", volume = "0.0000001", price = "1000" },
]
"#;

#[test]
fn scripted_orders_fill_as_the_book_allows() {
    let dir = tmp("scripted");
    let path = dir.join("s.toml");
    std::fs::write(&path, SCRIPTED).unwrap();
    let s = scenario::load(&path).unwrap();
    let out = run(&s, None, Progress::Quiet).unwrap();
    let t = &altsim::report::Tables::read(&out.dir).unwrap();
    // The market buy took the best ask a second in (one level there covers it).
    assert_eq!(t.fills.len(), 1);
    let f = &t.fills[0];
    assert_eq!(
        (f.side.as_str(), f.amount.as_str(), f.liquidity.as_str()),
        ("buy", "0.01", "taker")
    );
    assert_eq!(f.fee, "0.000025");
    let states: Vec<_> = t
        .orders
        .iter()
        .map(|o| (o.order_id, o.state.as_str()))
        .collect();
    assert!(
        states.contains(&(2, "wait")) && states.contains(&(2, "cancel")),
        "{states:?}"
    );
    let reject = t.orders.iter().find(|o| o.order_id == 3).unwrap();
    assert_eq!(reject.state, "reject");
    assert!(
        reject
            .reason
            .starts_with("market.order.invalid_volume_or_price"),
        "{}",
        reject.reason
    );
    assert_eq!(out.summary.orders_placed, 2);
    assert!(dir.join("out/summary.json").is_file());
}

#[test]
fn bad_scenarios_give_one_line_errors() {
    let dir = tmp("bad");
    let good = std::fs::read_to_string("scenarios/mm-tight.toml")
        .unwrap()
        .replace("../", "../../../../");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown-key",
            good.replace("seed = 7", "seed = 7\nspeed = 3"),
            "unknown field `speed`",
        ),
        (
            "wrong-type",
            good.replace("order_levels = 2", "order_levels = \"two\""),
            "order_levels",
        ),
        (
            "missing-file",
            good.replace("btcusdt-*.ranger.gz", "nothing-*.gz"),
            "matches no file",
        ),
        (
            "bad-time",
            good.replace("# start = \"2024-08-08T23:55:00Z\"", "start = \"tomorrow\""),
            "run.start",
        ),
        (
            "bad-queue",
            good.replace("model = \"power_prob\"", "model = \"fifo\""),
            "queue.model",
        ),
        (
            "bad-strategy",
            good.replace("kind = \"pure_market_making\"", "kind = \"arbitrage\""),
            "unknown strategy \"arbitrage\"",
        ),
        (
            "bad-value",
            good.replace("order_amount = \"0.01\"", "order_amount = \"-1\""),
            "strategy.order_amount",
        ),
        ("not-toml", "[run\n".to_string(), "line 1"),
        (
            "negative-seed",
            good.replace("seed = 7", "seed = -1"),
            "line 9: run.seed: -1 is not from 0 to 9223372036854775807",
        ),
        (
            "jitter",
            good.replace("entry_jitter_ms = 10", "entry_jitter_ms = -1"),
            "latency.entry_jitter_ms",
        ),
        (
            "huge-latency",
            good.replace("entry_ms = 20", "entry_ms = 8e12"),
            "latency.entry_ms: 8000000000000.0 is not",
        ),
        (
            "fee-mode",
            good.replace("mode = \"received\"", "mode = 5"),
            "fees.mode: integer is not \"received\" or \"quote\"",
        ),
        (
            "tiny-interval",
            good.replace("equity_interval_secs = 1 ", "equity_interval_secs = 1e-12 "),
            "run.equity_interval_secs",
        ),
        (
            "huge-interval",
            good.replace("equity_interval_secs = 1 ", "equity_interval_secs = 1e300 "),
            "run.equity_interval_secs",
        ),
        (
            "no-such-day",
            good.replace(
                "# start = \"2024-08-08T23:55:00Z\"",
                "start = \"2024-02-30T00:00:00Z\"",
            ),
            "2024-02 has no day 30",
        ),
        (
            "june-31",
            good.replace(
                "# start = \"2024-08-08T23:55:00Z\"",
                "start = \"2024-06-31T00:00:00Z\"",
            ),
            "run.start",
        ),
        (
            "negative-hour",
            good.replace(
                "# start = \"2024-08-08T23:55:00Z\"",
                "start = \"2024-08-08T-1:00:00Z\"",
            ),
            "run.start",
        ),
        (
            "huge-balance",
            good.replace("usdt = \"100000\"", "usdt = \"10000000000000000\""),
            "balances.usdt",
        ),
        (
            "huge-amount",
            good.replace(
                "order_amount = \"0.01\"",
                "order_amount = \"79228162514264337593543950335\"",
            ),
            "strategy.order_amount",
        ),
        (
            "many-levels",
            good.replace("order_levels = 2", "order_levels = 1000000000"),
            "strategy.order_levels",
        ),
        (
            "endless-refresh",
            good.replace("order_refresh_time = 10", "order_refresh_time = inf"),
            "strategy.order_refresh_time",
        ),
        (
            "start-after-data",
            good.replace(
                "# start = \"2024-08-08T23:55:00Z\"",
                "start = \"2025-08-08T23:55:00Z\"",
            ),
            "run.start 2025-08-08 23:55:00.000 UTC is after the captures end",
        ),
        (
            "absent-market",
            good.replace("market = \"btcusdt\"", "market = \"ethusdt\""),
            "the captures hold no events of ethusdt (they hold btcusdt)",
        ),
    ];
    for (name, text, want) in cases {
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        let (ok, _, err) = altsim(&["backtest", "--quiet", p.to_str().unwrap()]);
        assert!(!ok, "{name} ran");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
        assert!(err.contains(&format!("{name}.toml")), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
    }
    // Twap and scripted limits, each naming its key and line.
    let twap = std::fs::read_to_string("scenarios/twap-buy.toml")
        .unwrap()
        .replace("../", "../../../../");
    let scripted = |orders: &str| {
        good.split("[strategy]").next().unwrap().to_string()
            + "[strategy]\nkind = \"scripted\"\n"
            + orders
    };
    let order = |extra: &str| {
        format!(
            "[[strategy.orders]]\nat_secs = 1\nmarket = \"btcusdt\"\nside = \"buy\"\n\
             ord_type = \"limit\"\nvolume = \"0.01\"\nprice = \"60000\"\n{extra}"
        )
    };
    let lines = |text: &str, key: &str| text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    let second = scripted(&(order("") + &order("cancel_after_secs = -1")));
    let cases = vec![
        (
            "twap-duration",
            twap.replace("duration_secs = ", "duration_secs = 1e300 #"),
            "strategy.duration_secs".to_string(),
        ),
        (
            "cancel-nan",
            scripted(&order("cancel_after_secs = nan")),
            "strategy.orders[0].cancel_after_secs: NaN is not".to_string(),
        ),
        (
            "cancel-inf",
            scripted(&order("cancel_after_secs = inf")),
            "strategy.orders[0].cancel_after_secs".to_string(),
        ),
        (
            "second-order",
            second.clone(),
            format!(
                "line {}: strategy.orders[1].cancel_after_secs",
                lines(&second, "cancel_after_secs = -1")
            ),
        ),
    ];
    for (name, text, want) in cases {
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        let (ok, _, err) = altsim(&["backtest", "--quiet", p.to_str().unwrap()]);
        assert!(!ok, "{name} ran");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
        assert!(err.contains(&want), "{name}: {err}");
    }
    let (ok, _, err) = altsim(&["backtest", "no/such.toml"]);
    assert!(!ok && err.contains("no/such.toml"), "{err}");
}

#[test]
fn report_renders_again_and_compares() {
    let s = scenario::load(Path::new("scenarios/mm-tight.toml")).unwrap();
    let (a, b) = (tmp("report-a"), tmp("report-b"));
    run(&s, Some(&a), Progress::Quiet).unwrap();
    let w = scenario::load(Path::new("scenarios/mm-wide.toml")).unwrap();
    run(&w, Some(&b), Progress::Quiet).unwrap();
    let before = std::fs::read(a.join("summary.json")).unwrap();
    let png = std::fs::read(a.join("pnl.png")).unwrap();
    std::fs::remove_file(a.join("summary.json")).unwrap();
    std::fs::remove_file(a.join("pnl.png")).unwrap();
    let (ok, out, err) = altsim(&["report", a.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("PnL"), "{out}");
    assert_eq!(std::fs::read(a.join("summary.json")).unwrap(), before);
    assert_eq!(std::fs::read(a.join("pnl.png")).unwrap(), png);
    // The analytics and their charts come back from the run's own record of them.
    for f in ["attribution.png", "markouts.svg"] {
        assert!(a.join(f).is_file(), "{f}");
    }
    let t = scenario::load(Path::new("scenarios/twap-buy.toml")).unwrap();
    let c = tmp("report-c");
    run(&t, Some(&c), Progress::Quiet).unwrap();
    let cmp = tmp("report-cmp");
    let (ok, out, err) = altsim(&[
        "report",
        "--compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
        "--out",
        cmp.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    for f in [
        "compare.png",
        "compare.svg",
        "compare-markouts.png",
        "compare-markouts.svg",
    ] {
        assert!(cmp.join(f).is_file(), "{f}");
    }
    // One column a run, each value its own summary's.
    let table = std::fs::read_to_string(cmp.join("compare.csv")).unwrap();
    let row = |label: &str| -> Vec<String> {
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("{label},")))
            .unwrap_or_else(|| panic!("no {label} in {table}"));
        line.split(',').skip(1).map(str::to_string).collect()
    };
    assert_eq!(row("run"), ["report-a", "report-b", "report-c"]);
    let summaries: Vec<altsim::report::Summary> = [&a, &b, &c]
        .iter()
        .map(|d| {
            serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap()
        })
        .collect();
    let want: Vec<String> = summaries.iter().map(|s| s.pnl_total.clone()).collect();
    assert_eq!(row("pnl_total"), want);
    let want: Vec<String> = summaries
        .iter()
        .map(|s| s.attribution.as_ref().unwrap().total.spread_pnl.clone())
        .collect();
    assert_eq!(row("spread_pnl"), want);
    assert!(out.contains("markout_10s_bps"), "{out}");
    let (ok, _, err) = altsim(&["report", "--compare", a.to_str().unwrap()]);
    assert!(!ok, "one folder is no comparison: {err}");
    let (ok, _, err) = altsim(&["report", "/nonexistent/folder"]);
    assert!(!ok && err.contains("run.json"), "{err}");
}

#[test]
fn scripted_orders_from_a_csv_alone() {
    let dir = tmp("scripted-csv");
    std::fs::write(
        dir.join("o.csv"),
        "at_secs,market,side,ord_type,volume,price,cancel_after_secs\n\
         1,btcusdt,buy,market,0.01,,\n\
         2,btcusdt,buy,limit,0.001,1000,1\n\
         3,btcusdt,buy,limit,0.0000001,1000,\n",
    )
    .unwrap();
    let head = SCRIPTED.split("orders = [").next().unwrap();
    std::fs::write(dir.join("s.toml"), format!("{head}csv = \"o.csv\"\n")).unwrap();
    let s = scenario::load(&dir.join("s.toml")).unwrap();
    let from_csv = run(&s, None, Progress::Quiet).unwrap();
    let inline = tmp("scripted-inline");
    std::fs::write(inline.join("s.toml"), SCRIPTED).unwrap();
    let s = scenario::load(&inline.join("s.toml")).unwrap();
    let from_toml = run(&s, None, Progress::Quiet).unwrap();
    assert_eq!(from_csv.summary.fills, 1);
    for t in ["fills.csv", "orders.csv", "equity.csv"] {
        assert_eq!(
            std::fs::read(from_csv.dir.join(t)).unwrap(),
            std::fs::read(from_toml.dir.join(t)).unwrap(),
            "{t}"
        );
    }
    // A bad row names the file, its line and the column.
    std::fs::write(
        dir.join("o.csv"),
        "at_secs,market,side,ord_type,volume,price,cancel_after_secs\n\
         1,btcusdt,buy,market,0.01,,\n\
         2,btcusdt,buy,limit,0.001,1000,inf\n",
    )
    .unwrap();
    let e = scenario::load(&dir.join("s.toml")).unwrap_err().to_string();
    assert!(
        e.contains("o.csv: line 3: cancel_after_secs: inf is not"),
        "{e}"
    );
    std::fs::write(dir.join("o.csv"), "at_secs,market,side\n1,btcusdt,up\n").unwrap();
    let e = scenario::load(&dir.join("s.toml")).unwrap_err().to_string();
    assert!(e.contains("o.csv: line 2:") && e.contains("`up`"), "{e}");
}

/// The first `n` lines of the shipped sample.
fn sample_lines(n: usize) -> Vec<String> {
    use std::io::BufRead;
    let f = std::fs::File::open("data/btcusdt-20240808T2354Z.ranger.gz").unwrap();
    std::io::BufReader::new(flate2::read::GzDecoder::new(f))
        .lines()
        .take(n)
        .map(|l| l.unwrap())
        .collect()
}

fn scenario_on(dir: &Path, captures: &[&str]) -> scenario::Scenario {
    let text = std::fs::read_to_string("scenarios/mm-tight.toml")
        .unwrap()
        .replace(
            "captures = [\"../data/btcusdt-*.ranger.gz\"]",
            &format!("captures = {captures:?}"),
        )
        .replace("../data/markets.json", "../../../../data/markets.json")
        .replace("../results/mm-tight", "out")
        .replace("equity_interval_secs = 1 ", "equity_interval_secs = 60 ");
    std::fs::write(dir.join("s.toml"), text).unwrap();
    scenario::load(&dir.join("s.toml")).unwrap()
}

#[test]
fn data_problems_are_reported_in_the_summary() {
    let dir = tmp("data-warnings");
    let mut lines = sample_lines(4000);
    // A malformed frame, and a jump of 30 days in receive time from line 3000 on.
    lines.insert(
        1500,
        "1723161300000000000 {\"btcusdt.ob-inc\":{\"asks\":[".into(),
    );
    for l in lines.iter_mut().skip(3000) {
        let (t, rest) = l.split_once(' ').unwrap();
        let t: i64 = t.parse().unwrap();
        *l = format!("{} {rest}", t + 30 * 86_400_000_000_000);
    }
    std::fs::write(dir.join("cap.ranger"), lines.join("\n") + "\n").unwrap();
    let s = scenario_on(&dir, &["cap.ranger"]);
    let out = run(&s, None, Progress::Quiet).unwrap();
    let w = &out.summary.data_warnings;
    assert!(
        w.iter().any(|x| x.contains("cap.ranger:1501:")),
        "the malformed frame: {w:?}"
    );
    assert!(
        w.iter()
            .any(|x| x.contains("cap.ranger:3001: receive time jumps 25919")),
        "the time jump: {w:?}"
    );
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.dir.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(on_disk["data_warnings"].as_array().unwrap().len(), w.len());
    // The CLI prints each one.
    let (ok, _, err) = altsim(&["backtest", "--quiet", dir.join("s.toml").to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(err.lines().count(), w.len(), "{err}");
    // Equity rows cover the data, not the thirty silent days (43,200 rows at one a minute).
    let t = altsim::report::Tables::read(&out.dir).unwrap();
    assert!(t.equity.len() < 20, "{} rows", t.equity.len());
    let last = t.equity.last().unwrap().time_ns;
    assert!(last > 1_723_161_254_000_000_000 + 30 * 86_400_000_000_000);
}

#[test]
fn captures_given_out_of_order_run_in_time_order() {
    let dir = tmp("out-of-order");
    let lines = sample_lines(4000);
    std::fs::write(dir.join("a.ranger"), lines[..2500].join("\n") + "\n").unwrap();
    std::fs::write(dir.join("b.ranger"), lines[2500..].join("\n") + "\n").unwrap();
    std::fs::write(dir.join("all.ranger"), lines.join("\n") + "\n").unwrap();
    let s = scenario_on(&dir, &["b.ranger", "a.ranger"]);
    let split = run(&s, None, Progress::Quiet).unwrap().summary;
    let s = scenario_on(&dir, &["all.ranger"]);
    let whole = run(&s, None, Progress::Quiet).unwrap().summary;
    assert_eq!(split.pnl_total, whole.pnl_total);
    assert_eq!(split.fills, whole.fills);
    assert_eq!(split.events, whole.events);
}

#[test]
fn a_failed_run_leaves_the_previous_results_whole() {
    let dir = tmp("rerun");
    let s = scenario_on(&dir, &["../../../../data/btcusdt-20240808T2354Z.ranger.gz"]);
    run(&s, None, Progress::Quiet).unwrap();
    let before = files(&s.out);
    assert!(before.len() >= 8, "{before:?}");
    // The same folder, a run that fails once it has started writing: at the largest balance,
    // its equity at a bid of 9 × 10^16 cannot be held at the market's precision.
    let mut lines = sample_lines(4000);
    let t: i64 = lines[3999].split_once(' ').unwrap().0.parse().unwrap();
    for (dt, side, price) in [
        (1, "asks", "90000000000000001.00"),
        (2, "bids", "90000000000000000.00"),
        (120_000_000_000, "bids", "1.00"),
    ] {
        let t = t + dt;
        lines.push(format!(
            "{t} {{\"btcusdt.ob-inc\":{{\"{side}\":[\"{price}\",\"1\"]}}}}"
        ));
    }
    std::fs::write(dir.join("cap.ranger"), lines.join("\n") + "\n").unwrap();
    let text = std::fs::read_to_string(dir.join("s.toml"))
        .unwrap()
        .replace(
            "../../../../data/btcusdt-20240808T2354Z.ranger.gz",
            "cap.ranger",
        )
        .replace(
            "btc = \"1\"",
            &format!("btc = \"{}\"", altsim::bounds::MAX_BALANCE),
        );
    std::fs::write(dir.join("s.toml"), text).unwrap();
    let s = scenario::load(&dir.join("s.toml")).unwrap();
    let e = run(&s, None, Progress::Quiet).err().expect("the run fails");
    assert!(
        matches!(e, altsim::backtest::BacktestError::EquityOverflow { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("does not fit 128 bits"), "{e}");
    assert_eq!(
        files(&s.out),
        before,
        "old results untouched, no temporary files left"
    );
}
