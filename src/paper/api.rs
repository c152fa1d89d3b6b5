//! The private half of the endpoint: Peatio's private REST under `/api/v2/peatio` and ranger's
//! private WebSocket, behind Barong API-key auth. Requests that change state go to the engine
//! task to be journaled and applied; reads are answered from the account's view.

use super::nonces::{self, Seen};
use super::order::new_order;
use super::view::Read;
use crate::serve::conn::TaskGuard;
use crate::serve::session::{close, close_code, Closing};
use crate::tape::Session;
use crate::venue::auth::{self, AuthError};
use crate::venue::rest::{codes, ErrorBody, OrderRequest};
use crate::venue::{ClientRequest, MarketRules, Side};
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The largest request body taken, bytes.
pub const MAX_BODY: usize = 64 * 1024;
/// Private frames queued for one WebSocket client before it is dropped as too slow.
pub const PRIVATE_QUEUE: usize = 65_536;

/// What the HTTP side asks of the engine task.
pub enum Cmd {
    /// A request to journal and apply; the answer comes back on `reply`.
    Request {
        session: Session,
        reply: oneshot::Sender<(u16, String)>,
    },
    Read {
        account: usize,
        read: Read,
        reply: oneshot::Sender<(u16, String)>,
    },
    /// A private WebSocket client of `account`: every private frame goes to `tx`.
    Watch { account: usize, tx: PrivateTx },
}

/// The private endpoint's shared state.
#[derive(Clone)]
pub struct Api {
    /// Key → (account index, secret).
    keys: Arc<BTreeMap<String, (usize, String)>>,
    markets: Arc<Vec<MarketRules>>,
    cmds: mpsc::Sender<Cmd>,
    /// Held by each private WebSocket session, so that the server's stop waits for it.
    guard: TaskGuard,
    /// State-changing requests taken within the nonce window.
    seen: Arc<std::sync::Mutex<Seen>>,
}

/// A request refused before the engine: a status and a Peatio error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub u16, pub &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        errors(self.0, self.1)
    }
}

