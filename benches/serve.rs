//! Frames per second `altsim serve` delivers to one WebSocket client at full speed.

use altsim::serve::{Config, Pace, Server};
use altsim::venue::market::load_markets;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use std::path::{Path, PathBuf};
use tokio_tungstenite::tungstenite::Message;

const FRAMES: u64 = 288_081;

async fn one_client() -> u64 {
    let markets = load_markets(Path::new("data/markets.json")).unwrap();
    let mut cfg = Config::new(
        vec![PathBuf::from("data/btcusdt-20240808T2354Z.ranger.gz")],
        markets,
    );
    cfg.pace = Pace::Max;
    cfg.wait_clients = 1;
    let server = Server::start(cfg).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let sub = r#"{"event":"subscribe","streams":["btcusdt.ob-inc","btcusdt.trades"]}"#;
    ws.send(Message::Text(sub.into())).await.unwrap();
    let mut n = 0;
    while n < FRAMES {
        match ws.next().await {
            Some(Ok(Message::Text(_))) => n += 1,
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    server.stop().await;
    n
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("serve");
    g.sample_size(10);
    g.throughput(Throughput::Elements(FRAMES));
    g.bench_function("whole sample to one client", |b| {
        b.iter(|| assert_eq!(rt.block_on(one_client()), FRAMES))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
