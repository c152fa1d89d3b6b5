//! Replay throughput over the shipped sample: decompress, read records, parse, normalize and
//! maintain the book.

use altsim::book::Books;
use altsim::tape::reader::decompress;
use altsim::tape::{CaptureReader, Normalizer};
use altsim::venue::market::load_markets;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::Read;
use std::path::Path;

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn replay(c: &mut Criterion) {
    let gz = std::fs::read(SAMPLE).expect("shipped sample");
    let markets = load_markets(Path::new("data/markets.json")).expect("markets");
    let frames = {
        let mut r = CaptureReader::new(Path::new(SAMPLE), decompress(&gz[..]).unwrap()).unwrap();
        let mut n = 0u64;
        while r.next_record().unwrap().is_some() {
            n += 1;
        }
        n
    };
    let mut g = c.benchmark_group("sample");
    g.sample_size(20);
    g.throughput(Throughput::Elements(frames));
    g.bench_function("decompress", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(32 << 20);
            decompress(&gz[..]).unwrap().read_to_end(&mut out).unwrap();
            out.len()
        })
    });
    g.bench_function("decompress+read", |b| {
        b.iter(|| {
            let mut r =
                CaptureReader::new(Path::new(SAMPLE), decompress(&gz[..]).unwrap()).unwrap();
            let mut n = 0u64;
            while r.next_record().unwrap().is_some() {
                n += 1;
            }
            n
        })
    });
    g.bench_function("decompress+read+parse+normalize+book", |b| {
        b.iter(|| {
            let mut r =
                CaptureReader::new(Path::new(SAMPLE), decompress(&gz[..]).unwrap()).unwrap();
            let mut norm = Normalizer::new(markets.clone());
            let mut books = Books::new();
            let mut events = Vec::with_capacity(1024);
            while let Some(rec) = r.next_record().unwrap() {
                events.clear();
                norm.push(&rec, &mut events).unwrap();
                for ev in &events {
                    books.apply(ev);
                }
            }
            books.get(altsim::tape::MarketId(0)).unwrap().best_bid()
        })
    });
    g.finish();
}

/// The event cache of the sample: built from the capture, and read back (from the page
/// cache) into the book.
fn cache(c: &mut Criterion) {
    use altsim::tape::cache;
    let markets = load_markets(Path::new("data/markets.json")).expect("markets");
    let dir = std::env::temp_dir().join(format!("altsim-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("sample.ranger.gz");
    std::fs::copy(SAMPLE, &cap).unwrap();
    let paths = vec![cap];
    let key = cache::key(&paths, &markets).unwrap();
    let at = cache::path_for(&paths, &key);
    let events = cache::build(&paths, markets.clone(), &key, &at).unwrap();
    let mut g = c.benchmark_group("event cache");
    g.sample_size(20);
    g.throughput(Throughput::Elements(events));
    g.bench_function("build (hash, decompress, parse, normalize, write)", |b| {
        b.iter(|| cache::build(&paths, markets.clone(), &key, &at).unwrap())
    });
    g.bench_function("check key + read + book", |b| {
        b.iter(|| {
            let key = cache::key(&paths, &markets).unwrap();
            let mut r = cache::CacheReader::open(&at, &key, &paths).expect("a valid cache");
            let mut books = Books::new();
            // In blocks, as a backtest reads it.
            let mut block = Vec::with_capacity(4096);
            while r.read_into(&mut block, 4096).unwrap() > 0 {
                for ev in &block {
                    books.apply(ev);
                }
                block.clear();
            }
            books.get(altsim::tape::MarketId(0)).unwrap().best_bid()
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, replay, cache);
criterion_main!(benches);