/// Where a private WebSocket client's frames go: (stream, frame).
pub type PrivateTx = mpsc::Sender<(&'static str, Arc<str>)>;

fn errors(status: u16, code: &str) -> Response {
    let body = serde_json::to_string(&ErrorBody {
        errors: vec![code.to_string()],
    })
    .expect("serializes");
    json(status, body)
}

fn json(status: u16, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

/// Unix ms by the wall clock: nonces are checked against it, never against a replay's clock.
fn wall_ms() -> i64 {
    crate::utc::wall_ns() / 1_000_000
}

impl Api {
    pub fn new(
        keys: BTreeMap<String, (usize, String)>,
        markets: Vec<MarketRules>,
        cmds: mpsc::Sender<Cmd>,
        guard: TaskGuard,
    ) -> Api {
        Api {
            keys: Arc::new(keys),
            markets: Arc::new(markets),
            cmds,
            guard,
            seen: Arc::default(),
        }
    }

    pub fn router(self) -> Router {
        let base = "/api/v2/peatio";
        Router::new()
            .route(&format!("{base}/market/orders"), post(create).get(list))
            .route(&format!("{base}/market/orders/cancel"), post(cancel_all))
            .route(&format!("{base}/market/orders/{{id}}"), get(one))
            .route(&format!("{base}/market/orders/{{id}}/cancel"), post(cancel))
            .route(&format!("{base}/market/trades"), get(trades))
            .route(&format!("{base}/account/balances"), get(balances))
            .route("/api/v2/ranger/private", get(private_ws))
            .route("/api/v2/ranger/private/", get(private_ws))
            .layer(axum::middleware::from_fn(declared_size))
            .with_state(self)
    }

    /// The account and key of a signed call.
    fn auth(&self, h: &HeaderMap) -> Result<(usize, String), Refused> {
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
        let key = get(auth::HEADER_KEY);
        auth::verify(
            key,
            get(auth::HEADER_NONCE),
            get(auth::HEADER_SIGNATURE),
            wall_ms(),
            |k| self.keys.get(k).map(|(_, s)| s.as_str()),
        )
        .map_err(|e: AuthError| Refused(e.status(), e.code()))?;
        let key = key.unwrap_or_default().to_string();
        let account = self.keys[&key].0;
        Ok((account, key))
    }

    /// Refuses a state-changing request of `account` that was already taken: the same nonce
    /// header and the same `request` (method, path, query, body). See [`super::nonces`].
    fn once(&self, account: usize, h: &HeaderMap, request: &[&[u8]]) -> Result<(), Refused> {
        let raw = h.get(auth::HEADER_NONCE).map_or(&b""[..], |v| v.as_bytes());
        let value = auth::nonce_value(std::str::from_utf8(raw).unwrap_or_default());
        let mut parts = Vec::with_capacity(request.len() + 1);
        parts.push(raw);
        parts.extend_from_slice(request);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.take(account, value, &parts, wall_ms()) {
            Ok(())
        } else {
            Err(Refused(401, nonces::REPLAYED))
        }
    }

    async fn ask(
        &self,
        cmd: impl FnOnce(oneshot::Sender<(u16, String)>) -> Cmd,
    ) -> Result<Response, Refused> {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(cmd(tx)).await.is_err() {
            return Err(Refused(503, "server.paper.stopped"));
        }
        match rx.await {
            Ok((status, body)) => Ok(json(status, body)),
            Err(_) => Err(Refused(503, "server.paper.stopped")),
        }
    }

    async fn request(&self, session: Session) -> Result<Response, Refused> {
        self.ask(|reply| Cmd::Request { session, reply }).await
    }

    async fn read(&self, account: usize, read: Read) -> Result<Response, Refused> {
        self.ask(|reply| Cmd::Read {
            account,
            read,
            reply,
        })
        .await
    }
}

/// A request whose declared `Content-Length` is over [`MAX_BODY`] is answered 413 from its
/// headers, without waiting for a body that may never come.
async fn declared_size(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, Refused> {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Refused(413, "server.request.body_too_large"));
    }
    Ok(next.run(req).await)
}

/// The body, at most [`MAX_BODY`] bytes.
async fn body_of(body: Body) -> Result<axum::body::Bytes, Refused> {
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Refused(413, "server.request.body_too_large"))
}

/// Query parameters, decoded.
fn params(query: Option<String>) -> BTreeMap<String, String> {
    let q = query.unwrap_or_default();
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn create(State(api): State<Api>, h: HeaderMap, body: Body) -> Result<Response, Refused> {
    let (account, key) = api.auth(&h)?;
    let bytes = body_of(body).await?;
    api.once(account, &h, &[b"POST", b"market/orders", b"", &bytes])?;
    let v: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Err(Refused(400, "server.request.malformed_json")),
    };
    let order: OrderRequest = match serde_json::from_value(v) {
        Ok(o) => o,
        Err(_) => return Err(Refused(422, "market.order.invalid_params")),
    };
    if let Err(code) = new_order(&order, &api.markets) {
        return Err(Refused(422, code));
    }
    api.request(Session::Place { key, order }).await
}

