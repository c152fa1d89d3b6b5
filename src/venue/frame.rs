//! Ranger WebSocket frames (docs/protocol.md §3): typed parsing and printing.
//!
//! The public market-data frames are parsed by a borrowing scanner (they are the hot path of
//! every replay); the private and control frames go through serde.

use super::parse::{
    fast_increment, from_raw, parse_increment, parse_snapshot, parse_success, parse_trades, plain,
};
use super::scan::{ScanError, Scanner};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt::{self, Write};

/// The taker's side of a trade, or an order's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// A frame that could not be understood, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub reason: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for FrameError {}

impl From<ScanError> for FrameError {
    fn from(e: ScanError) -> Self {
        FrameError {
            reason: format!("malformed JSON: expected {} at byte {}", e.what, e.at),
        }
    }
}

pub(super) fn bad(reason: impl Into<String>) -> FrameError {
    FrameError {
        reason: reason.into(),
    }
}

/// One price level as sent: price and volume text. A volume of `""` or zero deletes the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level<'a> {
    pub price: &'a str,
    pub volume: &'a str,
}

/// The levels of one side in an increment: the flat pair the ranger code emits, or the nested
/// list the published docs show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncLevels<'a> {
    Flat(Level<'a>),
    Nested(Vec<Level<'a>>),
}

impl<'a> IncLevels<'a> {
    pub fn as_slice(&self) -> &[Level<'a>] {
        match self {
            IncLevels::Flat(l) => std::slice::from_ref(l),
            IncLevels::Nested(v) => v,
        }
    }
}

/// `{"<m>.ob-snap":{"asks":[[p,v],…],"bids":[[p,v],…],"sequence":S}}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot<'a> {
    pub market: &'a str,
    pub asks: Vec<Level<'a>>,
    pub bids: Vec<Level<'a>>,
    pub sequence: Option<u64>,
}

/// `{"<m>.ob-inc":{"asks":[p,v],"sequence":S}}` (or `bids`, or nested lists without sequence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment<'a> {
    pub market: &'a str,
    pub asks: Option<IncLevels<'a>>,
    pub bids: Option<IncLevels<'a>>,
    pub sequence: Option<u64>,
}

/// One public trade. `date` is unix seconds (the docs' `created_at` is accepted too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicTrade<'a> {
    pub tid: u64,
    pub taker_type: Side,
    pub date: i64,
    pub price: &'a str,
    pub amount: &'a str,
}

/// `{"<m>.trades":{"trades":[…]}}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trades<'a> {
    pub market: &'a str,
    pub trades: Vec<PublicTrade<'a>>,
}

/// `{"order":{…}}` on the private stream; also the REST order object's core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderUpdate {
    pub id: u64,
    pub market: String,
    pub kind: String,
    pub side: Side,
    pub ord_type: String,
    pub price: Option<String>,
    pub avg_price: String,
    pub state: String,
    pub origin_volume: String,
    pub remaining_volume: String,
    pub executed_volume: String,
    pub at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub trades_count: u64,
}

/// `{"trade":{…}}` on the private stream. The fee fields are the REST trade's, filled by the
/// simulator so a user sees what was charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeUpdate {
    pub id: u64,
    pub price: String,
    pub amount: String,
    pub total: String,
    pub market: String,
    pub side: Side,
    pub taker_type: Side,
    pub created_at: i64,
    pub order_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_amount: Option<String>,
}

/// `{"balance":{"currency","balance","locked"}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceUpdate {
    pub currency: String,
    pub balance: String,
    pub locked: String,
}

