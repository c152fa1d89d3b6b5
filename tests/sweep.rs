//! Sweeps: every run is the backtest of its derived scenario, byte for byte, and the results
//! do not depend on how many run at once.

mod folders;

use altsim::backtest::{run_from, Progress};
use altsim::sweep::{shard, Options};
use folders::files;
use std::path::{Path, PathBuf};

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn tmp(name: &str) -> PathBuf {
    folders::tmp("sweep", name)
}

/// A sweep of mm-tight over two refresh times × two spread pairs, on a copy of the sample.
fn setup(dir: &Path, top: usize) -> PathBuf {
    std::fs::copy(SAMPLE, dir.join("cap.ranger.gz")).unwrap();
    std::fs::copy("data/markets.json", dir.join("markets.json")).unwrap();
    let base = std::fs::read_to_string("scenarios/mm-tight.toml")
        .unwrap()
        .replace("../data/btcusdt-*.ranger.gz", "cap.ranger.gz")
        .replace("../data/markets.json", "markets.json")
        .replace(
            "# end = \"2024-08-09T00:05:00Z\"",
            "end = \"2024-08-08T23:58:00Z\"",
        );
    std::fs::write(dir.join("base.toml"), base).unwrap();
    let sweep = format!(
        "base = \"base.toml\"\nout = \"out\"\ntop = {top}\n\
         [grid]\n\"strategy.order_refresh_time\" = [5, 30]\n\
         [zip]\n\"strategy.bid_spread\" = [\"0.01\", \"0.05\"]\n\"strategy.ask_spread\" = [\"0.01\", \"0.05\"]\n"
    );
    let p = dir.join("sweep.toml");
    std::fs::write(&p, sweep).unwrap();
    p
}

#[test]
fn every_run_is_its_scenario_s_backtest_whatever_the_jobs() {
    let dir = tmp("jobs");
    let path = setup(&dir, 2);
    let mut sweep = altsim::sweep::load(&path).unwrap();
    assert_eq!(sweep.plan.runs.len(), 4);
    let opts = |jobs, keep_all| Options {
        jobs,
        keep_all,
        ..Options::default()
    };
    let one = sweep.run(&opts(1, true)).unwrap();
    let csv_one = std::fs::read(dir.join("out/runs.csv")).unwrap();
    let runs_one: Vec<_> = (1..=4)
        .map(|i| files(&dir.join(format!("out/runs/run-{i:05}"))))
        .collect();
    sweep.out = dir.join("out2");
    let two = sweep.run(&opts(2, false)).unwrap();
    assert_eq!(csv_one, std::fs::read(dir.join("out2/runs.csv")).unwrap());
    for name in ["runs.parquet", "top-pnl.png", "top-pnl.svg"] {
        let a = std::fs::read(dir.join("out").join(name)).unwrap();
        assert!(
            a == std::fs::read(dir.join("out2").join(name)).unwrap(),
            "{name} differs"
        );
    }
    let heat = std::fs::read(dir.join("out/heatmap.png")).unwrap();
    assert!(heat.starts_with(b"\x89PNG"));
    assert_eq!(heat, std::fs::read(dir.join("out2/heatmap.png")).unwrap());
    assert_eq!(one.len(), two.len());
    // Only the top two result folders are kept without --keep-runs.
    let kept: Vec<String> = sweep
        .plan
        .ranked(&two)
        .iter()
        .take(2)
        .map(|r| r.name.clone())
        .collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir.join("out2/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut want = kept.clone();
    want.sort();
    assert_eq!(on_disk, want);
    // The kept folders are those of the sweep that wrote every run's folder.
    for name in &kept {
        assert!(
            files(&dir.join("out2/runs").join(name)) == files(&dir.join("out/runs").join(name)),
            "{name} differs between the sweeps"
        );
    }
    // Run 3's scenario, backtested alone, writes its folder's bytes.
    let s = altsim::scenario::load(&dir.join("out/scenarios/run-00003.toml")).unwrap();
    let alone = dir.join("alone");
    run_from(&s, Some(&alone), Progress::Quiet, false).unwrap();
    assert!(
        files(&alone) == runs_one[2],
        "run-00003 differs from its backtest"
    );
    // The runs differ (the sweep varies something), and the CSV has a row each.
    assert!(runs_one[0] != runs_one[3]);
    let csv = String::from_utf8(csv_one).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.starts_with(
        "run,strategy.order_refresh_time,strategy.ask_spread,strategy.bid_spread,pnl_total,"
    ));
    assert!(csv.contains("\nrun-00004,30,0.05,0.05,"), "{csv}");
}

