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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
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

/// A dashboard viewer: reads the session's state stream until it is closed, and counts the
/// viewers that have been sent a state in `ready`.
async fn viewer(addr: SocketAddr, ready: Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /dashboard/state HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut counted = false;
    while let Ok(n @ 1..) = s.read(&mut buf).await {
        if !counted && buf[..n].windows(6).any(|w| w == b"data: ") {
            counted = true;
            ready.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// An upstream exchange, a live paper session on it and a bot subscribed to its private
/// trades: each [`Rig::fill`] rests a bid and times the trade that fills it.
struct Rig {
    upstream: Server,
    publisher: altsim::serve::playback::Publisher,
    market: usize,
    paper: Paper,
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    api: String,
    fills: usize,
    out: PathBuf,
    viewers: Vec<tokio::task::JoinHandle<()>>,
}

impl Rig {
    async fn start(name: &str) -> Rig {
        let rules = load_markets(Path::new("data/markets.json")).unwrap();
        let upstream = Server::start(ServeConfig::new(Vec::new(), rules))
            .await
            .unwrap();
        let mut publisher = upstream.publisher();
        let market = publisher.market_index("btcusdt").unwrap();
        // A book: bid 50,000.00, ask 70,000.00 (prices at 2 decimals, amounts at 6).
        for kind in [
            EventKind::SnapshotStart { sequence: Some(1) },
            level(BookSide::Bid, 5_000_000),
            level(BookSide::Ask, 7_000_000),
            EventKind::SnapshotEnd,
        ] {
            publisher.publish(market, &event(market, 0, kind)).await;
        }
        let out = out_dir(name);
        let source = Source::Live {
            ws: upstream.ws_url(),
            rest: format!("{}/api/v2/peatio", upstream.base_url()),
            markets: Markets::List(vec!["btcusdt".into()]),
        };
        let mut paper = Paper::start(config(&out, source), false).await.unwrap();
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
        Rig {
            upstream,
            publisher,
            market,
            paper,
            ws,
            api,
            fills: 0,
            out,
            viewers: Vec::new(),
        }
    }

    /// Rests a bid inside the spread, alone at its price, and times the upstream trade
    /// through it to its private `trade` event.
    async fn fill(&mut self) -> Duration {
        self.fills += 1;
        let i = self.fills as i64;
        let price = 6_000_000 + i % 1_000_000;
        let body = format!(
            r#"{{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.001","price":"{}.{:02}"}}"#,
            price / 100,
            price % 100
        );
        let api = self.api.clone();
        tokio::task::spawn_blocking(move || {
            let agent = ureq::Agent::new_with_defaults();
            post(&agent, &api, "c0", &body)
        })
        .await
        .unwrap();
        let trade = EventKind::Trade {
            id: i as u64,
            taker: Side::Sell,
            price,
            amount: 1_000,
            exch_ns: 0,
        };
        let t = Instant::now();
        self.publisher
            .publish(self.market, &event(self.market, i, trade))
            .await;
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(f))) if f.contains("\"trade\"") => break,
                Some(Ok(_)) => continue,
                other => panic!("private stream ended: {other:?}"),
            }
        }
        t.elapsed()
    }

    /// Opens `n` dashboards and fills orders (untimed) until each has been sent a state.
    async fn open_dashboards(&mut self, n: usize) {
        let ready = Arc::new(AtomicUsize::new(0));
        self.viewers = (0..n)
            .map(|_| tokio::spawn(viewer(self.paper.addr, ready.clone())))
            .collect();
        while ready.load(Ordering::SeqCst) < n {
            self.fill().await;
        }
    }

    /// Closes the dashboards, and fills orders (untimed) until the session has noticed.
    async fn close_dashboards(&mut self) {
        for v in self.viewers.drain(..) {
            v.abort();
        }
        // The session notices a closed stream when it next sends to it: at most one state
        // later, a quarter second of fills.
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            self.fill().await;
        }
    }

    async fn stop(self) {
        self.paper.stop().await.unwrap();
        self.upstream.stop().await;
        let _ = std::fs::remove_dir_all(&self.out);
    }
}

fn event(market: usize, t: i64, kind: EventKind) -> Event {
    Event {
        recv_ns: t,
        market: MarketId(market as u16),
        kind,
    }
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
        let mut rig = rt.block_on(async {
            let mut rig = Rig::start(&format!("latency-{viewers}")).await;
            rig.open_dashboards(viewers).await;
            rig
        });
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += rig.fill().await;
                    }
                    total
                })
            })
        });
        rt.block_on(rig.stop());
    }
    g.finish();
    rt.block_on(tail_with_dashboards());
}

/// The tail of the fill time with and without five dashboards, from one session whose
/// dashboards are opened and closed in turn after a warm-up (so the machine's drift falls on
/// both alike), each percentile over every fill of its kind.
async fn tail_with_dashboards() {
    const ROUNDS: usize = 20;
    const FILLS: usize = 1_000;
    let mut rig = Rig::start("tail").await;
    for _ in 0..FILLS {
        rig.fill().await;
    }
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..ROUNDS * 2 {
        let open = round % 2;
        if open == 1 {
            rig.open_dashboards(5).await;
        }
        for _ in 0..FILLS {
            let t = rig.fill().await;
            times[open].push(t);
        }
        if open == 1 {
            rig.close_dashboards().await;
        }
    }
    rig.stop().await;
    for (open, times) in times.iter_mut().enumerate() {
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        eprintln!(
            "paper fill, {} dashboards open, {} fills in {ROUNDS} turns: p50 {:?}, p90 {:?}, p99 {:?}, p99.9 {:?}",
            open * 5,
            times.len(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(0.999),
        );
    }
}

criterion_group!(benches, orders, latency);
criterion_main!(benches);