async fn cancel(
    State(api): State<Api>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Refused> {
    let (account, key) = api.auth(&h)?;
    api.once(
        account,
        &h,
        &[b"POST", b"market/orders/{id}/cancel", id.as_bytes()],
    )?;
    let Ok(id) = id.parse::<u64>() else {
        return Err(Refused(422, codes::INVALID_ID));
    };
    api.request(Session::Cancel { key, id }).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelAll {
    market: Option<String>,
    side: Option<Side>,
}

async fn cancel_all(
    State(api): State<Api>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, Refused> {
    let (account, key) = api.auth(&h)?;
    let bytes = body_of(body).await?;
    let query = q.clone().unwrap_or_default();
    api.once(
        account,
        &h,
        &[b"POST", b"market/orders/cancel", query.as_bytes(), &bytes],
    )?;
    let p = params(q);
    let filter = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        let side = match p.get("side").map(|s| s.as_str()) {
            None => None,
            Some("buy") => Some(Side::Buy),
            Some("sell") => Some(Side::Sell),
            Some(_) => return Err(Refused(422, "market.order.invalid_side")),
        };
        CancelAll {
            market: p.get("market").cloned(),
            side,
        }
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(_) => return Err(Refused(422, "market.order.invalid_params")),
        }
    };
    if let Some(m) = &filter.market {
        if !api.markets.iter().any(|r| &r.id == m) {
            return Err(Refused(422, codes::MARKET_NOT_ENABLED));
        }
    }
    api.request(Session::CancelAll {
        key,
        market: filter.market,
        side: filter.side,
    })
    .await
}

async fn one(
    State(api): State<Api>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Refused> {
    let (account, _) = api.auth(&h)?;
    let Ok(id) = id.parse::<u64>() else {
        return Err(Refused(404, codes::NOT_FOUND));
    };
    api.read(account, Read::Order(id)).await
}

/// `limit` (1..=1000, default 100) and `page` (from 1).
fn paging(p: &BTreeMap<String, String>) -> Result<(usize, usize), Refused> {
    let num = |k: &str, d: usize| match p.get(k) {
        None => Ok(d),
        Some(v) => v.parse::<usize>().map_err(|_| ()),
    };
    let limit = num("limit", 100)
        .ok()
        .filter(|l| (1..=1000).contains(l))
        .ok_or(Refused(422, "market.order.invalid_limit"))?;
    let page = num("page", 1)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or(Refused(422, "market.order.invalid_page"))?;
    Ok((limit, page))
}

async fn list(
    State(api): State<Api>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Refused> {
    let (account, _) = api.auth(&h)?;
    let p = params(q);
    let (limit, page) = paging(&p)?;
    let ascending = match p.get("order_by").map(|s| s.as_str()) {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(Refused(422, "market.order.invalid_order_by")),
    };
    api.read(
        account,
        Read::Orders {
            market: p.get("market").cloned(),
            state: p.get("state").cloned(),
            limit,
            page,
            ascending,
        },
    )
    .await
}

async fn trades(
    State(api): State<Api>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Refused> {
    let (account, _) = api.auth(&h)?;
    let p = params(q);
    let (limit, page) = paging(&p)?;
    api.read(
        account,
        Read::Trades {
            market: p.get("market").cloned(),
            limit,
            page,
        },
    )
    .await
}

async fn balances(State(api): State<Api>, h: HeaderMap) -> Result<Response, Refused> {
    let (account, _) = api.auth(&h)?;
    api.read(account, Read::Balances).await
}

const PRIVATE_STREAMS: [&str; 3] = ["order", "trade", "balance"];

/// Protocol pings on the private WebSocket, as rango's.
const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(54);

async fn private_ws(
    State(api): State<Api>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
    ws: WebSocketUpgrade,
) -> Result<Response, Refused> {
    let (account, _) = api.auth(&h)?;
    let streams: Vec<String> = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "stream")
        .map(|(_, v)| v.into_owned())
        .collect();
    let (tx, rx) = mpsc::channel(PRIVATE_QUEUE);
    if api.cmds.send(Cmd::Watch { account, tx }).await.is_err() {
        return Err(Refused(503, "server.paper.stopped"));
    }
    let guard = api.guard.clone();
    Ok(ws
        .max_message_size(1 << 16)
        .on_upgrade(move |socket| async move {
            let _guard = guard;
            private_session(socket, rx, streams).await
        }))
}

/// Answers to a private client's requests queued before it counts as not reading.
const ANSWER_QUEUE: usize = 64;

/// What the reader and the writer of one private client share.
#[derive(Default)]
struct Private {
    subscribed: std::sync::Mutex<Vec<&'static str>>,
    closing: Closing,
    /// Wakes the writer when the reader ends.
    end: tokio::sync::Notify,
}

impl Private {
    fn add(&self, s: &str) {
        let mut subs = self.subscribed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = PRIVATE_STREAMS.iter().find(|k| **k == s) {
            if !subs.contains(k) {
                subs.push(k);
            }
        }
    }

    fn has(&self, stream: &str) -> bool {
        let subs = self.subscribed.lock().unwrap_or_else(|e| e.into_inner());
        subs.contains(&stream)
    }

    fn answer(&self, text: &str) -> String {
        match ClientRequest::parse(text) {
            Ok(ClientRequest::Ping) => "pong".to_string(),
            Ok(ClientRequest::Subscribe(list)) => {
                let unknown: Vec<&String> = list
                    .iter()
                    .filter(|s| !PRIVATE_STREAMS.contains(&s.as_str()))
                    .collect();
                if !unknown.is_empty() {
                    return serde_json::json!({ "error": format!("Unknown streams: {unknown:?}") })
                        .to_string();
                }
                for s in &list {
                    self.add(s);
                }
                let subs = self.subscribed.lock().unwrap_or_else(|e| e.into_inner());
                success("subscribed", &subs)
            }
            Ok(ClientRequest::Unsubscribe(list)) => {
                let mut subs = self.subscribed.lock().unwrap_or_else(|e| e.into_inner());
                subs.retain(|s| !list.iter().any(|l| l == s));
                success("unsubscribed", &subs)
            }
            Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
        }
    }
}

/// One private WebSocket client: subscriptions to `order`, `trade`, `balance`; frames in the
/// order the engine made them. The reader takes requests while the writer sends, so a
/// client's Close is answered at once even while frames wait for a full socket.
async fn private_session(
    socket: WebSocket,
    rx: mpsc::Receiver<(&'static str, Arc<str>)>,
    initial: Vec<String>,
) {
    let shared = Arc::new(Private::default());
    for s in &initial {
        shared.add(s);
    }
    let (sink, mut stream) = socket.split();
    let (answers_tx, answers) = mpsc::channel(ANSWER_QUEUE);
    let mut writer = tokio::spawn(private_writer(sink, rx, answers, shared.clone()));
    loop {
        tokio::select! {
            msg = stream.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) => {
                        shared.closing.set(None);
                        break;
                    }
                    None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                // A client whose answers pile up unread is closed.
                if answers_tx.try_send(shared.answer(text.as_str())).is_err() {
                    shared.closing.set(Some(close_code::POLICY));
                    break;
                }
            }
            _ = &mut writer => return,
        }
    }
    shared.end.notify_one();
    let _ = writer.await;
}

/// Sends a private client its answers and the frames of the streams it subscribed to, and
/// pings as ranger does; closes the socket when the reader or the engine ends.
async fn private_writer(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<(&'static str, Arc<str>)>,
    mut answers: mpsc::Receiver<String>,
    shared: Arc<Private>,
) {
    // Protocol pings as ranger sends them, so a quiet account's connection is not idle.
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        let sent = tokio::select! {
            biased;
            _ = shared.end.notified() => break,
            a = answers.recv() => match a {
                Some(a) => sink.send(Message::Text(a.into())).await,
                None => break,
            },
            f = frames.recv() => match f {
                Some((stream, frame)) if shared.has(stream) => {
                    sink.send(Message::Text(frame.as_ref().into())).await
                }
                Some(_) => Ok(()),
                None => {
                    shared.closing.set(Some(close_code::GOING_AWAY));
                    break;
                }
            },
            _ = ping.tick() => sink.send(Message::Ping(Vec::new().into())).await,
        };
        if sent.is_err() {
            break;
        }
    }
    close(&mut sink, shared.closing.code()).await;
}

fn success(message: &str, streams: &[&str]) -> String {
    serde_json::json!({ "success": { "message": message, "streams": streams } }).to_string()
}
