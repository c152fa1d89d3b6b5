//! Sweeps: every run is the backtest of its derived scenario, byte for byte, and the results
//! do not depend on how many run at once.

use altsim::backtest::{run_from, Progress};
use std::path::{Path, PathBuf};

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sweep-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
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
    assert_eq!(sweep.runs.len(), 4);
    let one = sweep.run(1, true, false).unwrap();
    let csv_one = std::fs::read(dir.join("out/runs.csv")).unwrap();
    let runs_one: Vec<_> = (1..=4)
        .map(|i| files(&dir.join(format!("out/runs/run-{i:05}"))))
        .collect();
    sweep.out = dir.join("out2");
    let two = sweep.run(2, false, false).unwrap();
    assert_eq!(csv_one, std::fs::read(dir.join("out2/runs.csv")).unwrap());
    assert_eq!(one.len(), two.len());
    // Only the top two result folders are kept without --keep-runs.
    let kept: Vec<String> = sweep
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
        let e = altsim::sweep::load(&path).unwrap_err();
        assert!(e.contains(want), "{want}: {e}");
    }
}
