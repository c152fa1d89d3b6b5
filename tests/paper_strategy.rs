//! A scenario's strategy trading in a paper session: its result folder, written as the session
//! ends, equals the backtest of the scenario the session folder holds, byte for byte.

mod client;

use altsim::paper::{strategy, Paper, Source};
use client::*;
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_strategy_writes_what_its_journal_replays() {
    let out = scratch("strategy");
    let path = Path::new("scenarios/mm-tight.toml");
    let s = altsim::scenario::load_live(path).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let mut cfg = config(&out, vec![account("k1", "10000", "1")]);
    cfg.exchange = altsim::scenario::parse_exchange(path, &text).unwrap();
    cfg.exchange_source = (path.display().to_string(), text.clone());
    cfg.scenario = Some((s, text));
    if let Source::Captures { speed, .. } = &mut cfg.source {
        // The sample's eleven minutes in about a second.
        *speed = 1000.0;
    }
    let mut paper = Paper::start(cfg, false).await.unwrap();
    paper.wait_feed().await;
    let summary = paper.stop().await.unwrap();
    let (dir, text) = summary.strategy.expect("the strategy's results");
    assert_eq!(dir, out.join(strategy::RESULTS));
    assert!(text.contains("fills"), "{text}");

    let replay = altsim::scenario::load(&out.join("mm-tight.toml")).unwrap();
    let o = altsim::backtest::run(&replay, None, altsim::backtest::Progress::Quiet).unwrap();
    assert_eq!(o.dir, out.join(strategy::REPLAY));
    assert!(o.info.orders_placed > 0, "the strategy traded");
    let (live, again) = (files(&dir), files(&o.dir));
    let names = |v: &[PathBuf]| -> Vec<_> {
        v.iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&live), names(&again));
    for (a, b) in live.iter().zip(&again) {
        assert!(
            read(a) == read(b),
            "{} differs from {}",
            a.display(),
            b.display()
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