/// A frame a ranger server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `{"success":{"message":"subscribed","streams":[…]}}`
    Success {
        message: Cow<'a, str>,
        streams: Vec<Cow<'a, str>>,
    },
    /// `{"error":"…"}`
    Error(Cow<'a, str>),
    /// The raw text `pong`.
    Pong,
    Snapshot(Snapshot<'a>),
    Increment(Increment<'a>),
    Trades(Trades<'a>),
    Order(OrderUpdate),
    Trade(TradeUpdate),
    Balance(BalanceUpdate),
}

/// Which kind a frame is, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FrameKind {
    Success,
    Error,
    Pong,
    Snapshot,
    Increment,
    Trades,
    Order,
    Trade,
    Balance,
}

impl FrameKind {
    pub const ALL: [FrameKind; 9] = [
        FrameKind::Snapshot,
        FrameKind::Increment,
        FrameKind::Trades,
        FrameKind::Success,
        FrameKind::Error,
        FrameKind::Pong,
        FrameKind::Order,
        FrameKind::Trade,
        FrameKind::Balance,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Success => "success",
            FrameKind::Error => "error",
            FrameKind::Pong => "pong",
            FrameKind::Snapshot => "ob-snap",
            FrameKind::Increment => "ob-inc",
            FrameKind::Trades => "trades",
            FrameKind::Order => "order",
            FrameKind::Trade => "trade",
            FrameKind::Balance => "balance",
        }
    }
}

impl<'a> Frame<'a> {
    pub fn kind(&self) -> FrameKind {
        match self {
            Frame::Success { .. } => FrameKind::Success,
            Frame::Error(_) => FrameKind::Error,
            Frame::Pong => FrameKind::Pong,
            Frame::Snapshot(_) => FrameKind::Snapshot,
            Frame::Increment(_) => FrameKind::Increment,
            Frame::Trades(_) => FrameKind::Trades,
            Frame::Order(_) => FrameKind::Order,
            Frame::Trade(_) => FrameKind::Trade,
            Frame::Balance(_) => FrameKind::Balance,
        }
    }

    /// Parses one received text frame.
    pub fn parse(text: &'a str) -> Result<Frame<'a>, FrameError> {
        if let Some(inc) = fast_increment(text) {
            return Ok(Frame::Increment(inc));
        }
        if text.trim() == "pong" {
            return Ok(Frame::Pong);
        }
        let mut s = Scanner::new(text);
        s.expect(b'{', "'{' opening a frame")?;
        let key = plain(s.string()?, "stream name")?;
        s.expect(b':', "':'")?;
        let frame = if let Some(market) = key.strip_suffix(".ob-inc") {
            Frame::Increment(parse_increment(&mut s, market)?)
        } else if let Some(market) = key.strip_suffix(".trades") {
            Frame::Trades(parse_trades(&mut s, market)?)
        } else if let Some(market) = key.strip_suffix(".ob-snap") {
            Frame::Snapshot(parse_snapshot(&mut s, market)?)
        } else {
            match key {
                "success" => parse_success(&mut s)?,
                "error" => match s.scalar()? {
                    super::scan::Scalar::Str(m) => Frame::Error(m),
                    _ => return Err(bad("error frame: message is not a string")),
                },
                "order" => Frame::Order(from_raw(s.raw_value()?, "order")?),
                "trade" => Frame::Trade(from_raw(s.raw_value()?, "trade")?),
                "balance" => Frame::Balance(from_raw(s.raw_value()?, "balance")?),
                other => return Err(bad(format!("unknown stream or event {other:?}"))),
            }
        };
        if s.next_item(b'}')? {
            return Err(bad(format!("frame {key:?} has more than one key")));
        }
        s.end()?;
        Ok(frame)
    }

    /// Prints the frame as a ranger server sends it.
    pub fn to_json(&self) -> String {
        let mut o = String::with_capacity(96);
        match self {
            Frame::Pong => o.push_str("pong"),
            Frame::Success { message, streams } => {
                o.push_str("{\"success\":{\"message\":");
                push_json_str(&mut o, message);
                o.push_str(",\"streams\":[");
                for (i, st) in streams.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    push_json_str(&mut o, st);
                }
                o.push_str("]}}");
            }
            Frame::Error(m) => {
                o.push_str("{\"error\":");
                push_json_str(&mut o, m);
                o.push('}');
            }
            Frame::Snapshot(snap) => {
                let _ = write!(o, "{{\"{}.ob-snap\":{{\"asks\":", snap.market);
                push_levels(&mut o, &snap.asks);
                o.push_str(",\"bids\":");
                push_levels(&mut o, &snap.bids);
                if let Some(seq) = snap.sequence {
                    let _ = write!(o, ",\"sequence\":{seq}");
                }
                o.push_str("}}");
            }
            Frame::Increment(inc) => {
                let _ = write!(o, "{{\"{}.ob-inc\":{{", inc.market);
                let mut first = true;
                for (name, levels) in [("asks", &inc.asks), ("bids", &inc.bids)] {
                    if let Some(levels) = levels {
                        if !first {
                            o.push(',');
                        }
                        first = false;
                        let _ = write!(o, "\"{name}\":");
                        match levels {
                            IncLevels::Flat(l) => push_level(&mut o, l),
                            IncLevels::Nested(v) => push_levels(&mut o, v),
                        }
                    }
                }
                if let Some(seq) = inc.sequence {
                    if !first {
                        o.push(',');
                    }
                    let _ = write!(o, "\"sequence\":{seq}");
                }
                o.push_str("}}");
            }
            Frame::Trades(t) => {
                let _ = write!(o, "{{\"{}.trades\":{{\"trades\":[", t.market);
                for (i, tr) in t.trades.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    let _ = write!(
                        o,
                        "{{\"tid\":{},\"taker_type\":\"{}\",\"date\":{},\"price\":",
                        tr.tid,
                        tr.taker_type.as_str(),
                        tr.date
                    );
                    push_json_str(&mut o, tr.price);
                    o.push_str(",\"amount\":");
                    push_json_str(&mut o, tr.amount);
                    o.push('}');
                }
                o.push_str("]}}");
            }
            Frame::Order(v) => wrap(&mut o, "order", v),
            Frame::Trade(v) => wrap(&mut o, "trade", v),
            Frame::Balance(v) => wrap(&mut o, "balance", v),
        }
        o
    }
}

