//! The emulated exchange, observed from tokio-tungstenite clients.

use altsim::book::Book;
use altsim::serve::{Config, Faults, Pace, Server};
use altsim::tape::{Body, BookSide, Normalizer, Record};
use altsim::venue::market::load_markets;
use altsim::venue::{Frame, MarketRules};
use futures_util::{SinkExt, StreamExt};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn markets() -> Vec<MarketRules> {
    load_markets(Path::new("data/markets.json")).unwrap()
}

fn config(pace: Pace) -> Config {
    let mut c = Config::new(vec![PathBuf::from(SAMPLE)], markets());
    c.pace = pace;
    c
}

async fn connect(url: &str) -> Ws {
    timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .expect("connect in time")
    .expect("connect")
    .0
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::Text(text.into())).await.unwrap();
}

/// The next text frame, or None when the connection ends or nothing comes within `wait`.
async fn next_text(ws: &mut Ws, wait: Duration) -> Option<String> {
    loop {
        match timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Reads the only client's frames, handing each to `f`, until playback has ended and every
/// frame queued for the client has come (the server's count). `got` counts frames already
/// read. A long timeout guards only against a hang.
async fn read_until_played(ws: &mut Ws, server: &Server, mut got: u64, mut f: impl FnMut(String)) {
    let guard = std::time::Instant::now() + Duration::from_secs(120);
    let mut check = tokio::time::interval(Duration::from_millis(50));
    loop {
        if server.playback_done() && got >= server.stats().clients[0].frames_queued {
            return;
        }
        assert!(
            std::time::Instant::now() < guard,
            "frames stopped after {got}"
        );
        tokio::select! {
            t = next_text(ws, Duration::from_secs(120)) => {
                f(t.expect("the connection stays open"));
                got += 1;
            }
            _ = check.tick() => {}
        }
    }
}

/// A client's view: its book built from snapshot + increments, with sequence checks.
struct View {
    norm: Normalizer,
    book: Book,
    sequences: Vec<u64>,
    trades: u64,
    frames: u64,
    gaps: u64,
}

impl View {
    fn new() -> Self {
        View {
            norm: Normalizer::new(markets()),
            book: Book::new(),
            sequences: Vec::new(),
            trades: 0,
            frames: 0,
            gaps: 0,
        }
    }

    fn apply(&mut self, text: &str) {
        self.frames += 1;
        if let Ok(Frame::Increment(inc)) = Frame::parse(text) {
            self.sequences.push(inc.sequence.unwrap());
        }
        let rec = Record {
            recv_ns: 0,
            body: Body::Frame(Cow::Borrowed(text)),
        };
        let mut evs = Vec::new();
        self.norm.push(&rec, &mut evs).unwrap();
        for e in &evs {
            match e.kind {
                altsim::tape::EventKind::Trade { .. } => self.trades += 1,
                altsim::tape::EventKind::Gap { .. } => self.gaps += 1,
                _ => {}
            }
            self.book.apply(e);
        }
    }

    fn contiguous(&self) -> bool {
        self.sequences.windows(2).all(|w| w[1] == w[0] + 1)
    }
}

fn same_book(a: &Book, b: &Book) -> bool {
    [BookSide::Bid, BookSide::Ask]
        .iter()
        .all(|s| a.levels(*s).eq(b.levels(*s)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mid_playback_subscriber_holds_the_server_book() {
    let mut server = Server::start(config(Pace::Recorded { speed: 400.0 }))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut ws = connect(&server.ws_url()).await;
    send(
        &mut ws,
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc","btcusdt.trades"]}"#,
    )
    .await;
    let first = next_text(&mut ws, Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        first,
        r#"{"success":{"message":"subscribed","streams":["btcusdt.ob-inc","btcusdt.trades"]}}"#
    );
    let snap = next_text(&mut ws, Duration::from_secs(60)).await.unwrap();
    assert!(
        snap.starts_with(r#"{"btcusdt.ob-snap":"#),
        "{}",
        &snap[..60]
    );
    let mut view = View::new();
    view.apply(&snap);
    assert!(view.book.depth_len(BookSide::Ask) <= 301 && view.book.depth_len(BookSide::Ask) > 100);
    // Read as the frames come (a client that lets its queue fill up is dropped), every one.
    read_until_played(&mut ws, &server, 2, |t| view.apply(&t)).await;
    timeout(Duration::from_secs(20), server.wait_playback())
        .await
        .expect("playback ends")
        .unwrap();
    assert!(!server.stats().clients[0].dropped_slow);
    assert!(
        view.sequences.len() > 100_000,
        "{} increments",
        view.sequences.len()
    );
    assert!(view.contiguous());
    assert_eq!(view.gaps, 0);
    let server_book = server.book("btcusdt").unwrap();
    // Levels deeper than the 301 of the snapshot may differ; every level the client holds is
    // the server's, and the top 301 agree entirely.
    for side in [BookSide::Bid, BookSide::Ask] {
        for l in view.book.levels(side) {
            assert_eq!(server_book.level(side, l.price), l.amount);
        }
        let top = |b: &Book| b.levels(side).take(301).collect::<Vec<_>>();
        assert_eq!(top(&view.book), top(&server_book));
    }
    assert_eq!(server_book.best_bid().unwrap().price, 6_160_201);
    let stats = server.stop().await;
    assert_eq!(stats.clients[0].frames_sent, view.frames + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_answer_as_ranger_does() {
    let mut cfg = config(Pace::Recorded { speed: 1.0 });
    cfg.ping = Duration::from_millis(100);
    cfg.timeout = Duration::from_millis(1500);
    let server = Server::start(cfg).await.unwrap();
    let url = format!(
        "{}?stream=btcusdt.trades&stream=btcusdt.ob-inc",
        server.ws_url()
    );
    let mut ws = connect(&url).await;
    let t = next_text(&mut ws, Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        t,
        r#"{"success":{"message":"subscribed","streams":["btcusdt.ob-inc","btcusdt.trades"]}}"#
    );
    assert!(next_text(&mut ws, Duration::from_secs(60))
        .await
        .unwrap()
        .contains("ob-snap"));
    send(
        &mut ws,
        r#"{"event":"unsubscribe","streams":["btcusdt.ob-inc"]}"#,
    )
    .await;
    let mut answer = None;
    for _ in 0..10_000 {
        let t = next_text(&mut ws, Duration::from_secs(60)).await.unwrap();
        if t.starts_with(r#"{"success""#) {
            answer = Some(t);
            break;
        }
    }
    assert_eq!(
        answer.unwrap(),
        r#"{"success":{"message":"unsubscribed","streams":["btcusdt.trades"]}}"#
    );
    send(&mut ws, "ping").await;
    send(&mut ws, "{nonsense").await;
    send(
        &mut ws,
        &format!(
            r#"{{"event":"subscribe","streams":["{}"]}}"#,
            "x".repeat(600)
        ),
    )
    .await;
    send(
        &mut ws,
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc","nosuch.trades","btcusdt.kline"]}"#,
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        let t = next_text(&mut ws, Duration::from_secs(60)).await.unwrap();
        if t.contains("ob-inc") {
            panic!("an increment after unsubscribing: {t}");
        }
        if t == "pong" || t.starts_with(r#"{"error""#) {
            seen.push(t);
        }
        if seen.len() == 4 {
            break;
        }
    }
    assert_eq!(seen[0], "pong");
    assert!(seen[1].contains("Could not parse"), "{}", seen[1]);
    assert!(seen[2].contains("over 512"), "{}", seen[2]);
    // Streams this server does not publish are refused, and nothing is subscribed.
    assert_eq!(
        seen[3],
        r#"{"error":"Unknown streams: nosuch.trades, btcusdt.kline"}"#
    );
    // A client that stops answering protocol pings is dropped after the timeout.
    let silent = connect(&server.ws_url()).await;
    let closed = timeout(Duration::from_secs(60), async {
        while !server.stats().clients.iter().any(|c| c.closed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "{:?}", server.stats());
    drop(silent);
    server.stop().await;
}

async fn faulty(faults: Faults) -> (Server, Ws) {
    let mut cfg = config(Pace::Max);
    cfg.faults = faults;
    cfg.wait_clients = 1;
    let server = Server::start(cfg).await.unwrap();
    let mut ws = connect(&server.ws_url()).await;
    send(
        &mut ws,
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc","btcusdt.trades"]}"#,
    )
    .await;
    (server, ws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_drop_after_frames() {
    let (server, mut ws) = faulty(Faults {
        drop_after_frames: Some(1000),
        ..Faults::default()
    })
    .await;
    let mut n = 0;
    while next_text(&mut ws, Duration::from_secs(60)).await.is_some() {
        n += 1;
        assert!(n <= 1000);
    }
    assert_eq!(n, 1000);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_drop_after_seconds() {
    // At the recorded pace the sample lasts 650 s with frames every few ms: the connection
    // can only end early by the fault.
    let mut cfg = config(Pace::Recorded { speed: 1.0 });
    cfg.faults = Faults {
        drop_after: Some(Duration::from_millis(300)),
        ..Faults::default()
    };
    let server = Server::start(cfg).await.unwrap();
    let start = std::time::Instant::now();
    let mut ws = connect(&server.ws_url()).await;
    send(
        &mut ws,
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc","btcusdt.trades"]}"#,
    )
    .await;
    let ended = timeout(Duration::from_secs(60), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server did not drop the connection");
    assert!(start.elapsed() >= Duration::from_millis(300));
    let c = &server.stats().clients[0];
    assert!(c.frames_sent < 288_081, "{c:?}");
    server.stop().await;
}

async fn sequences_until(ws: &mut Ws, count: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < count {
        let t = next_text(ws, Duration::from_secs(5))
            .await
            .expect("frames keep coming");
        if let Ok(Frame::Increment(inc)) = Frame::parse(&t) {
            seqs.push(inc.sequence.unwrap());
        }
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_skip_and_restart_sequences() {
    let (server, mut ws) = faulty(Faults {
        skip_seq_every: Some(100),
        ..Faults::default()
    })
    .await;
    let s = sequences_until(&mut ws, 350).await;
    let jumps: Vec<_> = s.windows(2).filter(|w| w[1] != w[0] + 1).collect();
    assert_eq!(jumps.len(), 3, "{jumps:?}");
    assert!(jumps.iter().all(|w| w[1] == w[0] + 2));
    server.stop().await;

    let (server, mut ws) = faulty(Faults {
        restart_seq_every: Some(100),
        ..Faults::default()
    })
    .await;
    let s = sequences_until(&mut ws, 250).await;
    assert_eq!(
        s.iter().filter(|x| **x == 1).count(),
        2,
        "{:?}",
        &s[95..105]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_malformed_frames() {
    let (server, mut ws) = faulty(Faults {
        malformed_every: Some(50),
        ..Faults::default()
    })
    .await;
    let mut bad = 0;
    for _ in 0..500 {
        let t = next_text(&mut ws, Duration::from_secs(60)).await.unwrap();
        if Frame::parse(&t).is_err() {
            bad += 1;
        }
    }
    assert!((9..=10).contains(&bad), "{bad}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_stall() {
    let (server, mut ws) = faulty(Faults {
        stall_every: Some(200),
        stall_for: Some(Duration::from_millis(400)),
        ..Faults::default()
    })
    .await;
    let mut longest = Duration::ZERO;
    let mut last = std::time::Instant::now();
    for _ in 0..450 {
        next_text(&mut ws, Duration::from_secs(60)).await.unwrap();
        longest = longest.max(last.elapsed());
        last = std::time::Instant::now();
    }
    assert!(longest >= Duration::from_millis(350), "{longest:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_get_every_frame_in_order() {
    const CLIENTS: usize = 16;
    let mut cfg = config(Pace::Max);
    cfg.wait_clients = CLIENTS;
    let mut server = Server::start(cfg).await.unwrap();
    let url = server.ws_url();
    let mut tasks = Vec::new();
    // Each client reads until it has every frame published: the count is known once
    // playback ends.
    let (total_tx, total_rx) = tokio::sync::watch::channel(None::<u64>);
    for _ in 0..CLIENTS {
        let url = url.clone();
        let mut total = total_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut ws = connect(&url).await;
            send(
                &mut ws,
                r#"{"event":"subscribe","streams":["btcusdt.ob-inc","btcusdt.trades"]}"#,
            )
            .await;
            let mut view = View::new();
            let mut got = 0u64;
            loop {
                if total.borrow().is_some_and(|t| got >= t) {
                    break;
                }
                tokio::select! {
                    t = next_text(&mut ws, Duration::from_secs(120)) => {
                        let t = t.expect("frames until the last");
                        if !t.starts_with(r#"{"success""#) {
                            got += 1;
                            view.apply(&t);
                        }
                    }
                    _ = total.changed() => {}
                }
            }
            view
        }));
    }
    timeout(Duration::from_secs(240), server.wait_playback())
        .await
        .expect("playback in time")
        .unwrap();
    total_tx
        .send(Some(server.stats().frames_published))
        .unwrap();
    let book = server.book("btcusdt").unwrap();
    for t in tasks {
        let view = timeout(Duration::from_secs(60), t).await.unwrap().unwrap();
        assert_eq!(view.trades, 19_903);
        assert_eq!(view.sequences.len(), 268_176);
        assert!(view.contiguous());
        assert!(same_book(&view.book, &book));
    }
    let stats = server.stats();
    assert_eq!(stats.clients.len(), CLIENTS);
    assert_eq!(stats.frames_published, 288_080);
    assert!(
        stats
            .clients
            .iter()
            .all(|c| c.frames_sent == 288_081 && !c.dropped_slow),
        "{:?}",
        stats.clients[0]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_closed() {
    let mut cfg = config(Pace::Recorded { speed: 1.0 });
    cfg.timeout = Duration::from_secs(1);
    let server = Server::start(cfg).await.unwrap();
    let addr = server.addr;
    // Connections that never send a request, and one that sends half a request.
    let mut idle = Vec::new();
    for i in 0..20 {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        if i == 0 {
            use tokio::io::AsyncWriteExt;
            c.write_all(b"GET /api/v2/peatio/public/timestamp HTTP/1.1\r\n")
                .await
                .unwrap();
        }
        idle.push(c);
    }
    for mut c in idle {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 64];
        // The server closes it: end of stream or a reset, never our wait running out.
        let r = timeout(Duration::from_secs(60), c.read(&mut buf)).await;
        assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "{r:?}");
    }
    let (status, _) = get(addr, "/api/v2/peatio/public/timestamp").await;
    assert_eq!(status, 200);
    server.stop().await;
}

/// A plain HTTP/1.1 GET: (status, body).
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peatio_public_rest() {
    use altsim::venue::rest::{Depth, ErrorBody, RestTrade, TickerEntry, Tickers};
    let mut server = Server::start(config(Pace::Max)).await.unwrap();
    timeout(Duration::from_secs(30), server.wait_playback())
        .await
        .unwrap()
        .unwrap();
    let base = "/api/v2/peatio/public";
    let (s, body) = get(server.addr, &format!("{base}/timestamp")).await;
    // 1723161904 s: an ISO-8601 JSON string, which Hummingbot's network check accepts.
    assert_eq!((s, body.as_str()), (200, "\"2024-08-09T00:05:04+00:00\""));
    let (_, body) = get(server.addr, &format!("{base}/markets")).await;
    let m: Vec<altsim::venue::MarketJson> = serde_json::from_str(&body).unwrap();
    assert_eq!(m.len(), 4);
    let (_, body) = get(
        server.addr,
        &format!("{base}/markets/btcusdt/depth?limit=3"),
    )
    .await;
    let d: Depth = serde_json::from_str(&body).unwrap();
    assert_eq!(d.asks.len(), 3);
    assert_eq!(d.bids[0], ["61602.01".to_string(), "1.67177".to_string()]);
    assert_eq!(d.asks[0], ["61602.02".to_string(), "2.66795".to_string()]);
    let (_, body) = get(
        server.addr,
        &format!("{base}/markets/btcusdt/trades?limit=2"),
    )
    .await;
    let t: Vec<RestTrade> = serde_json::from_str(&body).unwrap();
    assert_eq!(t.len(), 2);
    assert!(t[0].id > t[1].id, "newest first");
    let (_, body) = get(server.addr, &format!("{base}/markets/tickers")).await;
    let all: Tickers = serde_json::from_str(&body).unwrap();
    assert_eq!(all["btcusdt"].ticker.amount, "437.89552");
    let (_, body) = get(server.addr, &format!("{base}/markets/btcusdt/tickers")).await;
    let one: TickerEntry = serde_json::from_str(&body).unwrap();
    assert_eq!(one, all["btcusdt"]);
    let (s, body) = get(server.addr, &format!("{base}/markets/nosuch/depth")).await;
    assert_eq!(s, 404);
    assert_eq!(
        serde_json::from_str::<ErrorBody>(&body).unwrap().errors,
        ["record.not_found"]
    );
    let (s, _) = get(
        server.addr,
        &format!("{base}/markets/btcusdt/depth?limit=5000"),
    )
    .await;
    assert_eq!(s, 422);
    let (s, body) = get(server.addr, "/stats").await;
    assert_eq!(s, 200);
    assert!(body.contains("\"playback_done\":true"), "{body}");
    server.stop().await;
}

/// Hummingbot's connector reads the time and REST depth before it subscribes: while playback
/// waits for clients, both already show the captures' start, not time 0 and an empty book.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_clients_serves_the_first_book() {
    let mut cfg = config(Pace::Max);
    cfg.wait_clients = 1;
    let server = Server::start(cfg).await.unwrap();
    let base = "/api/v2/peatio/public";
    let (s, body) = get(server.addr, &format!("{base}/timestamp")).await;
    assert_eq!((s, body.as_str()), (200, "\"2024-08-08T23:54:14+00:00\""));
    let (_, body) = get(
        server.addr,
        &format!("{base}/markets/btcusdt/depth?limit=3"),
    )
    .await;
    let d: altsim::venue::rest::Depth = serde_json::from_str(&body).unwrap();
    assert_eq!((d.asks.len(), d.bids.len()), (3, 3), "{body}");
    assert!(d.bids[0][0] < d.asks[0][0]);
    assert!(!server.playback_done());
    // The subscriber gets that book as its snapshot, then playback.
    let mut ws = connect(&server.ws_url()).await;
    send(
        &mut ws,
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc"]}"#,
    )
    .await;
    let mut snapshot = None;
    while let Some(t) = next_text(&mut ws, Duration::from_secs(30)).await {
        if t.contains("ob-snap") {
            snapshot = Some(t);
            break;
        }
    }
    let snapshot = snapshot.expect("a snapshot");
    assert!(snapshot.contains(&d.bids[0][0]), "{snapshot}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_offset_and_loop() {
    // Skip the first 600 s: the subscriber gets the book as it stands there, then the rest.
    let mut cfg = config(Pace::Max);
    cfg.wait_clients = 1;
    cfg.start_offset_ns = 600_000_000_000;
    let mut server = Server::start(cfg).await.unwrap();
    let mut ws = connect(&server.ws_url()).await;
    send(
        &mut ws,
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc","btcusdt.trades"]}"#,
    )
    .await;
    let mut view = View::new();
    let mut first_frames = Vec::new();
    read_until_played(&mut ws, &server, 0, |t| {
        if first_frames.len() < 2 {
            first_frames.push(t.clone());
        }
        if !t.starts_with(r#"{"success""#) {
            view.apply(&t);
        }
    })
    .await;
    timeout(Duration::from_secs(30), server.wait_playback())
        .await
        .unwrap()
        .unwrap();
    assert!(first_frames[1].starts_with(r#"{"btcusdt.ob-snap""#));
    assert!(
        view.sequences.len() > 1_000 && view.sequences.len() < 60_000,
        "{}",
        view.sequences.len()
    );
    assert!(view.contiguous());
    assert_eq!(view.gaps, 0);
    assert_eq!(
        view.book.best_bid(),
        server.book("btcusdt").unwrap().best_bid()
    );
    server.stop().await;

    // Looping: the second pass goes on from the first one's book, sequences unbroken.
    let mut cfg = config(Pace::Max);
    cfg.wait_clients = 1;
    cfg.looping = true;
    let server = Server::start(cfg).await.unwrap();
    let mut ws = connect(&server.ws_url()).await;
    send(
        &mut ws,
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc"]}"#,
    )
    .await;
    let mut view = View::new();
    while view.sequences.len() < 300_000 {
        let t = next_text(&mut ws, Duration::from_secs(60))
            .await
            .expect("the loop keeps playing");
        if !t.starts_with(r#"{"success""#) {
            view.apply(&t);
        }
    }
    assert!(view.contiguous());
    assert_eq!(view.gaps, 0);
    server.stop().await;
}

/// Reads until the server's Close: its code, and the data frames that came before it. None
/// when the connection ends without a Close (what a client reports as 1006).
async fn until_close(ws: &mut Ws) -> Option<(u16, u64)> {
    let mut frames = 0;
    loop {
        match timeout(Duration::from_secs(60), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Some((frame.map(|f| u16::from(f.code)).unwrap_or(1005), frames))
            }
            Ok(Some(Ok(Message::Text(_)))) => frames += 1,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_))) | Ok(None) => return None,
            Err(_) => panic!("no Close within the hang guard"),
        }
    }
}

fn close_frame(code: u16) -> tokio_tungstenite::tungstenite::protocol::CloseFrame {
    tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: code.into(),
        reason: "done".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_close_is_answered_with_its_code() {
    let server = Server::start(config(Pace::Recorded { speed: 1.0 }))
        .await
        .unwrap();
    for code in [1000u16, 4001] {
        let mut ws = connect(&server.ws_url()).await;
        send(
            &mut ws,
            r#"{"event":"subscribe","streams":["btcusdt.trades"]}"#,
        )
        .await;
        assert!(next_text(&mut ws, Duration::from_secs(30)).await.is_some());
        ws.close(Some(close_frame(code))).await.unwrap();
        assert_eq!(until_close(&mut ws).await.map(|c| c.0), Some(code));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_is_answered_at_once_while_the_socket_is_full() {
    let mut cfg = config(Pace::Max);
    cfg.wait_clients = 1;
    let server = Server::start(cfg).await.unwrap();
    let mut ws = connect(&server.ws_url()).await;
    send(
        &mut ws,
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc"]}"#,
    )
    .await;
    // Read nothing until the server has a queue's worth waiting for this client: by then its
    // writer is blocked on a full socket.
    let backlog = |s: &altsim::serve::rest::Stats| {
        s.clients
            .first()
            .map_or(0, |c| c.frames_queued.saturating_sub(c.frames_sent))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while backlog(&server.stats()) < 60_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            server.stats().clients
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ws.close(Some(close_frame(1000))).await.unwrap();
    let (code, _) = until_close(&mut ws)
        .await
        .expect("a Close, not a dropped connection");
    assert_eq!(code, 1000);
    // What was still queued when the Close came was never sent.
    let stats = server.stop().await;
    let c = &stats.clients[0];
    assert!(c.frames_queued - c.frames_sent >= 50_000, "{c:?}");
}
