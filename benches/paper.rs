//! `altsim paper` on loopback: limit orders placed and cancelled through the signed private
//! REST by one client and by eight (each on its own keep-alive connection), and the time from
//! an upstream trade frame leaving the exchange to the private `trade` event it causes reaching
//! the bot (no configured latency: what is measured is altsim's own, plus two loopback hops),
//! without and with five live dashboards reading the session's state stream.

use altsim::paper::engine::AccountSpec;
use altsim::paper::{Account, Config, Paper, Source};
use altsim::ranger::Markets;
use altsim::serve::{Config as ServeConfig, Server};
use altsim::tape::{BookSide, Event, EventKind, MarketId};
use altsim::venue::auth::sign;
use altsim::venue::market::load_markets;
use altsim::venue::Side;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 8;

fn account(key: String) -> Account {
    let balances = [("usdt", "100000000"), ("btc", "1000")]
        .into_iter()
        .map(|(c, v)| (c.to_string(), v.parse().unwrap()))
        .collect();
    Account {
        secret: format!("{key}-secret"),
        spec: AccountSpec { key, balances },
    }
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("altsim-bench-paper-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn config(out: &Path, source: Source) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        source,
        scenario: None,
        accounts: (0..CLIENTS).map(|i| account(format!("c{i}"))).collect(),
        exchange: Default::default(),
        exchange_source: (String::new(), String::new()),
        limits: Default::default(),
        out: out.to_path_buf(),
    }
}

fn headers(key: &str) -> [(&'static str, String); 3] {
    let nonce = (altsim::utc::wall_ns() / 1_000_000).to_string();
    let sig = sign(&format!("{key}-secret"), &nonce, key);
    [
        ("X-Auth-Apikey", key.to_string()),
        ("X-Auth-Nonce", nonce),
        ("X-Auth-Signature", sig),
    ]
}

fn post(agent: &ureq::Agent, url: &str, key: &str, body: &str) -> String {
    let mut req = agent.post(url);
    for (k, v) in headers(key) {
        req = req.header(k, v);
    }
    let mut resp = req.content_type("application/json").send(body).unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.body_mut().read_to_string().unwrap()
}

/// `n` limit orders placed and cancelled by client `c`, one request at a time.
fn place_and_cancel(base: &str, c: usize, n: u64) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let key = format!("c{c}");
    let api = format!("{base}/api/v2/peatio/market/orders");
    for i in 0..n {
        let body = format!(
            r#"{{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.001","price":"{}.00"}}"#,
            20_000 + i % 1000
        );
        let placed: serde_json::Value =
            serde_json::from_str(&post(&agent, &api, &key, &body)).unwrap();
        let id = placed["id"].as_u64().expect("an order id");
        post(&agent, &format!("{api}/{id}/cancel"), &key, "");
    }
}

fn orders(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let out = out_dir("orders");
    let source = Source::Captures {
        paths: vec![PathBuf::from("data/btcusdt-20240808T2354Z.ranger.gz")],
        markets: load_markets(Path::new("data/markets.json")).unwrap(),
        speed: 1.0,
        start_offset_ns: 1_000_000_000,
    };
    let paper = rt
        .block_on(Paper::start(config(&out, source), false))
        .unwrap();
    let base = paper.base_url();
    let mut g = c.benchmark_group("paper REST");
    g.sample_size(10);
    for clients in [1, CLIENTS] {
        // Two requests per order: the place and the cancel.
        g.throughput(Throughput::Elements(2));
        g.bench_function(format!("place+cancel, {clients} clients"), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(clients as u64);
                let t = Instant::now();
                std::thread::scope(|s| {
                    for c in 0..clients {
                        let base = &base;
                        s.spawn(move || place_and_cancel(base, c, per));
                    }
                });
                t.elapsed()
                    .mul_f64(iters as f64 / (per * clients as u64) as f64)
            })
        });
    }
    g.finish();
    rt.block_on(paper.stop()).unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

