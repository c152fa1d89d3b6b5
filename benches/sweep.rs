//! A 64-run sweep of pure market making on the shipped sample (8 spreads × 8 refresh times),
//! on one thread and on two, and the shipped 12-run `sweep-mm` (its five best runs' folders
//! kept, and then none kept) on two; the event cache is built before the clock starts.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn setup() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("altsim-bench-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(SAMPLE, dir.join("cap.ranger.gz")).unwrap();
    std::fs::copy("data/markets.json", dir.join("markets.json")).unwrap();
    let base = std::fs::read_to_string("scenarios/mm-tight.toml")
        .unwrap()
        .replace("../data/btcusdt-*.ranger.gz", "cap.ranger.gz")
        .replace("../data/markets.json", "markets.json");
    std::fs::write(dir.join("base.toml"), base).unwrap();
    let spreads = [
        "0.005", "0.01", "0.02", "0.03", "0.05", "0.08", "0.1", "0.2",
    ];
    let list = spreads.map(|s| format!("\"{s}\"")).join(", ");
    let sweep = format!(
        "base = \"base.toml\"\nout = \"out\"\ntop = 1\n[grid]\n\
         \"strategy.order_refresh_time\" = [2, 5, 10, 15, 20, 30, 45, 60]\n\
         [zip]\n\"strategy.bid_spread\" = [{list}]\n\"strategy.ask_spread\" = [{list}]\n"
    );
    let p = dir.join("sweep.toml");
    std::fs::write(&p, sweep).unwrap();
    let shipped = std::fs::read_to_string("scenarios/sweep-mm.toml")
        .unwrap()
        .replace("\"mm-tight.toml\"", "\"base.toml\"")
        .replace("\"../results/sweep-mm\"", "\"out-mm\"");
    std::fs::write(dir.join("sweep-mm.toml"), shipped).unwrap();
    p
}

fn bench(c: &mut Criterion) {
    let path = setup();
    let sweep = altsim::sweep::load(&path).unwrap();
    assert_eq!(sweep.plan.runs.len(), 64);
    // Builds the cache.
    let opts = |jobs| altsim::sweep::Options {
        jobs,
        ..Default::default()
    };
    sweep.run(&opts(2)).unwrap();
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.throughput(Throughput::Elements(64));
    for jobs in [1, 2] {
        g.bench_function(format!("64 runs, {jobs} threads"), |b| {
            b.iter(|| sweep.run(&opts(jobs)).unwrap().len())
        });
    }
    g.finish();
    let mm = altsim::sweep::load(&path.with_file_name("sweep-mm.toml")).unwrap();
    assert_eq!((mm.plan.runs.len(), mm.plan.top), (12, 5));
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.throughput(Throughput::Elements(12));
    g.bench_function("12 runs of sweep-mm, 5 kept, 2 threads", |b| {
        b.iter(|| mm.run(&opts(2)).unwrap().len())
    });
    let mut none = altsim::sweep::load(&path.with_file_name("sweep-mm.toml")).unwrap();
    none.plan.top = 0;
    g.bench_function("12 runs of sweep-mm, none kept, 2 threads", |b| {
        b.iter(|| none.run(&opts(2)).unwrap().len())
    });
    g.finish();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

criterion_group!(benches, bench);
criterion_main!(benches);
