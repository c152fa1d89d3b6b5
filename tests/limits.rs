//! Every bound a scenario value is checked against refuses with a message that names the key
//! and a range that excludes the refused value: `strategy.orders[0].volume: 0 is not more than
//! 0 and at most …`, never `0 is not from 0 to …`.

use altsim::scenario;
use rust_decimal::Decimal;
use std::path::Path;
use std::str::FromStr;

/// `text` with the line that sets `key` (in the table `table`) set to `value`, or the line
/// added at the top of that table.
fn set(text: &str, table: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let (mut here, mut done) = (false, false);
    for line in text.lines() {
        let t = line.trim_start_matches("# ").trim_start();
        if t.starts_with('[') {
            if here && !done {
                out.push(format!("{key} = {value}"));
                done = true;
            }
            here = t.split('#').next().unwrap().trim() == format!("[{table}]");
            out.push(line.to_string());
            continue;
        }
        if here && !done && t.split('=').next().unwrap().trim() == key {
            out.push(format!("{key} = {value}"));
            done = true;
            continue;
        }
        out.push(line.to_string());
    }
    if !done {
        assert!(here, "no table [{table}]");
        out.push(format!("{key} = {value}"));
    }
    out.join("\n") + "\n"
}

/// A value or bound as written: a number, or a UTC time (compared as its digits, the
/// fraction padded to nine).
#[derive(Debug, PartialEq, PartialOrd)]
enum Val {
    Num(f64),
    Time(String),
}

fn number(s: &str) -> Val {
    if let Some(t) = s.strip_suffix('Z') {
        let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
        return Val::Time(format!("{hms}.{frac:0<9}"));
    }
    Val::Num(
        Decimal::from_str(s)
            .map(|d| d.try_into().unwrap())
            .unwrap_or_else(|_| s.parse().unwrap_or_else(|_| panic!("bound {s:?}"))),
    )
}

/// Whether `v` lies in the range `range` states (`from A to B`, `more than A and at most B`,
/// `at least A and less than B`, after an optional `a number of seconds `).
fn inside(v: &Val, range: &str) -> bool {
    let r = range
        .trim_start_matches("a number of seconds ")
        .trim_start_matches("a number of milliseconds ");
    let word = |s: &str| s.split([' ', ',', ')']).next().unwrap().to_string();
    let (lo, lo_in, rest) = if let Some(r) = r.strip_prefix("from ") {
        (word(r), true, r.split_once(" to ").expect(range).1)
    } else if let Some(r) = r.strip_prefix("more than ") {
        (
            word(r),
            false,
            r.split_once(" and at most ").expect(range).1,
        )
    } else if let Some(r) = r.strip_prefix("at least ") {
        let (_, rest) = r.split_once(" and less than ").expect(range);
        let (lo, hi) = (number(&word(r)), number(&word(rest)));
        return &lo <= v && v < &hi;
    } else {
        panic!("no range in {range:?}");
    };
    let (lo, hi) = (number(&lo), number(&word(rest)));
    (if lo_in { &lo <= v } else { &lo < v }) && v <= &hi
}

fn refusal(name: &str, text: &str, key: &str, value: &str) {
    let path = Path::new("scenarios").join(format!("{name}.toml"));
    let e = scenario::parse(&path, text)
        .err()
        .unwrap_or_else(|| panic!("{name}: {key} = {value} was accepted"))
        .to_string();
    assert!(e.contains(&format!(" {key}: ")), "{name}: {key}: {e}");
    let (_, after) = e.split_once(&format!(" {key}: ")).unwrap();
    let (shown, range) = after
        .split_once(" is not ")
        .unwrap_or_else(|| panic!("{name}: {key} = {value}: no range: {e}"));
    let shown = shown.trim_matches('"');
    let v = number(shown);
    assert_eq!(
        v,
        number(value.trim_matches('"')),
        "{name}: {key} = {value}: {e}"
    );
    assert!(
        !inside(&v, range),
        "{name}: {key} = {value}: the range contains it: {e}"
    );
}

