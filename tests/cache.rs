//! The event cache: a backtest from it writes the same bytes as one from the captures, and a
//! stale, cut or foreign cache is rebuilt, never trusted.

mod folders;

use altsim::backtest::{run_from, CacheUse, Progress};
use altsim::scenario;
use altsim::tape::cache;
use folders::files;
use std::path::{Path, PathBuf};

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn tmp(name: &str) -> PathBuf {
    folders::tmp("cache", name)
}

/// mm-tight on a copy of `capture` (the first `keep` bytes of it) in its own folder.
fn setup(name: &str, keep: Option<usize>) -> (PathBuf, scenario::Scenario) {
    let dir = tmp(name);
    let mut bytes = std::fs::read(SAMPLE).unwrap();
    if let Some(k) = keep {
        bytes.truncate(k);
    }
    std::fs::write(dir.join("cap.ranger.gz"), bytes).unwrap();
    std::fs::copy("data/markets.json", dir.join("markets.json")).unwrap();
    let text = std::fs::read_to_string("scenarios/mm-tight.toml")
        .unwrap()
        .replace("../data/btcusdt-*.ranger.gz", "cap.ranger.gz")
        .replace("../data/markets.json", "markets.json");
    let path = dir.join("s.toml");
    std::fs::write(&path, &text).unwrap();
    (dir, scenario::load(&path).unwrap())
}

fn run(s: &scenario::Scenario, out: &Path, cache: bool) -> (Vec<(String, Vec<u8>)>, CacheUse) {
    let (_, used) = run_from(s, Some(out), Progress::Quiet, cache).unwrap();
    (files(out), used)
}

fn the_cache(dir: &Path) -> PathBuf {
    let d = dir.join(cache::DIR);
    let mut v: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(v.len(), 1, "{v:?}");
    v.pop().unwrap()
}

#[test]
fn a_backtest_from_the_cache_writes_the_same_bytes() {
    let (dir, s) = setup("same", None);
    let (plain, used) = run(&s, &dir.join("plain"), false);
    assert_eq!(used, CacheUse::Off);
    let (built, used) = run(&s, &dir.join("built"), true);
    assert_eq!(used, CacheUse::Built);
    let (read, used) = run(&s, &dir.join("read"), true);
    assert_eq!(used, CacheUse::Read);
    assert!(plain == built, "built differs");
    assert!(plain == read, "read differs");
    // Compressed blocks: smaller than the compressed capture itself.
    let len = std::fs::metadata(the_cache(&dir)).unwrap().len();
    let capture = std::fs::metadata(SAMPLE).unwrap().len();
    assert!(len < capture, "{len} bytes against the capture's {capture}");
}

#[test]
fn one_cache_serves_every_spelling_of_a_capture_and_names_it_as_given() {
    // A capture cut short, so that a warning names it.
    let (dir, s) = setup("spelling", Some(1_000_000));
    let (_, used) = run(&s, &dir.join("a"), true);
    assert_eq!(used, CacheUse::Built);
    // The same scenario from a folder below, naming the capture through `..`.
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let text = std::fs::read_to_string(&s.path)
        .unwrap()
        .replace("cap.ranger.gz", "../cap.ranger.gz")
        .replace("\"markets.json\"", "\"../markets.json\"")
        .replace("out = \"", "out = \"../");
    let other = dir.join("sub/s.toml");
    std::fs::write(&other, text).unwrap();
    let t = scenario::load(&other).unwrap();
    let (outcome, used) = run_from(&t, Some(&dir.join("b")), Progress::Quiet, true).unwrap();
    assert_eq!(used, CacheUse::Read, "one cache for both spellings");
    assert_eq!(std::fs::read_dir(dir.join(cache::DIR)).unwrap().count(), 1);
    let named = t.captures[0].display().to_string();
    assert!(named.contains(".."), "{named}");
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.starts_with(&format!("{named}:"))),
        "{:?}",
        outcome.warnings
    );
    // The plain read of that spelling warns alike.
    let (plain, _) = run_from(&t, Some(&dir.join("c")), Progress::Quiet, false).unwrap();
    assert_eq!(plain.warnings, outcome.warnings);
}

