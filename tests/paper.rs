//! `altsim paper` seen by a client signing its requests as Barong asks: orders, cancels,
//! reads, the private WebSocket, auth failures, two isolated keys, many clients at once, and
//! the journal replaying the session byte for byte.

use altsim::paper::Paper;
use altsim::venue::auth::sign;
use std::net::SocketAddr;
use std::path::Path;

mod client;

use client::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_client_trades_and_the_journal_replays_byte_for_byte() {
    let out = scratch("session");
    let paper = Paper::start(
        config(
            &out,
            vec![account("k1", "10000", "1"), account("k2", "500", "0")],
        ),
        false,
    )
    .await
    .unwrap();
    let addr = paper.addr;
    book_ready(addr).await;
    let mut ws = private_ws(addr, "k1").await;
    let mut seen = Vec::new();

    // A limit buy far below the market rests, locking price × volume.
    let (s, b) = signed(
        addr,
        "k1",
        "POST",
        "market/orders",
        r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.002","price":"1000.00","client_id":"HBOT-1"}"#,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let resting = json(&b);
    assert_eq!(resting["state"], "wait");
    assert_eq!(resting["client_id"], "HBOT-1");
    assert_eq!(resting["origin_volume"], "0.002");
    let rid = resting["id"].as_u64().unwrap();
    until_order(&mut ws, &mut seen, rid, "wait").await;
    let (_, b) = signed(addr, "k1", "GET", "account/balances", "").await;
    let usdt = json(&b)
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == "usdt")
        .cloned()
        .unwrap();
    assert_eq!(
        (usdt["balance"].as_str(), usdt["locked"].as_str()),
        (Some("9998.0"), Some("2.0"))
    );

    // A market buy fills against the book and ends done.
    let (s, b) = signed(
        addr,
        "k1",
        "POST",
        "market/orders",
        r#"{"market":"btcusdt","side":"buy","ord_type":"market","volume":"0.001","client_id":"HBOT-2"}"#,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let mid = json(&b)["id"].as_u64().unwrap();
    until_order(&mut ws, &mut seen, mid, "done").await;
    let (s, b) = signed(addr, "k1", "GET", &format!("market/orders/{mid}"), "").await;
    assert_eq!(s, 200);
    let done = json(&b);
    assert_eq!(
        (done["state"].as_str(), done["executed_volume"].as_str()),
        (Some("done"), Some("0.001"))
    );
    let (_, b) = signed(addr, "k1", "GET", "market/trades?market=btcusdt", "").await;
    let trades = json(&b);
    let trades = trades.as_array().unwrap();
    assert!(!trades.is_empty());
    assert!(trades
        .iter()
        .all(|t| t["order_id"] == mid && t["fee_currency"] == "btc"));
    assert!(seen.iter().any(|f| f.starts_with(r#"{"trade""#)));
    assert!(seen.iter().any(|f| f.starts_with(r#"{"balance""#)));

    // Cancel: the order object at once, the cancel on the stream.
    let (s, b) = signed(
        addr,
        "k1",
        "POST",
        &format!("market/orders/{rid}/cancel"),
        "",
    )
    .await;
    assert_eq!(s, 201, "{b}");
    until_order(&mut ws, &mut seen, rid, "cancel").await;
    let (_, b) = signed(addr, "k1", "GET", "market/orders?state=cancel", "").await;
    let list = json(&b);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["client_id"], "HBOT-1");

    // Errors, Peatio style; none reaches the engine.
    let cases = [
        (
            "POST",
            "market/orders",
            "{not json",
            400,
            "server.request.malformed_json",
        ),
        (
            "POST",
            "market/orders",
            r#"{"market":"btcusdt","side":"up","ord_type":"limit","volume":"1","price":"1"}"#,
            422,
            "market.order.invalid_params",
        ),
        (
            "POST",
            "market/orders",
            r#"{"market":"dogeusdt","side":"buy","ord_type":"limit","volume":"1","price":"1"}"#,
            422,
            "market.market.doesnt_exist_or_not_enabled",
        ),
        (
            "POST",
            "market/orders",
            r#"{"market":"btcusdt","side":"buy","ord_type":"market","volume":"1","price":"1"}"#,
            422,
            "market.order.market_order_price",
        ),
        (
            "POST",
            "market/orders",
            r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"-1","price":"1"}"#,
            422,
            "market.order.invalid_volume_or_price",
        ),
        (
            "POST",
            "market/orders/999999/cancel",
            "",
            404,
            "record.not_found",
        ),
        (
            "POST",
            "market/orders/abc/cancel",
            "",
            422,
            "market.order.invaild_id_or_uuid",
        ),
        ("GET", "market/orders/999999", "", 404, "record.not_found"),
        (
            "GET",
            "market/orders?limit=5000",
            "",
            422,
            "market.order.invalid_limit",
        ),
    ];
    for (m, p, body, status, code) in cases {
        let (s, b) = signed(addr, "k1", m, p, body).await;
        assert_eq!(
            (s, json(&b)["errors"][0].as_str()),
            (status, Some(code)),
            "{m} {p} {body}"
        );
    }
    let big = format!(r#"{{"market":"btcusdt","pad":"{}"}}"#, "x".repeat(70_000));
    let (s, b) = signed(addr, "k1", "POST", "market/orders", &big).await;
    assert_eq!(
        (s, json(&b)["errors"][0].as_str()),
        (413, Some("server.request.body_too_large"))
    );
    // An exchange refusal comes back from the engine.
    let (s, b) = signed(
        addr,
        "k2",
        "POST",
        "market/orders",
        r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"1","price":"1000.00"}"#,
    )
    .await;
    assert_eq!(
        (s, json(&b)["errors"][0].as_str()),
        (422, Some("market.account.insufficient_balance"))
    );

    // Two keys are two accounts.
    let (_, b) = signed(addr, "k2", "GET", "market/orders", "").await;
    assert_eq!(
        json(&b).as_array().unwrap().len(),
        1,
        "only k2's rejected order"
    );
    let (s, _) = signed(addr, "k2", "GET", &format!("market/orders/{rid}"), "").await;
    assert_eq!(s, 404, "k1's order is not k2's");
    let (_, b) = signed(addr, "k2", "GET", "account/balances", "").await;
    assert!(
        b.contains(r#"{"currency":"usdt","balance":"500.0","locked":"0.0"}"#),
        "{b}"
    );

    let summary = paper.stop().await.unwrap();
    assert!(summary.requests >= 4 && summary.orders == 3, "{summary:?}");
    // What the client received is what the session logged for k1, in order.
    let log = String::from_utf8(read(&out.join("results/private.log"))).unwrap();
    let k1: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, r)| r))
        .filter_map(|r| r.strip_prefix("k1 "))
        .collect();
    assert_eq!(
        k1[..seen.len()],
        seen.iter().map(|s| s.as_str()).collect::<Vec<_>>()[..]
    );

    let (r, again) = assert_replays(&out, "replay");
    assert!(!r.cut);
    assert!(String::from_utf8(read(&again.join("orders.csv")))
        .unwrap()
        .contains("HBOT-2"));
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_auth_failure_has_its_code() {
    let out = scratch("auth");
    let paper = Paper::start(config(&out, vec![account("k1", "1", "1")]), false)
        .await
        .unwrap();
    let addr = paper.addr;
    let path = "/api/v2/peatio/account/balances";
    let nonce = now_ms().to_string();
    let good = sign("k1-secret", &nonce, "k1");
    let old = (now_ms() - 60_000).to_string();
    let cases = [
        (String::new(), 422, "authz.invalid_api_key_headers"),
        (
            format!("X-Auth-Apikey: k1\r\nX-Auth-Nonce: {nonce}\r\n"),
            422,
            "authz.invalid_api_key_headers",
        ),
        (
            format!(
                "X-Auth-Apikey: nobody\r\nX-Auth-Nonce: {nonce}\r\nX-Auth-Signature: {good}\r\n"
            ),
            401,
            "authz.unexistent_apikey",
        ),
        (
            format!(
                "X-Auth-Apikey: k1\r\nX-Auth-Nonce: {old}\r\nX-Auth-Signature: {}\r\n",
                sign("k1-secret", &old, "k1")
            ),
            401,
            "authz.nonce_expired",
        ),
        (
            format!(
                "X-Auth-Apikey: k1\r\nX-Auth-Nonce: {nonce}\r\nX-Auth-Signature: {}\r\n",
                sign("wrong", &nonce, "k1")
            ),
            401,
            "authz.invalid_signature",
        ),
    ];
    for (headers, status, code) in cases {
        let (s, b) = http(addr, "GET", path, &headers, "").await;
        assert_eq!(
            (s, json(&b)["errors"][0].as_str()),
            (status, Some(code)),
            "{headers:?}"
        );
    }
    let (s, _) = http(addr, "GET", path, &auth_headers("k1"), "").await;
    assert_eq!(s, 200);
    // The private WebSocket refuses an upgrade without the headers.
    let r = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v2/ranger/private")).await;
    match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 422),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    paper.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_lose_and_duplicate_no_order() {
    const CLIENTS: usize = 20;
    const ORDERS: usize = 500;
    let out = scratch("many");
    let accounts = (0..CLIENTS)
        .map(|i| account(&format!("c{i}"), "100000", "0"))
        .collect();
    let paper = Paper::start(config(&out, accounts), false).await.unwrap();
    let addr = paper.addr;
    book_ready(addr).await;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        tasks.push(tokio::spawn(async move {
            let key = format!("c{c}");
            let mut ids = Vec::new();
            for n in 0..ORDERS {
                let body = format!(
                    r#"{{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.001","price":"{}.00","client_id":"{key}-{n}"}}"#,
                    1000 + n
                );
                let (s, b) = signed(addr, &key, "POST", "market/orders", &body).await;
                assert_eq!(s, 201, "{b}");
                ids.push(json(&b)["id"].as_u64().unwrap());
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for (c, t) in tasks.into_iter().enumerate() {
        let ids = t.await.unwrap();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "client {c}: {ids:?}");
        all.extend(ids);
        let (_, b) = signed(
            addr,
            &format!("c{c}"),
            "GET",
            "market/orders?limit=1000&order_by=asc",
            "",
        )
        .await;
        let list = json(&b);
        let got: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["client_id"].as_str().unwrap().to_string())
            .collect();
        let want: Vec<String> = (0..ORDERS).map(|n| format!("c{c}-{n}")).collect();
        assert_eq!(got, want, "client {c}");
    }
    // Order ids are the session's: every one handed out once.
    all.sort_unstable();
    assert_eq!(all, (1..=(CLIENTS * ORDERS) as u64).collect::<Vec<_>>());
    let s = paper.stop().await.unwrap();
    assert_eq!(s.orders, (CLIENTS * ORDERS) as u64);
    let (_, again) = assert_replays(&out, "many-replay");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latencies_tick_the_clock_and_the_replay_follows() {
    let out = scratch("latency");
    let text = "seed = 7\n[latency]\nentry_ms = 30\nentry_jitter_ms = 20\nresponse_ms = 10\n";
    let mut cfg = config(&out, vec![account("k1", "10000", "1")]);
    cfg.exchange = altsim::scenario::parse_exchange(Path::new("x.toml"), text).unwrap();
    cfg.exchange_source = ("x.toml".into(), text.into());
    let paper = Paper::start(cfg, false).await.unwrap();
    let addr = paper.addr;
    book_ready(addr).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let body = format!(
            r#"{{"market":"btcusdt","side":"sell","ord_type":"limit","volume":"0.01","price":"{}.00"}}"#,
            90_000 + n
        );
        let (s, b) = signed(addr, "k1", "POST", "market/orders", &body).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(json(&b)["state"], "wait");
        ids.push(json(&b)["id"].as_u64().unwrap());
    }
    let (s, b) = signed(
        addr,
        "k1",
        "POST",
        "market/orders/cancel",
        r#"{"side":"sell"}"#,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(json(&b).as_array().unwrap().len(), 5);
    paper.stop().await.unwrap();
    let journal = String::from_utf8(read(&out.join("journal.ranger"))).unwrap();
    assert!(
        journal.contains(" !tick {}"),
        "answers after a latency fall due on a tick"
    );
    assert!(journal.contains(" !cancel_all {"));
    let orders = String::from_utf8(read(&out.join("results/orders.csv"))).unwrap();
    assert_eq!(orders.matches(",cancel,").count(), 5, "{orders}");
    let (_, again) = assert_replays(&out, "latency-replay");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_session_leaves_a_journal_that_replays() {
    use std::io::BufRead;
    let out = scratch("kill");
    let accounts = out.with_extension("accounts.toml");
    std::fs::write(
        &accounts,
        "[[account]]\nkey = \"k1\"\nsecret = \"k1-secret\"\n[account.balances]\nusdt = \"1000\"\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_altsim"))
        .args(["paper", "--captures", SAMPLE, "--accounts"])
        .arg(&accounts)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line.trim().trim_start_matches("http://").parse().unwrap();
    book_ready(addr).await;
    for n in 0..3 {
        let body = format!(
            r#"{{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.001","price":"{}.00"}}"#,
            1000 + n
        );
        let (s, b) = signed(addr, "k1", "POST", "market/orders", &body).await;
        assert_eq!(s, 201, "{b}");
    }
    // Answered requests are on disk before their answers leave: kill at once.
    child.kill().unwrap();
    child.wait().unwrap();
    let journal = std::fs::read_to_string(out.join("journal.ranger")).unwrap();
    assert_eq!(journal.matches(" !place ").count(), 3);
    let again = scratch("kill-replay");
    let r = altsim::paper::journal::replay(&out, &again).unwrap();
    assert!(r.cut);
    assert_eq!((r.requests, r.orders), (3, 3));
    let orders = String::from_utf8(read(&again.join("orders.csv"))).unwrap();
    assert_eq!(orders.matches(",wait,").count(), 3, "{orders}");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
    let _ = std::fs::remove_file(&accounts);
}