#[test]
fn bad_sweeps_are_refused_with_their_key() {
    let dir = tmp("bad");
    let path = setup(&dir, 2);
    let good = std::fs::read_to_string(&path).unwrap();
    for (text, want) in [
        (
            good.replace(
                "[\"0.01\", \"0.05\"]\n\"strategy.ask",
                "[\"0.01\"]\n\"strategy.ask",
            ),
            "zip",
        ),
        (
            good.replace("top = 2", "top = 2\nmetric = \"luck\""),
            "metric",
        ),
        (good.replace("[5, 30]", "[5, -1]"), "order_refresh_time"),
        (good.replace("[5, 30]", "[]"), "no values"),
    ] {
        std::fs::write(&path, &text).unwrap();
        let e = altsim::sweep::load(&path).unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
    }
}

#[test]
fn three_shards_merged_are_one_process() {
    let dir = tmp("shards");
    let path = setup(&dir, 1);
    let mut sweep = altsim::sweep::load(&path).unwrap();
    sweep.out = dir.join("whole");
    sweep.run(&Options::default()).unwrap();
    let mut parts = Vec::new();
    let mut seen = Vec::new();
    for k in 0..3 {
        sweep.out = dir.join(format!("part{k}"));
        let got = sweep
            .run(&Options {
                shard: Some((k, 3)),
                ..Options::default()
            })
            .unwrap();
        // A stable subset: the runs whose index is k modulo 3.
        let names: Vec<String> = got.iter().map(|r| r.name.clone()).collect();
        let want: Vec<String> = (0..4)
            .filter(|i| i % 3 == k)
            .map(altsim::sweep::run_name)
            .collect();
        assert_eq!(names, want);
        seen.extend(names);
        parts.push(sweep.out.clone());
    }
    seen.sort();
    assert_eq!(seen.len(), 4);
    // The merge needs only the parts: the sweep file is gone.
    std::fs::remove_file(&path).unwrap();
    let merged = dir.join("merged");
    altsim::sweep::merge(&parts, &merged).unwrap();
    let whole = dir.join("whole");
    let mut names = vec![
        "runs.csv",
        "plan.toml",
        "heatmap.png",
        "top-pnl.png",
        "top-pnl.svg",
    ];
    if cfg!(feature = "parquet") {
        names.push("runs.parquet");
    }
    for name in names {
        assert!(
            std::fs::read(whole.join(name)).unwrap() == std::fs::read(merged.join(name)).unwrap(),
            "{name} differs"
        );
    }
    for sub in ["summaries", "scenarios"] {
        assert!(
            files(&whole.join(sub)) == files(&merged.join(sub)),
            "{sub} differs"
        );
    }
    let listing = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d.join("runs"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(listing(&whole), listing(&merged));
    assert_eq!(listing(&whole).len(), 1);
    for run in listing(&whole) {
        let sub = Path::new("runs").join(run);
        assert!(
            files(&whole.join(&sub)) == files(&merged.join(&sub)),
            "{} differs",
            sub.display()
        );
    }
    // Merging into one of the parts is refused, and leaves it whole.
    let before = files(&parts[0].join("summaries"));
    use altsim::sweep::{MergeError, SweepError};
    let e = altsim::sweep::merge(&parts, &parts[0]).unwrap_err();
    assert!(
        matches!(e, SweepError::Merge(MergeError::OutIsAPart(_))),
        "{e}"
    );
    assert!(e.to_string().contains("one of the parts"), "{e}");
    assert!(files(&parts[0].join("summaries")) == before);
    // A missing part is an error naming the run.
    let e = altsim::sweep::merge(&parts[..2], &dir.join("m2")).unwrap_err();
    assert!(
        matches!(&e, SweepError::Merge(MergeError::NoRun { name, .. }) if name == "run-00003"),
        "{e}"
    );
    assert!(e.to_string().contains("run-00003"), "{e}");
    // So is a part of another sweep, or a folder that is no sweep's.
    let plan = parts[1].join("plan.toml");
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(&plan, text.replace("top = 1", "top = 2")).unwrap();
    let e = altsim::sweep::merge(&parts, &dir.join("m3")).unwrap_err();
    assert!(
        matches!(e, SweepError::Merge(MergeError::OtherSweeps(..))),
        "{e}"
    );
    assert!(e.to_string().contains("different sweeps"), "{e}");
    std::fs::remove_file(&plan).unwrap();
    let e = altsim::sweep::merge(&parts, &dir.join("m4")).unwrap_err();
    assert!(matches!(e, SweepError::NoPlan { .. }), "{e}");
    assert!(e.to_string().contains("plan.toml"), "{e}");
}

#[test]
fn resume_skips_the_runs_already_done() {
    let dir = tmp("resume");
    let path = setup(&dir, 4);
    let mut sweep = altsim::sweep::load(&path).unwrap();
    sweep.out = dir.join("out");
    let first = sweep.run(&Options::default()).unwrap();
    let csv = std::fs::read(dir.join("out/runs.csv")).unwrap();
    // A run killed before it saved its summary: only it runs again.
    let gone = dir.join("out/summaries/run-00002.json");
    std::fs::remove_file(&gone).unwrap();
    let stamp = |p: &str| std::fs::metadata(dir.join(p)).unwrap().modified().unwrap();
    let before = stamp("out/summaries/run-00001.json");
    let again = sweep
        .run(&Options {
            resume: true,
            ..Options::default()
        })
        .unwrap();
    assert!(gone.exists());
    assert_eq!(
        stamp("out/summaries/run-00001.json"),
        before,
        "run 1 was not run again"
    );
    assert_eq!(first.len(), again.len());
    assert_eq!(csv, std::fs::read(dir.join("out/runs.csv")).unwrap());
    // Stopped (as by Ctrl-C) before the runs left: no run starts, the tables hold the runs
    // done, and a resume completes them.
    std::fs::remove_file(&gone).unwrap();
    std::fs::remove_file(dir.join("out/runs.csv")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let e = sweep
        .run(&Options {
            resume: true,
            stop: Some(stop),
            ..Options::default()
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("interrupted: 3 of 4 runs done"), "{e}");
    assert!(!gone.exists());
    let partial = std::fs::read_to_string(dir.join("out/runs.csv")).unwrap();
    assert_eq!(partial.lines().count(), 1 + 3);
    assert!(!partial.contains("run-00002"));
    sweep
        .run(&Options {
            resume: true,
            ..Options::default()
        })
        .unwrap();
    assert_eq!(csv, std::fs::read(dir.join("out/runs.csv")).unwrap());
    // Another sweep does not resume from these summaries.
    let mut other = sweep.clone();
    other.plan.runs.truncate(2);
    let e = other
        .run(&Options {
            resume: true,
            ..Options::default()
        })
        .unwrap_err();
    assert!(matches!(e, altsim::sweep::SweepError::OtherSweep(_)), "{e}");
    assert!(e.to_string().contains("another sweep"), "{e}");
}

#[test]
fn the_shard_comes_from_the_flag_or_the_batch_engine() {
    let none = |_: &str| None;
    assert_eq!(shard(None, None, none).unwrap(), None);
    assert_eq!(shard(Some("2/5"), None, none).unwrap(), Some((2, 5)));
    assert!(shard(Some("5/5"), None, none).is_err());
    assert!(shard(Some("x"), None, none).is_err());
    let k8s = |k: &str| (k == "JOB_COMPLETION_INDEX").then(|| "3".to_string());
    assert_eq!(shard(None, Some(4), k8s).unwrap(), Some((3, 4)));
    let slurm = |k: &str| (k == "SLURM_ARRAY_TASK_ID").then(|| "0".to_string());
    assert_eq!(shard(None, Some(2), slurm).unwrap(), Some((0, 2)));
    let e = shard(None, Some(2), none).unwrap_err();
    assert_eq!(e, altsim::sweep::ShardError::NoIndex);
    assert!(e.to_string().contains("JOB_COMPLETION_INDEX"));
    assert!(shard(None, Some(3), k8s).is_err(), "index 3 of 3");
    assert!(shard(Some("0/2"), Some(2), k8s).is_err());
}

/// `runs.parquet` is typed (whole numbers, decimals at their scale, no floats), and `sweep
/// report` ranks and groups it as the sweep ranked its runs.
#[cfg(feature = "parquet")]
#[test]
fn runs_parquet_is_typed_and_reported() {
    use polars::prelude::*;
    let dir = tmp("report");
    let path = setup(&dir, 2);
    let sweep = altsim::sweep::load(&path).unwrap();
    let results = sweep.run(&Options::default()).unwrap();
    let out = dir.join("out");
    let f = std::fs::File::open(out.join("runs.parquet")).unwrap();
    let df = ParquetReader::new(f).finish().unwrap();
    assert_eq!(df.height(), 4);
    let dtype = |c: &str| df.column(c).unwrap().dtype().clone();
    assert_eq!(dtype("run"), DataType::String);
    assert_eq!(dtype("strategy.order_refresh_time"), DataType::Int64);
    assert_eq!(
        dtype("strategy.bid_spread"),
        DataType::Decimal(Some(38), Some(2))
    );
    assert_eq!(dtype("fills"), DataType::Int64);
    assert!(matches!(
        dtype("pnl_total"),
        DataType::Decimal(Some(38), Some(_))
    ));
    for c in df.get_columns() {
        assert!(!c.dtype().is_float(), "{}: a float", c.name());
    }
    let ranked = sweep.plan.ranked(&results);
    let text = altsim::sweep::report(&out, "pnl_total", 1, None).unwrap();
    let first = text.lines().nth(2).unwrap();
    assert!(
        first.starts_with(&format!("1     {}", ranked[0].name)),
        "{text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    let by =
        altsim::sweep::report(&out, "pnl_total", 10, Some("strategy.order_refresh_time")).unwrap();
    let rows: Vec<&str> = by.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{by}");
    for (row, refresh) in rows.iter().zip(["5", "30"]) {
        let best = ranked
            .iter()
            .find(|r| altsim::sweep::plain(&r.values[0]) == refresh)
            .unwrap();
        assert!(row.starts_with(refresh) && row.contains(&best.name), "{by}");
        assert!(row.ends_with(" 2"), "two runs each: {by}");
    }
    let bad = altsim::sweep::report(&out, "luck", 1, None)
        .unwrap_err()
        .to_string();
    assert!(bad.contains("no column \"luck\""), "{bad}");
}

/// A sweep file named without a folder, from its own folder, as a user types it.
#[test]
fn a_sweep_file_named_bare_runs_from_its_folder() {
    let dir = tmp("bare");
    setup(&dir, 1);
    let (ok, _, err) = folders::altsim_in(&dir, &["sweep", "sweep.toml", "--quiet", "--jobs", "1"]);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(dir.join("out/runs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
}

#[test]
fn runs_sharing_one_pass_over_the_book_are_the_runs_alone() {
    let dir = tmp("together");
    setup(&dir, 1);
    let mm = std::fs::read_to_string(dir.join("base.toml"))
        .unwrap()
        .replace("end = \"2024-08-08T23:58:00Z\"", "# no end");
    let twap = std::fs::read_to_string("scenarios/twap-buy.toml")
        .unwrap()
        .replace("../data/btcusdt-20240808T2354Z.ranger.gz", "cap.ranger.gz")
        .replace("../data/markets.json", "markets.json");
    // Runs that differ in everything a sweep can vary beside the market data: spreads and
    // refresh, latencies (none at all too), the queue model, fees, balances too small for
    // some orders, a later start, and other strategies, market orders included.
    let variants = [
        mm.clone(),
        mm.replace("bid_spread = \"0.01\"", "bid_spread = \"0.002\"")
            .replace("ask_spread = \"0.01\"", "ask_spread = \"0.003\"")
            .replace("order_refresh_time = 10", "order_refresh_time = 2"),
        mm.replace("entry_ms = 20", "entry_ms = 0")
            .replace("entry_jitter_ms = 10", "entry_jitter_ms = 0")
            .replace("response_ms = 20", "response_ms = 0")
            .replace("feed_ms = 5", "feed_ms = 0")
            .replace("model = \"power_prob\"", "model = \"conservative\""),
        mm.replace("feed_ms = 5", "feed_ms = 250")
            .replace("mode = \"received\"", "mode = \"quote\"")
            .replace("usdt = \"100000\"", "usdt = \"700\"")
            .replace("seed = 7", "seed = 8"),
        mm.replace(
            "# start = \"2024-08-08T23:55:00Z\"",
            "start = \"2024-08-08T23:59:00Z\"",
        ),
        twap.clone(),
        twap.replace("order_type = \"limit\"", "order_type = \"market\"")
            .replace("side = \"buy\"", "side = \"sell\"")
            .replace("usdt = \"200000\"", "btc = \"3\""),
    ];
    let parse = |i: usize, text: &str| {
        let p = dir.join(format!("v{i}.toml"));
        std::fs::write(&p, text).unwrap();
        altsim::scenario::parse(&p, text).unwrap()
    };
    let mut scenarios: Vec<_> = variants
        .iter()
        .enumerate()
        .map(|(i, t)| parse(i, t))
        .collect();
    let rules = altsim::venue::market::default_markets(
        scenarios[0].markets.as_deref(),
        &scenarios[0].captures,
    )
    .unwrap();
    let store = altsim::tape::cache::EventStore::load(&scenarios[0].captures, rules, u64::MAX)
        .unwrap()
        .unwrap();
    // Orders that join the feed's busiest levels, so that the feed moves their queues.
    let mut updates = std::collections::BTreeMap::new();
    for ev in store.events() {
        if let altsim::tape::EventKind::Level { side, price, .. } = ev.kind {
            *updates
                .entry((side == altsim::tape::BookSide::Bid, price))
                .or_insert(0) += 1;
        }
    }
    let mut busy: Vec<_> = updates.into_iter().collect();
    busy.sort_by_key(|&(level, n)| (std::cmp::Reverse(n), level));
    let pp = store.markets()[0].price_precision;
    let orders: Vec<String> = busy[..12]
        .iter()
        .enumerate()
        .map(|(k, &((bid, price), _))| {
            format!(
                "{{ at_secs = {}, market = \"btcusdt\", side = \"{}\", ord_type = \"limit\", \
                 volume = \"0.01\", price = \"{}\", cancel_after_secs = 200 }}",
                5 + 20 * k,
                if bid { "buy" } else { "sell" },
                rust_decimal::Decimal::new(price, pp)
            )
        })
        .collect();
    let scripted = format!(
        "[run]\ncaptures = [\"cap.ranger.gz\"]\nmarkets = \"markets.json\"\nout = \"out\"\n\
         [balances]\nusdt = \"100000\"\nbtc = \"1\"\n[latency]\nfeed_ms = 5\n\
         [queue]\nmodel = \"power_prob\"\n\
         [strategy]\nkind = \"scripted\"\norders = [\n{}\n]\n",
        orders.join(",\n")
    );
    scenarios.push(parse(variants.len(), &scripted));
    let all: Vec<_> = scenarios.iter().collect();
    let together = altsim::backtest::summarize_together(&all, &store).unwrap();
    assert_eq!(together.len(), scenarios.len());
    let mut fills = Vec::new();
    for (s, t) in scenarios.iter().zip(&together) {
        let alone = altsim::backtest::run_in(s, &store, false).unwrap();
        let json = |o: &altsim::backtest::Outcome| serde_json::to_string(&o.summary).unwrap();
        assert_eq!(json(t), json(&alone), "{}", s.path.display());
        assert_eq!(t.warnings, alone.warnings, "{}", s.path.display());
        fills.push(serde_json::to_value(&t.summary).unwrap()["fills"].clone());
    }
    // The variants trade, and differently.
    assert!(
        fills.iter().all(|f| f.as_u64().is_some_and(|n| n > 0)),
        "{fills:?}"
    );
    fills.dedup();
    assert!(fills.len() > 5, "{fills:?}");
    // Runs that end at different times run alone, to the same results.
    let mut ends = scenarios[..2].to_vec();
    ends[1].end_ns = Some(ends[1].end_ns.unwrap_or(i64::MAX) - 1);
    let mixed: Vec<_> = ends.iter().collect();
    let out = altsim::backtest::summarize_together(&mixed, &store).unwrap();
    assert_eq!(out[0].summary, together[0].summary);
}
