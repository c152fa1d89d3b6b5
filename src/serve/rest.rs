//! Peatio's public REST, answered from the playback's state, and the server's stats.

use super::hub::Hub;
use crate::venue::rest::{codes, ErrorBody, Tickers, Timestamp};
use crate::venue::MarketJson;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

pub type Shared = Arc<Mutex<Hub>>;

fn error(status: StatusCode, code: &str) -> Response {
    let body = ErrorBody {
        errors: vec![code.to_string()],
    };
    (status, Json(body)).into_response()
}

fn now_s(h: &Hub) -> i64 {
    h.now_ns.div_euclid(1_000_000_000)
}

/// The server's time as Peatio 2.4+ answers it: an ISO-8601 JSON string (a bare number, as
/// 2.3 sent, makes Hummingbot's network check fail).
pub async fn timestamp(State(hub): State<Shared>) -> Json<Timestamp> {
    let ns = now_s(&hub.lock().expect("hub lock")) * 1_000_000_000;
    Json(Timestamp::Iso(crate::utc::iso(ns)))
}

pub async fn markets(State(hub): State<Shared>) -> Json<Vec<MarketJson>> {
    let h = hub.lock().expect("hub lock");
    Json(h.markets.iter().map(|m| m.rules.json.clone()).collect())
}

pub async fn tickers(State(hub): State<Shared>) -> Json<Tickers> {
    let h = hub.lock().expect("hub lock");
    let now = now_s(&h);
    Json(
        h.markets
            .iter()
            .map(|m| (m.rules.id.clone(), m.ticker(now)))
            .collect(),
    )
}

pub async fn ticker(State(hub): State<Shared>, Path(market): Path<String>) -> Response {
    let h = hub.lock().expect("hub lock");
    match h.market(&market) {
        Some(m) => Json(m.ticker(now_s(&h))).into_response(),
        None => error(StatusCode::NOT_FOUND, codes::NOT_FOUND),
    }
}

#[derive(Deserialize)]
pub struct Limit {
    limit: Option<String>,
}

/// The `limit` asked for, `None` when it is not a number in `1..=max`.
fn limit(q: &Limit, default: usize, max: usize) -> Option<usize> {
    match &q.limit {
        None => Some(default),
        Some(s) => s.parse::<usize>().ok().filter(|n| (1..=max).contains(n)),
    }
}

fn bad_limit() -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "public.market.invalid_limit",
    )
}

pub async fn depth(
    State(hub): State<Shared>,
    Path(market): Path<String>,
    Query(q): Query<Limit>,
) -> Response {
    let Some(n) = limit(&q, 300, 1000) else {
        return bad_limit();
    };
    let h = hub.lock().expect("hub lock");
    match h.market(&market) {
        Some(m) => Json(m.depth(n, now_s(&h))).into_response(),
        None => error(StatusCode::NOT_FOUND, codes::NOT_FOUND),
    }
}

pub async fn trades(
    State(hub): State<Shared>,
    Path(market): Path<String>,
    Query(q): Query<Limit>,
) -> Response {
    let Some(n) = limit(&q, 100, 1000) else {
        return bad_limit();
    };
    let h = hub.lock().expect("hub lock");
    match h.market(&market) {
        Some(m) => {
            let newest_first: Vec<_> = m.trades.iter().rev().take(n).cloned().collect();
            Json(newest_first).into_response()
        }
        None => error(StatusCode::NOT_FOUND, codes::NOT_FOUND),
    }
}

/// One client in the stats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientReport {
    pub id: u64,
    pub addr: String,
    pub frames_sent: u64,
    /// Frames queued for the client (sent, or still in flight).
    #[serde(default)]
    pub frames_queued: u64,
    pub malformed_sent: u64,
    pub dropped_slow: bool,
    pub closed: bool,
}

/// `GET /stats`: what the server sent to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub frames_published: u64,
    pub playback_done: bool,
    /// Sequence of the last increment, per market.
    pub sequences: std::collections::BTreeMap<String, u64>,
    /// Clients that ever connected.
    #[serde(default)]
    pub clients_seen: u64,
    /// Every open client and the latest closed ones (at most 1,000 in all).
    pub clients: Vec<ClientReport>,
    /// HTTP connections (WebSocket ones included) open now, accepted, and refused at a
    /// connection limit.
    #[serde(default)]
    pub connections_open: usize,
    #[serde(default)]
    pub connections_accepted: u64,
    #[serde(default)]
    pub connections_refused: u64,
    /// Connections open now, by client address.
    #[serde(default)]
    pub connections_by_address: std::collections::BTreeMap<String, usize>,
}

pub fn stats_of(h: &Hub) -> Stats {
    let conns = h.slots.stats();
    Stats {
        connections_open: conns.open,
        connections_accepted: conns.accepted,
        connections_refused: conns.refused,
        connections_by_address: conns
            .by_ip
            .iter()
            .map(|(ip, n)| (ip.to_string(), *n))
            .collect(),
        frames_published: h.frames_published,
        playback_done: h.playback_done,
        sequences: h
            .markets
            .iter()
            .map(|m| (m.rules.id.clone(), m.sequence))
            .collect(),
        clients_seen: h.clients_seen,
        clients: h
            .history
            .iter()
            .map(|c| ClientReport {
                id: c.id,
                addr: c.addr.clone(),
                frames_sent: c.frames_sent.load(Ordering::Relaxed),
                frames_queued: c.frames_queued.load(Ordering::Relaxed),
                malformed_sent: c.malformed_sent.load(Ordering::Relaxed),
                dropped_slow: c.dropped_slow.load(Ordering::Relaxed),
                closed: c.closed.load(Ordering::Relaxed),
            })
            .collect(),
    }
}

pub async fn stats(State(hub): State<Shared>) -> Json<Stats> {
    Json(stats_of(&hub.lock().expect("hub lock")))
}
