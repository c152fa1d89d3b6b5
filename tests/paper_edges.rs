//! `altsim paper` at its edges: a replayed signed request, nonces Barong would refuse, a body
//! declared too large, the WebSocket closing handshake, and clients that try to hold every
//! connection.

use altsim::paper::Paper;
use altsim::serve::conn::Limits;
use altsim::venue::auth::sign;
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

mod client;

use client::*;

/// Headers signed with the given nonce text.
fn headers_with_nonce(key: &str, nonce: &str) -> String {
    let sig = sign(&format!("{key}-secret"), nonce, key);
    format!("X-Auth-Apikey: {key}\r\nX-Auth-Nonce: {nonce}\r\nX-Auth-Signature: {sig}\r\n")
}

const ORDER: &str =
    r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.002","price":"1000.00"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_request_never_trades_twice() {
    let out = scratch("replayed");
    let paper = Paper::start(config(&out, vec![account("k1", "10000", "1")]), false)
        .await
        .unwrap();
    let addr = paper.addr;
    book_ready(addr).await;
    let path = "/api/v2/peatio/market/orders";
    let h = headers_with_nonce("k1", &now_ms().to_string());
    let (s, b) = http(addr, "POST", path, &h, ORDER).await;
    assert_eq!(s, 201, "{b}");
    for _ in 0..2 {
        let (s, b) = http(addr, "POST", path, &h, ORDER).await;
        assert_eq!(
            (s, b.as_str()),
            (401, r#"{"errors":["authz.nonce_reused"]}"#)
        );
    }
    // Another order under the same nonce is another request (Hummingbot signs concurrent
    // requests with one millisecond).
    let other = ORDER.replace("1000.00", "1001.00");
    let (s, b) = http(addr, "POST", path, &h, &other).await;
    assert_eq!(s, 201, "{b}");
    // A cancel replayed is refused the same way; reads are never refused for it.
    let id = json(&b)["id"].as_u64().unwrap();
    let cancel = format!("{path}/{id}/cancel");
    let hc = headers_with_nonce("k1", &now_ms().to_string());
    assert_eq!(http(addr, "POST", &cancel, &hc, "").await.0, 201);
    assert_eq!(http(addr, "POST", &cancel, &hc, "").await.0, 401);
    let hb = headers_with_nonce("k1", &now_ms().to_string());
    for _ in 0..2 {
        let (s, _) = http(addr, "GET", "/api/v2/peatio/account/balances", &hb, "").await;
        assert_eq!(s, 200);
    }
    let summary = paper.stop().await.unwrap();
    assert_eq!(summary.orders, 2);
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_are_read_as_barong_reads_them() {
    let out = scratch("nonces");
    let paper = Paper::start(config(&out, vec![account("k1", "10000", "1")]), false)
        .await
        .unwrap();
    let addr = paper.addr;
    let path = "/api/v2/peatio/account/balances";
    for (nonce, status, code) in [
        ("abc", 401, "authz.nonce_not_valid_timestamp"),
        ("-5", 401, "authz.nonce_not_valid_timestamp"),
        ("0", 401, "authz.nonce_not_valid_timestamp"),
        ("1000", 401, "authz.nonce_expired"),
    ] {
        let (s, b) = http(addr, "GET", path, &headers_with_nonce("k1", nonce), "").await;
        assert_eq!(s, status, "{nonce}: {b}");
        assert_eq!(json(&b)["errors"][0], code, "{nonce}");
    }
    // A blank header is a missing one (422).
    let blank = "X-Auth-Apikey: k1\r\nX-Auth-Nonce:  \r\nX-Auth-Signature: x\r\n";
    let (s, b) = http(addr, "GET", path, blank, "").await;
    assert_eq!(
        (s, json(&b)["errors"][0].as_str()),
        (422, Some("authz.invalid_api_key_headers"))
    );
    paper.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_declared_too_large_is_refused_from_the_headers() {
    let out = scratch("too-large");
    let paper = Paper::start(config(&out, vec![account("k1", "10000", "1")]), false)
        .await
        .unwrap();
    let mut c = tokio::net::TcpStream::connect(paper.addr).await.unwrap();
    let req = format!(
        "POST /api/v2/peatio/market/orders HTTP/1.1\r\nHost: x\r\n{}Content-Type: \
         application/json\r\nContent-Length: 1000000000000\r\n\r\n{{",
        auth_headers("k1")
    );
    c.write_all(req.as_bytes()).await.unwrap();
    // The body then trickles in, a byte every 50 ms, keeping the connection busy: only an
    // answer from the headers can come before the hang guard.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let answered = timeout(Duration::from_secs(60), async {
        loop {
            tokio::select! {
                r = c.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => raw.extend_from_slice(&buf[..n]),
                },
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    if c.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(answered.is_ok(), "no answer within the hang guard");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("server.request.body_too_large"), "{text}");
    paper.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

/// Reads until the server's Close and returns its code; `None` when the connection ends
/// without one (what a client reports as 1006).
async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match timeout(Duration::from_secs(60), ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => return Some(f.map_or(1005, |f| u16::from(f.code))),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_))) | Ok(None) => return None,
            Err(_) => panic!("no Close within the hang guard"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_websocket_closes_as_rfc_6455_says() {
    let out = scratch("ws-close");
    let paper = Paper::start(config(&out, vec![account("k1", "10000", "1")]), false)
        .await
        .unwrap();
    let addr = paper.addr;
    for code in [1000u16, 4001] {
        let mut ws = private_ws(addr, "k1").await;
        ws.close(Some(CloseFrame {
            code: code.into(),
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        assert_eq!(close_code(&mut ws).await, Some(code));
    }
    // When the session ends, an open client is told the server is going away.
    let mut ws = private_ws(addr, "k1").await;
    let stop = tokio::spawn(paper.stop());
    assert_eq!(close_code(&mut ws).await, Some(1001));
    stop.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

/// A connection from `from` to `to` that sends the start of a request's headers.
async fn half_request(from: [u8; 4], to: SocketAddr) -> tokio::net::TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::from((from, 0))).unwrap();
    let mut c = sock.connect(to).await.unwrap();
    let _ = c
        .write_all(b"GET /api/v2/peatio/public/timestamp HTTP/1.1\r\nX-Drip: ")
        .await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_dripping_their_headers_lock_nobody_out() {
    const ATTACK: usize = 200;
    const PER_IP: usize = 32;
    let out = scratch("drip");
    let mut cfg = config(&out, vec![account("k1", "10000", "1")]);
    cfg.limits = Limits {
        per_ip: PER_IP,
        total: 768,
        // Long enough that all 200 have arrived before any is closed, on any machine.
        header_timeout: Duration::from_secs(20),
    };
    let paper = Paper::start(cfg, false).await.unwrap();
    let addr = paper.addr;
    book_ready(addr).await;
    // The attack comes from 127.0.0.2; each connection drips a byte of its headers every
    // 100 ms for as long as it is open.
    let mut attack = Vec::new();
    for _ in 0..ATTACK {
        attack.push(half_request([127, 0, 0, 2], addr).await);
    }
    let drips: Vec<_> = attack
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                loop {
                    tokio::select! {
                        r = c.read(&mut buf) => match r {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        },
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {
                            if c.write_all(b"a").await.is_err() {
                                return;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    // Meanwhile a well-behaved client's calls all succeed, and the server never holds more
    // than the cap of the attacker's connections.
    let stats = |b: &str| -> (u64, u64) {
        let v = json(b);
        (
            v["connections_by_address"]["127.0.0.2"]
                .as_u64()
                .unwrap_or(0),
            v["connections_refused"].as_u64().unwrap(),
        )
    };
    let mut refused = 0;
    for i in 0..20 {
        let (s, b) = http(
            addr,
            "GET",
            "/api/v2/peatio/public/markets/btcusdt/depth",
            "",
            "",
        )
        .await;
        assert_eq!(s, 200, "call {i}: {b}");
        let (s, b) = signed(addr, "k1", "GET", "account/balances", "").await;
        assert_eq!(s, 200, "call {i}: {b}");
        let (s, b) = http(addr, "GET", "/stats", "", "").await;
        assert_eq!(s, 200);
        let (open, r) = stats(&b);
        assert!(
            open <= PER_IP as u64,
            "{open} connections open from the attacker"
        );
        refused = r;
    }
    assert!(refused >= 1, "the attack never reached the cap");
    // Dripping keeps a connection busy, but its headers never end: the header-read timeout
    // closes every one (the timeout guards a hang).
    for d in drips {
        timeout(Duration::from_secs(120), d)
            .await
            .expect("a dripping connection closed")
            .unwrap();
    }
    paper.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

/// A bot's book of one market, built from the frames it receives with no repair of its own:
/// each level as the frame says, a snapshot replacing everything.
struct BotBook {
    norm: altsim::tape::Normalizer,
    book: altsim::book::Book,
}

impl BotBook {
    fn apply(&mut self, frame: &str) {
        let rec = altsim::tape::Record {
            recv_ns: 0,
            body: altsim::tape::Body::Frame(std::borrow::Cow::Borrowed(frame)),
        };
        let mut evs = Vec::new();
        self.norm.push(&rec, &mut evs).unwrap();
        for e in &evs {
            match e.kind {
                altsim::tape::EventKind::SnapshotStart { .. } => self.book.clear(),
                altsim::tape::EventKind::SnapshotLevel {
                    side,
                    price,
                    amount,
                }
                | altsim::tape::EventKind::Level {
                    side,
                    price,
                    amount,
                    ..
                } => self.book.set(side, price, amount),
                _ => {}
            }
        }
    }
}

fn same_book(a: &altsim::book::Book, b: &altsim::book::Book, levels: usize) -> bool {
    use altsim::tape::BookSide;
    [BookSide::Bid, BookSide::Ask].into_iter().all(|s| {
        a.depth_len(s) == b.depth_len(s) && a.levels(s).take(levels).eq(b.levels(s).take(levels))
    })
}

/// What `paper` publishes is the book its exchange matches against (`Book::apply`, which
/// removes the levels a crossing update crosses): the server's book behind REST depth and
/// snapshots, and the book a bot builds from the increments alone, at every event of the
/// sample.
#[test]
fn the_public_side_shows_the_book_the_exchange_matches_against() {
    use altsim::serve::hub::Hub;
    use altsim::serve::playback::Engine;
    use altsim::tape::{EventKind, EventStream};
    let rules =
        altsim::venue::market::load_markets(std::path::Path::new("data/markets.json")).unwrap();
    let mut st = EventStream::open(vec![SAMPLE.into()], rules.clone()).unwrap();
    let markets = st.normalizer().markets().to_vec();
    let mut hub = Hub::new(markets.clone());
    let mut engine = Engine::uncrossing(markets.len());
    let mut exchange = altsim::book::Books::new();
    let mut bot = BotBook {
        norm: altsim::tape::Normalizer::new(markets),
        book: altsim::book::Book::new(),
    };
    let (mut in_snapshot, mut checked, mut crossing) = (false, 0u64, 0u64);
    while let Some(ev) = st.next_event().unwrap() {
        let m = ev.market.0 as usize;
        let before = exchange.get(ev.market).map_or(0, |b| b.crossings());
        exchange.apply(&ev);
        for (_, frame) in engine.apply(&mut hub, m, &ev) {
            bot.apply(&frame);
        }
        match ev.kind {
            EventKind::SnapshotStart { .. } => in_snapshot = true,
            EventKind::SnapshotEnd => in_snapshot = false,
            _ => {}
        }
        if in_snapshot || m != 0 {
            continue;
        }
        let ours = exchange.get(ev.market).unwrap();
        crossing += ours.crossings() - before;
        assert!(
            same_book(&hub.markets[m].book, ours, 20),
            "server at {ev:?}"
        );
        assert!(same_book(&bot.book, ours, 20), "bot at {ev:?}");
        assert!(!bot.book.is_crossed(), "bot at {ev:?}");
        checked += 1;
    }
    let ours = exchange.get(altsim::tape::MarketId(0)).unwrap();
    assert!(same_book(&hub.markets[0].book, ours, usize::MAX));
    assert!(same_book(&bot.book, ours, usize::MAX));
    assert!(checked > 250_000, "{checked} events checked");
    assert!(crossing > 0, "the sample has crossing updates");
}

/// Precision is never rounded: a volume or price with more digits than a decimal holds is
/// refused with Peatio's precision code, not taken as its rounding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digits_past_a_decimal_are_refused_not_rounded() {
    let out = scratch("digits");
    let paper = Paper::start(config(&out, vec![account("k1", "100000", "1")]), false)
        .await
        .unwrap();
    let addr = paper.addr;
    book_ready(addr).await;
    for body in [
        r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.00099999999999999999999999999","price":"1000.00"}"#,
        r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.001","price":"49999.9999999999999999999999999"}"#,
    ] {
        let (s, b) = signed(addr, "k1", "POST", "market/orders", body).await;
        assert_eq!(
            (s, b.as_str()),
            (
                422,
                r#"{"errors":["market.order.invalid_volume_or_price"]}"#
            ),
            "{body}"
        );
    }
    let summary = paper.stop().await.unwrap();
    assert_eq!(summary.orders, 0);
    let _ = std::fs::remove_dir_all(&out);
}
