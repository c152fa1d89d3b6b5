//! A minimal Peatio client trading on `altsim paper`: signs with the Barong headers, places a
//! limit order, reads it back, cancels it and prints the balances.
//!
//! ```sh
//! cargo run --release -- paper --captures data/btcusdt-20240808T2354Z.ranger.gz \
//!     --accounts examples/accounts.toml --out results/paper &
//! cargo run --release --example paper_client -- http://127.0.0.1:PORT
//! ```

use altsim::venue::auth::sign;

const KEY: &str = "paper-key-1";
const SECRET: &str = "paper-secret-1";

fn call(method: &str, url: &str, body: Option<&str>) -> Result<String, String> {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis()
        .to_string();
    let signature = sign(SECRET, &nonce, KEY);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let result = match (method, body) {
        ("POST", b) => agent
            .post(url)
            .header("X-Auth-Apikey", KEY)
            .header("X-Auth-Nonce", &nonce)
            .header("X-Auth-Signature", &signature)
            .content_type("application/json")
            .send(b.unwrap_or("")),
        _ => agent
            .get(url)
            .header("X-Auth-Apikey", KEY)
            .header("X-Auth-Nonce", &nonce)
            .header("X-Auth-Signature", &signature)
            .call(),
    };
    let mut resp = result.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    println!("{method} {url} → {status}\n  {text}");
    Ok(text)
}

fn main() -> Result<(), String> {
    let base = std::env::args()
        .nth(1)
        .ok_or("usage: paper_client BASE_URL (the first line `altsim paper` prints)")?;
    let api = format!("{}/api/v2/peatio", base.trim_end_matches('/'));
    let placed = call(
        "POST",
        &format!("{api}/market/orders"),
        Some(
            r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.001","price":"50000.00","client_id":"example-1"}"#,
        ),
    )?;
    let order: serde_json::Value = serde_json::from_str(&placed).map_err(|e| e.to_string())?;
    let Some(id) = order["id"].as_u64() else {
        return Err(format!("the order was refused: {placed}"));
    };
    call("GET", &format!("{api}/market/orders/{id}"), None)?;
    call("POST", &format!("{api}/market/orders/{id}/cancel"), None)?;
    call("GET", &format!("{api}/account/balances"), None)?;
    Ok(())
}