fn wrap<T: Serialize>(o: &mut String, key: &str, v: &T) {
    let body = serde_json::to_string(v).expect("wire structs serialize");
    let _ = write!(o, "{{\"{key}\":{body}}}");
}

fn push_json_str(o: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        o.push('"');
        o.push_str(s);
        o.push('"');
    } else {
        o.push_str(&serde_json::to_string(s).expect("strings serialize"));
    }
}

fn push_level(o: &mut String, l: &Level<'_>) {
    o.push('[');
    push_json_str(o, l.price);
    o.push(',');
    push_json_str(o, l.volume);
    o.push(']');
}

fn push_levels(o: &mut String, levels: &[Level<'_>]) {
    o.push('[');
    for (i, l) in levels.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        push_level(o, l);
    }
    o.push(']');
}

/// A request a client sends to ranger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRequest {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
    Ping,
}

#[derive(Deserialize)]
struct RawRequest {
    event: String,
    streams: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<serde_json::Value>,
}

impl ClientRequest {
    pub fn parse(text: &str) -> Result<ClientRequest, FrameError> {
        if text.trim() == "ping" {
            return Ok(ClientRequest::Ping);
        }
        let raw: RawRequest =
            serde_json::from_str(text).map_err(|e| bad(format!("Could not parse: {e}")))?;
        match raw.event.as_str() {
            "subscribe" => Ok(ClientRequest::Subscribe(raw.streams)),
            "unsubscribe" => Ok(ClientRequest::Unsubscribe(raw.streams)),
            other => Err(bad(format!("Could not parse: unknown event {other:?}"))),
        }
    }

    pub fn to_json(&self) -> String {
        let (event, streams) = match self {
            ClientRequest::Ping => return "ping".to_string(),
            ClientRequest::Subscribe(s) => ("subscribe", s),
            ClientRequest::Unsubscribe(s) => ("unsubscribe", s),
        };
        serde_json::json!({"event": event, "streams": streams}).to_string()
    }
}
