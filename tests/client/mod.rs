//! A client of `altsim paper` as a bot would be: Barong-signed HTTP requests, the private
//! WebSocket, and the check that a session's journal replays to the same results.
#![allow(dead_code)]

use altsim::paper::engine::AccountSpec;
use altsim::paper::{Account, Config, Source};
use altsim::venue::auth::sign;
use altsim::venue::market::load_markets;
use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("altsim-paper-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub fn account(key: &str, usdt: &str, btc: &str) -> Account {
    let mut balances = BTreeMap::new();
    balances.insert("usdt".to_string(), Decimal::from_str(usdt).unwrap());
    balances.insert("btc".to_string(), Decimal::from_str(btc).unwrap());
    Account {
        spec: AccountSpec {
            key: key.into(),
            balances,
        },
        secret: format!("{key}-secret"),
    }
}

pub fn config(out: &Path, accounts: Vec<Account>) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        source: Source::Captures {
            paths: vec![PathBuf::from(SAMPLE)],
            markets: load_markets(Path::new("data/markets.json")).unwrap(),
            speed: 1.0,
            start_offset_ns: 0,
        },
        scenario: None,
        accounts,
        exchange: Default::default(),
        exchange_source: (String::new(), String::new()),
        limits: Default::default(),
        out: out.to_path_buf(),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The three Barong headers for `key` (secret `<key>-secret`).
pub fn auth_headers(key: &str) -> String {
    let nonce = now_ms().to_string();
    let sig = sign(&format!("{key}-secret"), &nonce, key);
    format!("X-Auth-Apikey: {key}\r\nX-Auth-Nonce: {nonce}\r\nX-Auth-Signature: {sig}\r\n")
}

/// One HTTP/1.1 request on its own connection: (status, body).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(30), c.read_to_end(&mut raw))
        .await
        .expect("an answer in time")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text[9..12].parse().unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

pub fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

pub async fn signed(
    addr: SocketAddr,
    key: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    http(
        addr,
        method,
        &format!("/api/v2/peatio/{path}"),
        &auth_headers(key),
        body,
    )
    .await
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// Waits until the public book of btcusdt has both sides (the paper exchange applied a
/// snapshot before the public side saw it).
pub async fn book_ready(addr: SocketAddr) {
    for _ in 0..10_000 {
        let (s, b) = http(
            addr,
            "GET",
            "/api/v2/peatio/public/markets/btcusdt/depth",
            "",
            "",
        )
        .await;
        if s == 200 {
            let d = json(&b);
            if d["asks"].as_array().is_some_and(|a| !a.is_empty())
                && d["bids"].as_array().is_some_and(|a| !a.is_empty())
            {
                return;
            }
        }
        tokio::task::yield_now().await;
    }
    panic!("the book never filled");
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn private_ws(addr: SocketAddr, key: &str) -> Ws {
    let mut req = format!("ws://{addr}/api/v2/ranger/private")
        .into_client_request()
        .unwrap();
    for line in auth_headers(key).lines() {
        let (k, v) = line.split_once(": ").unwrap();
        req.headers_mut().insert(
            k.to_ascii_lowercase()
                .parse::<tokio_tungstenite::tungstenite::http::HeaderName>()
                .unwrap(),
            v.parse().unwrap(),
        );
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::Text(
        r#"{"event":"subscribe","id":1,"streams":["order","trade","balance"]}"#.into(),
    ))
    .await
    .unwrap();
    let ok = next_text(&mut ws).await.unwrap();
    assert!(ok.contains("subscribed"), "{ok}");
    ws
}

pub async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Private frames until an `order` frame of `id` in `state`.
pub async fn until_order(ws: &mut Ws, seen: &mut Vec<String>, id: u64, state: &str) {
    while let Some(t) = next_text(ws).await {
        seen.push(t.clone());
        let v = json(&t);
        if v["order"]["id"] == id && v["order"]["state"] == state {
            return;
        }
    }
    panic!("no order {id} in state {state}; saw {seen:?}");
}

pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Replays the session folder `out` into `name`'s scratch folder and checks that the results
/// are the session's, byte for byte.
pub fn assert_replays(out: &Path, name: &str) -> (altsim::paper::journal::Replayed, PathBuf) {
    let again = scratch(name);
    let r = altsim::paper::journal::replay(out, &again).unwrap();
    for f in ["orders.csv", "fills.csv", "balances.csv", "private.log"] {
        assert_eq!(
            read(&out.join("results").join(f)),
            read(&again.join(f)),
            "{f}"
        );
    }
    (r, again)
}
