//! The core loop over the shipped sample with its events already in memory, on one thread:
//! the book alone (feed-only replay), and the mm-tight backtest (book, exchange, strategy and
//! the rows it writes), without reading captures or making the summary and charts.

use altsim::backtest::Session;
use altsim::book::Books;
use altsim::scenario;
use altsim::tape::{Event, EventStream, MarketId};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::{Path, PathBuf};

fn events() -> (Vec<Event>, Vec<altsim::venue::MarketRules>) {
    let s = scenario::load(Path::new("scenarios/mm-tight.toml")).unwrap();
    let rules = altsim::venue::market::default_markets(s.markets.as_deref(), &s.captures).unwrap();
    let mut st = EventStream::open(s.captures.clone(), rules).unwrap();
    let markets = st.normalizer().markets().to_vec();
    let mut evs = Vec::new();
    while let Some(e) = st.next_event().unwrap() {
        evs.push(e);
    }
    (evs, markets)
}

/// The events grouped by receive instant, as a backtest applies them.
fn instants(evs: &[Event]) -> Vec<&[Event]> {
    evs.chunk_by(|a, b| a.recv_ns == b.recv_ns).collect()
}

fn bench(c: &mut Criterion) {
    let (evs, markets) = events();
    let s = scenario::load(Path::new("scenarios/mm-tight.toml")).unwrap();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-core");
    let mut g = c.benchmark_group("core");
    g.sample_size(20);
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.bench_function("book only (feed replay)", |b| {
        b.iter(|| {
            let mut books = Books::new();
            for ev in &evs {
                books.apply(ev);
            }
            books.get(MarketId(0)).and_then(|b| b.best_bid())
        })
    });
    let groups = instants(&evs);
    g.bench_function("mm-tight loop (book, exchange, strategy, rows)", |b| {
        b.iter(|| {
            let mut session = Session::open(&s, markets.clone(), Some(&out)).unwrap();
            for i in &groups {
                session.instant(i).unwrap();
            }
            session.status().len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