#[test]
fn every_refusal_names_a_range_without_the_value() {
    let pmm = std::fs::read_to_string("scenarios/mm-tight.toml").unwrap();
    let twap = std::fs::read_to_string("scenarios/twap-buy.toml").unwrap();
    let scripted = set(pmm.split("[strategy]").next().unwrap(), "run", "seed", "1")
        + "[strategy]\nkind = \"scripted\"\n";
    let order = |field: &str, value: &str| {
        let mut o = vec![
            ("at_secs", "1"),
            ("market", "\"btcusdt\""),
            ("side", "\"buy\""),
            ("ord_type", "\"limit\""),
            ("volume", "\"0.01\""),
            ("price", "\"60000\""),
        ];
        match o.iter_mut().find(|(k, _)| *k == field) {
            Some(slot) => slot.1 = value,
            None => o.push((field, value)),
        }
        let fields: Vec<String> = o.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!("{scripted}orders = [{{ {} }}]\n", fields.join(", "))
    };
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("pmm", pmm.clone(), "strategy", "bid_spread"),
        ("pmm", pmm.clone(), "strategy", "ask_spread"),
        ("pmm", pmm.clone(), "strategy", "order_amount"),
        ("pmm", pmm.clone(), "strategy", "order_level_amount"),
        ("pmm", pmm.clone(), "strategy", "order_levels"),
        ("pmm", pmm.clone(), "strategy", "order_level_spread"),
        ("pmm", pmm.clone(), "strategy", "order_refresh_time"),
        (
            "pmm",
            pmm.clone(),
            "strategy",
            "order_refresh_tolerance_pct",
        ),
        ("pmm", pmm.clone(), "strategy", "filled_order_delay"),
        ("pmm", pmm.clone(), "strategy", "inventory_target_base_pct"),
        ("pmm", pmm.clone(), "strategy", "inventory_range_multiplier"),
        ("pmm", pmm.clone(), "strategy", "minimum_spread"),
        ("pmm", pmm.clone(), "strategy", "price_ceiling"),
        ("pmm", pmm.clone(), "strategy", "price_floor"),
        ("twap", twap.clone(), "strategy", "total_amount"),
        ("twap", twap.clone(), "strategy", "slices"),
        ("twap", twap.clone(), "strategy", "duration_secs"),
        ("twap", twap.clone(), "strategy", "limit_slippage_pct"),
        ("pmm", pmm.clone(), "balances", "usdt"),
        ("pmm", pmm.clone(), "balances", "btc"),
        ("pmm", pmm.clone(), "fees", "maker"),
        ("pmm", pmm.clone(), "fees", "taker"),
        ("pmm", pmm.clone(), "latency", "entry_ms"),
        ("pmm", pmm.clone(), "latency", "entry_jitter_ms"),
        ("pmm", pmm.clone(), "latency", "feed_ms"),
        ("pmm", pmm.clone(), "queue", "n"),
        ("pmm", pmm.clone(), "run", "seed"),
        ("pmm", pmm.clone(), "run", "equity_interval_secs"),
        ("pmm", pmm.clone(), "run", "start"),
        ("pmm", pmm.clone(), "run", "end"),
    ];
    // For each key, values just outside each of its bounds and far outside them.
    let values = |key: &str| -> Vec<&str> {
        match key {
            "order_levels" | "slices" => vec!["0", "1000001"],
            "n" => vec!["0", "4"],
            "seed" => vec!["-1", "-9223372036854775808"],
            "start" | "end" => vec![
                "\"2500-01-01T00:00:00Z\"",
                "\"2200-01-01T00:00:00.000000001Z\"",
                "\"1969-12-31T23:59:59Z\"",
            ],
            "maker" | "taker" => vec!["\"1\"", "\"-0.0001\"", "\"1.5\""],
            "entry_ms" | "entry_jitter_ms" | "feed_ms" => vec!["-1", "86400001", "1e300"],
            "order_refresh_time" => vec!["0", "1e-12", "-1", "1e300"],
            "filled_order_delay" | "duration_secs" => vec!["-1", "1e300"],
            "equity_interval_secs" => vec!["0", "0.0001", "1e300"],
            "usdt" | "btc" => vec!["\"-1\"", "8000000000000.0", "\"1000000000000000\""],
            "minimum_spread" => vec!["\"79228162514264337593543950335\"", "\"100.01\""],
            "inventory_range_multiplier" => vec!["0", "\"-1\"", "\"100000001\""],
            "price_ceiling" | "price_floor" => vec!["\"1000000000000001\""],
            "order_amount" | "total_amount" => vec!["\"0\"", "\"-1\"", "\"1000000000000001\""],
            "order_level_amount" => vec!["\"-1\"", "\"1000000000000001\""],
            _ => vec!["\"-1\"", "\"-1.5\"", "\"100.01\""],
        }
    };
    let mut checked = 0;
    for (name, text, table, key) in &cases {
        for v in values(key) {
            let text = set(text, table, key, v);
            refusal(name, &text, &format!("{table}.{key}"), v);
            checked += 1;
        }
    }
    for (field, v) in [
        ("volume", "\"0\""),
        ("volume", "\"-1\""),
        ("volume", "\"1000000000000001\""),
        ("price", "\"0\""),
        ("price", "\"-0.01\""),
        ("at_secs", "-1"),
        ("cancel_after_secs", "-1"),
    ] {
        refusal(
            "scripted",
            &order(field, v),
            &format!("strategy.orders[0].{field}"),
            v,
        );
        checked += 1;
    }
    assert!(checked >= 80, "{checked}");
}
