//! A whole backtest of the shipped sample, from the compressed capture to the summary: the
//! README's market-making scenario with its result folder written (tables, Parquet, charts).

use altsim::backtest::{run, Progress};
use altsim::scenario;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::{Path, PathBuf};

fn bench(c: &mut Criterion) {
    let s = scenario::load(Path::new("scenarios/mm-tight.toml")).unwrap();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-backtest");
    let events = run(&s, Some(&out), Progress::Quiet).unwrap().summary.events;
    let mut g = c.benchmark_group("backtest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("mm-tight over the sample, parse to summary", |b| {
        b.iter(|| run(&s, Some(&out), Progress::Quiet).unwrap().summary.fills)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