fn level(side: BookSide, price: i64) -> EventKind {
    EventKind::SnapshotLevel {
        side,
        price,
        amount: 1_000_000,
    }
}

/// A dashboard viewer: reads the session's state stream until the session ends.
async fn viewer(addr: SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /dashboard/state HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// The time from an upstream trade that fills a resting order to that order's private `trade`
/// event reaching the client, over `n` orders, with `viewers` dashboards open; sorted.
async fn fill_latencies(n: usize, viewers: usize) -> Vec<Duration> {
    let rules = load_markets(Path::new("data/markets.json")).unwrap();
    let upstream = Server::start(ServeConfig::new(Vec::new(), rules))
        .await
        .unwrap();
    let mut publisher = upstream.publisher();
    let m = publisher.market_index("btcusdt").unwrap();
    let ev = |t: i64, kind| Event {
        recv_ns: t,
        market: MarketId(m as u16),
        kind,
    };
    // A book: bid 50,000.00, ask 70,000.00 (prices at 2 decimals, amounts at 6).
    for kind in [
        EventKind::SnapshotStart { sequence: Some(1) },
        level(BookSide::Bid, 5_000_000),
        level(BookSide::Ask, 7_000_000),
        EventKind::SnapshotEnd,
    ] {
        publisher.publish(m, &ev(0, kind)).await;
    }
    let out = out_dir("latency");
    let source = Source::Live {
        ws: upstream.ws_url(),
        rest: format!("{}/api/v2/peatio", upstream.base_url()),
        markets: Markets::List(vec!["btcusdt".into()]),
    };
    let mut paper = Paper::start(config(&out, source), false).await.unwrap();
    for _ in 0..viewers {
        tokio::spawn(viewer(paper.addr));
    }
    // The subscription's answer and the snapshot.
    while paper.frames() < 2 {
        assert!(paper.next_frame().await);
    }
    let mut req = format!("ws://{}/api/v2/ranger/private", paper.addr)
        .into_client_request()
        .unwrap();
    for (k, v) in headers("c0") {
        req.headers_mut().insert(k, v.parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::Text(
        r#"{"event":"subscribe","streams":["trade"]}"#.into(),
    ))
    .await
    .unwrap();
    let _subscribed = ws.next().await;
    let api = format!("{}/api/v2/peatio/market/orders", paper.base_url());
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        // A bid inside the spread, alone at its price: the next trade through it fills it.
        let price = 6_000_000 + i as i64;
        let body = format!(
            r#"{{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.001","price":"{}.{:02}"}}"#,
            price / 100,
            price % 100
        );
        let api = api.clone();
        tokio::task::spawn_blocking(move || {
            let agent = ureq::Agent::new_with_defaults();
            post(&agent, &api, "c0", &body)
        })
        .await
        .unwrap();
        let trade = EventKind::Trade {
            id: i as u64 + 1,
            taker: Side::Sell,
            price,
            amount: 1_000,
            exch_ns: 0,
        };
        let t = Instant::now();
        publisher.publish(m, &ev(i as i64 + 1, trade)).await;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(f))) if f.contains("\"trade\"") => break,
                Some(Ok(_)) => continue,
                other => panic!("private stream ended: {other:?}"),
            }
        }
        times.push(t.elapsed());
    }
    paper.stop().await.unwrap();
    upstream.stop().await;
    let _ = std::fs::remove_dir_all(&out);
    times.sort();
    times
}

fn latency(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("paper fill");
    g.sample_size(10);
    for viewers in [0, 5] {
        let name = match viewers {
            0 => "upstream trade to private trade event".to_string(),
            v => format!("upstream trade to private trade event, {v} dashboards open"),
        };
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let times = rt.block_on(fill_latencies(iters as usize, viewers));
                let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
                eprintln!(
                    "  {} fills, {viewers} dashboards: p50 {:?}, p99 {:?}, max {:?}",
                    times.len(),
                    pct(50),
                    pct(99),
                    times[times.len() - 1]
                );
                times.iter().sum()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, orders, latency);
criterion_main!(benches);
