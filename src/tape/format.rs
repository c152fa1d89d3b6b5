//! The capture file format: a header line, then one record a line.
//!
//! ```text
//! #altsim-capture {"version":1,"venue":"altmarkets","source":"wss://…","markets":[…]}
//! 1723161254206652067 {"btcusdt.ob-inc":{"bids":["61820.99",""],"sequence":42}}
//! 1723161254300000000 !disconnect {"reason":"connection reset"}
//! ```
//! A record is `<receive time, ns since the Unix epoch> <payload>`. A payload that does not
//! start with `!` is a received text frame, byte for byte. A payload starting with `!` is a
//! session record written by the recorder (see [`Session`]); a received frame that cannot
//! stand on one line verbatim (it holds a line break, or starts with `!`) is written as
//! `!text "<JSON string>"`, and a binary frame as `!binary "<hex>"`, so nothing received is
//! ever dropped. A file without the header line (such as the shipped sample) is read the same.

use crate::venue::rest::{Depth, OrderRequest};
use crate::venue::{MarketJson, Side};
use serde::{Deserialize, Serialize};

/// The first line's marker.
pub const HEADER_MARK: &str = "#altsim-capture ";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The header line's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub version: u32,
    pub venue: String,
    pub source: String,
    /// Markets recorded, with the rules fetched when the recording started.
    pub markets: Vec<MarketJson>,
    /// Receive-clock time at which the file was opened, ns.
    #[serde(default)]
    pub started_ns: i64,
}

impl Header {
    pub fn to_line(&self) -> String {
        format!(
            "{HEADER_MARK}{}\n",
            serde_json::to_string(self).expect("header serializes")
        )
    }
}

/// What the recorder noted about the session itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Session {
    /// A connection was opened to `url`.
    Connect { url: String },
    /// Streams were requested.
    Subscribe { streams: Vec<String> },
    /// Streams were dropped (for a resync).
    Unsubscribe { streams: Vec<String> },
    /// The connection ended; every book is untrusted until its next snapshot.
    Disconnect { reason: String },
    /// The recorder saw `got` where it expected sequence `expected`.
    Gap {
        market: String,
        expected: u64,
        got: u64,
    },
    /// The recorder resubscribed `market` to get a fresh snapshot.
    Resync { market: String },
    /// A REST depth snapshot, fetched on the side.
    Depth { market: String, depth: Depth },
    /// Paper trading: an order request accepted from API key `key`.
    Place { key: String, order: OrderRequest },
    /// Paper trading: a cancel of one order from API key `key`.
    Cancel { key: String, id: u64 },
    /// Paper trading: a cancel of every open order of `key` (of a market, of a side).
    #[serde(rename = "cancel_all")]
    CancelAll {
        key: String,
        market: Option<String>,
        side: Option<Side>,
    },
    /// Paper trading: the clock moved on with no frame, because something in flight fell due.
    Tick {},
    /// Paper trading: the session ended.
    Stop {},
}

impl Session {
    pub fn name(&self) -> &'static str {
        match self {
            Session::Connect { .. } => "connect",
            Session::Subscribe { .. } => "subscribe",
            Session::Unsubscribe { .. } => "unsubscribe",
            Session::Disconnect { .. } => "disconnect",
            Session::Gap { .. } => "gap",
            Session::Resync { .. } => "resync",
            Session::Depth { .. } => "depth",
            Session::Place { .. } => "place",
            Session::Cancel { .. } => "cancel",
            Session::CancelAll { .. } => "cancel_all",
            Session::Tick {} => "tick",
            Session::Stop {} => "stop",
        }
    }

    /// The payload after the receive time: `!gap {"market":…}`.
    pub fn to_payload(&self) -> String {
        let mut v = serde_json::to_value(self).expect("session serializes");
        if let Some(obj) = v.as_object_mut() {
            obj.remove("kind");
        }
        format!("!{} {}", self.name(), v)
    }

    /// Parses the payload of a `!` record other than `!text`/`!binary`.
    pub fn parse_payload(name: &str, json: &str) -> Result<Session, super::reader::BadRecord> {
        use super::reader::BadRecord;
        let session = |source| BadRecord::Session {
            name: name.to_string(),
            source,
        };
        let mut v: serde_json::Value = serde_json::from_str(json).map_err(session)?;
        let obj = v
            .as_object_mut()
            .ok_or_else(|| BadRecord::NotObject(name.to_string()))?;
        obj.insert("kind".into(), serde_json::Value::String(name.to_string()));
        serde_json::from_value(v).map_err(session)
    }
}

/// One record's payload as written: how a received frame goes on the line.
pub fn frame_payload(frame: &[u8]) -> String {
    match std::str::from_utf8(frame) {
        Ok(text) if !text.starts_with('!') && !text.contains(['\n', '\r']) => text.to_string(),
        Ok(text) => format!("!text {}", serde_json::Value::String(text.to_string())),
        Err(_) => binary_payload(frame),
    }
}

/// The payload of a binary frame.
pub fn binary_payload(frame: &[u8]) -> String {
    let mut s = String::with_capacity(10 + frame.len() * 2);
    s.push_str("!binary \"");
    for b in frame {
        s.push_str(&format!("{b:02x}"));
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_payloads_round_trip() {
        let all = [
            Session::Connect {
                url: "ws://127.0.0.1:1/".into(),
            },
            Session::Subscribe {
                streams: vec!["btcusdt.ob-inc".into()],
            },
            Session::Disconnect {
                reason: "reset".into(),
            },
            Session::Gap {
                market: "btcusdt".into(),
                expected: 5,
                got: 9,
            },
            Session::Resync {
                market: "btcusdt".into(),
            },
            Session::Place {
                key: "k1".into(),
                order: OrderRequest {
                    market: "btcusdt".into(),
                    side: Side::Buy,
                    ord_type: "limit".into(),
                    volume: "0.5".into(),
                    price: Some("60000.0".into()),
                    client_id: Some("HBOT-1".into()),
                },
            },
            Session::Cancel {
                key: "k1".into(),
                id: 7,
            },
            Session::CancelAll {
                key: "k1".into(),
                market: None,
                side: Some(Side::Sell),
            },
            Session::Tick {},
            Session::Stop {},
        ];
        for s in all {
            let p = s.to_payload();
            let (name, json) = p[1..].split_once(' ').unwrap();
            assert_eq!(Session::parse_payload(name, json).unwrap(), s, "{p}");
        }
        assert_eq!(frame_payload(b"{\"a\":1}"), "{\"a\":1}");
        assert_eq!(frame_payload(b"!x\ny"), "!text \"!x\\ny\"");
        assert_eq!(frame_payload(&[0xff, 0x01]), "!binary \"ff01\"");
    }
}