#[test]
fn caches_past_the_budget_go_least_recently_used_first() {
    let (dir, s) = setup("budget", None);
    run(&s, &dir.join("a"), true);
    let first = the_cache(&dir);
    let size = std::fs::metadata(&first).unwrap().len();
    // Another capture in the same folder: a second cache; a budget of one and a half caches
    // keeps only the newest.
    let mut cap = std::fs::read(SAMPLE).unwrap();
    cap.truncate(2_000_000);
    std::fs::write(dir.join("cap.ranger.gz"), cap).unwrap();
    let (ok, out, err) = folders::altsim(&[
        "cache",
        dir.join("cap.ranger.gz").to_str().unwrap(),
        "--markets",
        dir.join("markets.json").to_str().unwrap(),
        "--cache-budget",
        &(size * 3 / 2).to_string(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("removed"), "{out}");
    assert!(!first.exists(), "the older cache was removed");
    assert_eq!(std::fs::read_dir(dir.join(cache::DIR)).unwrap().count(), 1);
    let (ok, out, _) = folders::altsim(&["cache", "--list", dir.to_str().unwrap()]);
    assert!(
        ok && out.contains("1 caches") && out.contains("cap.ranger.gz"),
        "{out}"
    );
    let (ok, _, err) = folders::altsim(&[
        "cache",
        "--gc",
        "--cache-budget",
        "lots",
        dir.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("--cache-budget: \"lots\" is not a size"),
        "{err}"
    );
}

#[test]
fn a_stale_cut_or_foreign_cache_is_rebuilt() {
    // A capture cut short: its warnings (from the reader) come back from the cache too.
    let (dir, s) = setup("stale", Some(1_000_000));
    let (plain, _) = run(&s, &dir.join("plain"), false);
    let (_, used) = run(&s, &dir.join("a"), true);
    assert_eq!(used, CacheUse::Built);
    let c = the_cache(&dir);
    // Cut the cache: rebuilt.
    let bytes = std::fs::read(&c).unwrap();
    std::fs::write(&c, &bytes[..bytes.len() / 2]).unwrap();
    let (b, used) = run(&s, &dir.join("b"), true);
    assert_eq!(used, CacheUse::Built);
    assert!(b == plain);
    // Another file under its name (same length, other bytes): rebuilt.
    std::fs::write(&c, vec![7u8; bytes.len()]).unwrap();
    let (_, used) = run(&s, &dir.join("c"), true);
    assert_eq!(used, CacheUse::Built);
    // The capture changes: another key, another cache.
    let mut cap = std::fs::read(SAMPLE).unwrap();
    cap.truncate(900_000);
    std::fs::write(dir.join("cap.ranger.gz"), cap).unwrap();
    let (d, used) = run(&s, &dir.join("d"), true);
    assert_eq!(used, CacheUse::Built);
    let (plain_d, _) = run(&s, &dir.join("plain-d"), false);
    assert!(d == plain_d);
    assert!(d != plain, "the shorter capture gives other results");
}

#[test]
fn a_time_window_ends_at_the_same_event_from_the_captures_and_the_cache() {
    let (dir, s) = setup("window", None);
    let text = std::fs::read_to_string(&s.path)
        .unwrap()
        .replace("# start = \"2024", "start = \"2024")
        .replace(
            "# end = \"2024-08-09T00:05:00Z\"",
            "end = \"2024-08-08T23:58:30Z\"",
        );
    std::fs::write(&s.path, text).unwrap();
    let s = scenario::load(&s.path).unwrap();
    let end = s.end_ns.expect("the window has an end");
    let (plain, _) = run(&s, &dir.join("plain"), false);
    let (read, _) = run(&s, &dir.join("built"), true);
    assert!(plain == read, "the cache's run differs");
    // Every event received by the end, and none after: counted from the cache file itself.
    let key = cache::key(
        &s.captures,
        &altsim::venue::market::default_markets(s.markets.as_deref(), &s.captures).unwrap(),
    )
    .unwrap();
    let mut r =
        cache::CacheReader::open(&the_cache(&dir), &key, &s.captures).expect("a valid cache");
    let (mut within, mut all) = (0u64, 0u64);
    while let Some(ev) = r.next_event().unwrap() {
        all += 1;
        within += u64::from(ev.recv_ns <= end);
    }
    assert!(within > 0 && within < all, "{within} of {all}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("plain/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["events"], within);
}

#[test]
fn a_cache_read_in_parts_on_any_pool_is_the_events_in_order() {
    let (dir, s) = setup("parts", None);
    let (_, used) = run(&s, &dir.join("a"), true);
    assert_eq!(used, CacheUse::Built);
    let rules = altsim::venue::market::default_markets(s.markets.as_deref(), &s.captures).unwrap();
    let key = cache::key(&s.captures, &rules).unwrap();
    let open = || cache::CacheReader::open(&the_cache(&dir), &key, &s.captures).unwrap();
    let mut r = open();
    let mut one_by_one = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        one_by_one.push(ev);
    }
    assert!(one_by_one.len() > 100_000, "{}", one_by_one.len());
    for threads in 1..=3 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let parts = pool.install(|| open().read_parts()).unwrap();
        assert_eq!(parts.len(), threads);
        assert!(
            parts.concat() == one_by_one,
            "{threads} threads: other events"
        );
    }
    // A reader that handed some events out gives the rest.
    let mut r = open();
    let first: Vec<_> = (0..10).map(|_| r.next_event().unwrap().unwrap()).collect();
    let rest = r.read_parts().unwrap().concat();
    assert!([first, rest].concat() == one_by_one);
    // A block damaged in the middle of the file is refused, whichever thread decodes it.
    let c = the_cache(&dir);
    let mut bytes = std::fs::read(&c).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 64].fill(0xff);
    std::fs::write(&c, &bytes).unwrap();
    let err = open().read_parts().unwrap_err();
    assert!(matches!(err, cache::CacheError::Corrupt { .. }), "{err}");
}
