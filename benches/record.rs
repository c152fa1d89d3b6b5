//! Frames per second `altsim record` writes from `altsim serve` at full speed, the recorder on
//! a single-threaded runtime of its own (one core at most).

use altsim::ranger::Markets;
use altsim::record;
use altsim::serve::{Config, Pace, Server};
use altsim::venue::market::load_markets;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const FRAMES: u64 = 288_081;

fn one_recording(server_rt: &tokio::runtime::Runtime, n: usize) -> u64 {
    let server = server_rt.block_on(async {
        let markets = load_markets(Path::new("data/markets.json")).unwrap();
        let mut cfg = Config::new(
            vec![PathBuf::from("data/btcusdt-20240808T2354Z.ranger.gz")],
            markets,
        );
        cfg.pace = Pace::Max;
        cfg.wait_clients = 1;
        Server::start(cfg).await.unwrap()
    });
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-record-{n}"));
    let _ = std::fs::remove_dir_all(&out);
    let mut cfg = record::Config::new(out, Markets::List(vec!["btcusdt".into()]));
    cfg.link.ws = server.ws_url();
    cfg.link.rest = format!("{}/api/v2/peatio", server.base_url());
    let counter = Arc::new(AtomicU64::new(0));
    cfg.link.frames_written = Some(counter.clone());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let recorder = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(record::run(cfg, stop_rx)).unwrap()
    });
    for _ in 0..60_000 {
        if counter.load(Ordering::Relaxed) >= FRAMES {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.send(true).unwrap();
    let summary = recorder.join().unwrap();
    server_rt.block_on(server.stop());
    summary.total_frames()
}

fn bench(c: &mut Criterion) {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("record");
    g.sample_size(10);
    g.throughput(Throughput::Elements(FRAMES));
    let mut n = 0;
    g.bench_function("whole sample from serve at full speed", |b| {
        b.iter(|| {
            n += 1;
            assert_eq!(one_recording(&server_rt, n), FRAMES, "no frame lost");
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
