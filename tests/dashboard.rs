//! The live dashboard of a paper session, in headless Chromium: the ladder shows the book the
//! REST depth shows, our order at its level, the fills of `fills.csv`, and the PnL chart;
//! viewers that never read slow nothing and change nothing the journal replays.

mod browser;
mod client;

use altsim::paper::{Paper, Source};
use browser::Browser;
use client::*;
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// The text of every cell of the table `id`, row by row.
const ROWS: &str = "return Array.from(document.querySelectorAll('#ID tbody tr'))\
                    .map(r => Array.from(r.cells).map(c => c.textContent));";

fn rows(b: &Browser, id: &str) -> Vec<Vec<String>> {
    let v = b.eval(&ROWS.replace("ID", id));
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_book_our_orders_and_fills() {
    if !browser::available() {
        return;
    }
    let out = scratch("dashboard");
    let path = Path::new("scenarios/mm-tight.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut cfg = config(&out, vec![account("k1", "10000", "1")]);
    cfg.exchange = altsim::scenario::parse_exchange(path, &text).unwrap();
    cfg.exchange_source = (path.display().to_string(), text.clone());
    cfg.scenario = Some((altsim::scenario::load_live(path).unwrap(), text));
    if let Source::Captures { speed, .. } = &mut cfg.source {
        *speed = 1000.0;
    }
    let mut paper = Paper::start(cfg, false).await.unwrap();
    let addr = paper.addr;
    // Three viewers that ask for the state stream and never read it.
    let mut stuck = Vec::new();
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /dashboard/state HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        stuck.push(s);
    }
    paper.wait_feed().await;
    let (_, d) = http(
        addr,
        "GET",
        "/api/v2/peatio/public/markets/btcusdt/depth?limit=1",
        "",
        "",
    )
    .await;
    let d = json(&d);
    let (bid, ask) = (
        d["bids"][0][0].as_str().unwrap().to_string(),
        d["asks"][0][0].as_str().unwrap().to_string(),
    );
    let order = format!(
        r#"{{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.01","price":"{bid}"}}"#
    );
    let (s, b) = signed(addr, "k1", "POST", "market/orders", &order).await;
    assert_eq!(s, 201, "{b}");
    let market = r#"{"market":"btcusdt","side":"buy","ord_type":"market","volume":"0.002"}"#;
    let (s, b) = signed(addr, "k1", "POST", "market/orders", market).await;
    assert_eq!(s, 201, "{b}");

    let base = paper.base_url();
    let shown = tokio::task::spawn_blocking(move || {
        let b = Browser::start(1200, 1500);
        b.open(&format!("{base}/"));
        let first = |side: &str| {
            format!(
                "const r = document.querySelector('#ladder-btcusdt tr.{side}'); \
                 return r !== null && r.cells[1].textContent"
            )
        };
        // The best ask is the last ask row (asks are shown highest first).
        b.wait_for(
            "the best bid as REST depth shows it",
            &format!("{} === '{bid}';", first("bid")),
        );
        b.wait_for(
            "the best ask as REST depth shows it",
            &format!(
                "const r = Array.from(document.querySelectorAll('#ladder-btcusdt tr.ask')).pop(); \
                 return r !== undefined && r.cells[1].textContent === '{ask}';"
            ),
        );
        b.wait_for(
            "our order at its level",
            &format!(
                "const r = document.querySelector('#ladder-btcusdt tr.bid'); \
                 return r !== null && r.cells[1].textContent === '{bid}' \
                 && r.cells[3].textContent.startsWith('k1 0.01');"
            ),
        );
        b.wait_for(
            "the market order's fill",
            "return document.querySelectorAll('#fills-k1 tbody tr').length > 0;",
        );
        b.wait_for(
            "the PnL chart",
            "return document.querySelector('#chart-pnl-k1 canvas') !== null;",
        );
        b.screenshot(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/dashboard.png"),
        );
        rows(&b, "fills-k1")
    })
    .await
    .unwrap();
    drop(stuck);
    paper.stop().await.unwrap();

    // The fills table holds the session's fills with the values of fills.csv.
    let csv = String::from_utf8(read(&out.join("results/fills.csv"))).unwrap();
    let mut want: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            // key,trade_id,order_id,time_ns,market,side,price,amount,total,…,fee,fee_currency
            vec![
                f[1].to_string(),
                f[2].to_string(),
                f[4].to_string(),
                f[5].to_string(),
                f[6].to_string(),
                f[7].to_string(),
                f[8].to_string(),
                format!("{} {}", f[11], f[12]),
            ]
        })
        .collect();
    want.reverse();
    assert!(!want.is_empty());
    assert_eq!(shown, want);
    // Nothing a viewer did reached the journal or what it replays to.
    let (_, again) = assert_replays(&out, "dashboard-replay");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
}
