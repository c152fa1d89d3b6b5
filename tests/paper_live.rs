//! `altsim paper` on a live ranger feed, here `altsim serve` standing in for the exchange: the
//! feed is kept in sync as `record` keeps it, orders are refused while the book is not whole,
//! and the journal of a live session replays byte for byte.

mod client;

use altsim::paper::{Paper, Source};
use altsim::ranger::Markets;
use altsim::serve::{Config as ServeConfig, Faults, Pace, Server};
use altsim::venue::market::load_markets;
use client::*;
use std::path::{Path, PathBuf};

fn upstream(captures: Vec<PathBuf>, faults: Faults) -> ServeConfig {
    let mut c = ServeConfig::new(
        captures,
        load_markets(Path::new("data/markets.json")).unwrap(),
    );
    c.pace = Pace::Max;
    c.faults = faults;
    c.wait_clients = 1;
    c
}

fn live(server: &Server, out: &Path) -> altsim::paper::Config {
    let mut cfg = config(out, vec![account("k1", "100000", "1")]);
    cfg.source = Source::Live {
        ws: server.ws_url(),
        rest: format!("{}/api/v2/peatio", server.base_url()),
        markets: Markets::List(vec!["btcusdt".into()]),
    };
    cfg
}

/// The top five levels of btcusdt that `addr` serves.
async fn depth(addr: std::net::SocketAddr) -> (serde_json::Value, serde_json::Value) {
    let (s, b) = http(
        addr,
        "GET",
        "/api/v2/peatio/public/markets/btcusdt/depth?limit=5",
        "",
        "",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let d = json(&b);
    (d["asks"].clone(), d["bids"].clone())
}

/// Waits until the upstream has played everything and the paper exchange serves its final
/// book, checking after each frame the paper engine applies.
async fn caught_up(server: &mut Server, paper: &mut Paper) {
    server.wait_playback().await.unwrap();
    let wait = async {
        while depth(paper.addr).await != depth(server.addr).await {
            assert!(paper.next_frame().await, "the session ended");
        }
    };
    // A bound for a broken build only: every pass waits for work, not for time.
    tokio::time::timeout(std::time::Duration::from_secs(120), wait)
        .await
        .unwrap_or_else(|_| panic!("paper applied {} frames, never the last", paper.frames()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_without_a_book_refuses_orders_with_a_clear_code() {
    let out = scratch("live-nobook");
    // An exchange that lists btcusdt but never sends a snapshot.
    let mut cfg = upstream(Vec::new(), Faults::default());
    cfg.wait_clients = 0;
    let server = Server::start(cfg).await.unwrap();
    let mut paper = Paper::start(live(&server, &out), false).await.unwrap();
    let addr = paper.addr;
    // The feed is connected and subscribed once the answer to its subscription is applied.
    assert!(paper.next_frame().await, "the feed never subscribed");
    let (s, b) = signed(
        addr,
        "k1",
        "POST",
        "market/orders",
        r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.001","price":"50000.00"}"#,
    )
    .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(json(&b)["errors"][0], "market.order.book_not_synced");
    paper.stop().await.unwrap();
    server.stop().await;
    let journal = String::from_utf8(read(&out.join("journal.ranger"))).unwrap();
    assert!(journal.contains(" !connect {"), "{journal}");
    assert!(journal.contains(" !subscribe {"), "{journal}");
    assert!(journal.contains(" !place {"), "{journal}");
    let (_, again) = assert_replays(&out, "live-nobook-replay");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_session_trades_and_replays_byte_for_byte() {
    let out = scratch("live-trade");
    let mut server = Server::start(upstream(vec![PathBuf::from(SAMPLE)], Faults::default()))
        .await
        .unwrap();
    let mut paper = Paper::start(live(&server, &out), false).await.unwrap();
    let addr = paper.addr;
    caught_up(&mut server, &mut paper).await;
    // The paper exchange serves the very book it matches against: the upstream's.
    assert!(!depth(addr).await.0.as_array().unwrap().is_empty());
    let (s, b) = signed(
        addr,
        "k1",
        "POST",
        "market/orders",
        r#"{"market":"btcusdt","side":"buy","ord_type":"market","volume":"0.001"}"#,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let id = json(&b)["id"].as_u64().unwrap();
    let (_, b) = signed(addr, "k1", "GET", &format!("market/orders/{id}"), "").await;
    assert_eq!(json(&b)["state"], "done", "{b}");
    let (s, b) = signed(addr, "k1", "GET", "market/trades", "").await;
    assert_eq!(s, 200, "{b}");
    assert!(!json(&b).as_array().unwrap().is_empty(), "{b}");
    let s = paper.stop().await.unwrap();
    server.stop().await;
    assert_eq!(s.fills, 1);
    let (r, again) = assert_replays(&out, "live-trade-replay");
    assert_eq!(r.requests, 1);
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_gaps_resubscribe_and_the_journal_keeps_them() {
    let out = scratch("live-gaps");
    let faults = Faults {
        skip_seq_every: Some(400),
        ..Faults::default()
    };
    let mut server = Server::start(upstream(vec![PathBuf::from(SAMPLE)], faults))
        .await
        .unwrap();
    let mut paper = Paper::start(live(&server, &out), false).await.unwrap();
    caught_up(&mut server, &mut paper).await;
    let s = paper.stop().await.unwrap();
    server.stop().await;
    assert_eq!(s.malformed_frames, 0);
    let journal = String::from_utf8(read(&out.join("journal.ranger"))).unwrap();
    let gaps = journal.matches(" !gap {").count();
    let resyncs = journal.matches(" !resync {").count();
    assert!(gaps > 0, "the faults make gaps");
    // Each gap is followed by its resync (the last may be cut by the stop).
    assert!(
        resyncs > 0 && resyncs <= gaps && resyncs + 1 >= gaps,
        "{gaps} gaps, {resyncs} resyncs"
    );
    let (_, again) = assert_replays(&out, "live-gaps-replay");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
}
