//! Peatio REST shapes (docs/protocol.md §1): public market data, orders, balances and errors.

use super::frame::Side;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET public/markets/{m}/depth`: asks ascending, bids descending, `[price, volume]` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Depth {
    pub timestamp: i64,
    pub asks: Vec<[String; 2]>,
    pub bids: Vec<[String; 2]>,
}

/// One row of `GET public/markets/{m}/trades` (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestTrade {
    pub id: u64,
    pub price: String,
    pub amount: String,
    pub total: String,
    pub market: String,
    pub created_at: i64,
    pub taker_type: Side,
}

/// The inner ticker of `GET public/markets/tickers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticker {
    pub low: String,
    pub high: String,
    pub open: String,
    pub last: String,
    pub volume: String,
    pub amount: String,
    pub vol: String,
    pub avg_price: String,
    pub price_change_percent: String,
    pub at: i64,
}

/// `{"at":…,"ticker":{…}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickerEntry {
    pub at: i64,
    pub ticker: Ticker,
}

/// `GET public/markets/tickers`, keyed by market id in sorted order.
pub type Tickers = BTreeMap<String, TickerEntry>;

/// `GET public/timestamp`: seconds in Peatio 2.3, an ISO-8601 string later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Timestamp {
    Seconds(i64),
    Iso(String),
}

/// `POST market/orders` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub market: String,
    pub side: Side,
    pub ord_type: String,
    pub volume: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The REST order object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestOrder {
    pub id: u64,
    pub uuid: String,
    pub side: Side,
    pub ord_type: String,
    pub price: Option<String>,
    pub avg_price: String,
    pub state: String,
    pub market: String,
    pub created_at: String,
    pub updated_at: String,
    pub origin_volume: String,
    pub remaining_volume: String,
    pub executed_volume: String,
    pub trades_count: u64,
    /// The client's own id, echoed (`null` when none was given).
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maker_fee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taker_fee: Option<String>,
}

/// One row of `GET account/balances`: `balance` is available, `locked` is held by orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestBalance {
    pub currency: String,
    pub balance: String,
    pub locked: String,
}

/// `{"errors":["market.account.insufficient_balance"]}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<String>,
}

/// Peatio's error codes.
pub mod codes {
    pub const INSUFFICIENT_BALANCE: &str = "market.account.insufficient_balance";
    pub const INSUFFICIENT_LIQUIDITY: &str = "market.order.insufficient_market_liquidity";
    pub const INVALID_VOLUME_OR_PRICE: &str = "market.order.invalid_volume_or_price";
    pub const MARKET_ORDER_PRICE: &str = "market.order.market_order_price";
    pub const CREATE_ERROR: &str = "market.order.create_error";
    pub const CANCEL_ERROR: &str = "market.order.cancel_error";
    pub const INVALID_ID: &str = "market.order.invaild_id_or_uuid";
    pub const NOT_FOUND: &str = "record.not_found";
    /// altsim's own: the simulated book is out of sync with the feed (before the first
    /// snapshot, after a sequence gap or a disconnect) and cannot match an order.
    pub const BOOK_NOT_SYNCED: &str = "market.order.book_not_synced";
    /// Peatio's answer for an order on a market that is missing or not `enabled`.
    pub const MARKET_NOT_ENABLED: &str = "market.market.doesnt_exist_or_not_enabled";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(text: &str) {
        let v: T = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
    }

    #[test]
    fn rest_shapes_round_trip() {
        round_trip::<Depth>(
            r#"{"timestamp":1723161254,"asks":[["61837.64","1.54698"]],"bids":[["61837.63","3.78826"]]}"#,
        );
        round_trip::<Vec<RestTrade>>(
            r#"[{"id":7,"price":"61837.63","amount":"0.048","total":"2968.20624","market":"btcusdt","created_at":1723161255,"taker_type":"sell"}]"#,
        );
        round_trip::<Tickers>(
            r#"{"btcusdt":{"at":1723161255,"ticker":{"low":"1.0","high":"2.0","open":"1.5","last":"1.8","volume":"10.0","amount":"6.0","vol":"10.0","avg_price":"1.6","price_change_percent":"+20.00%","at":1723161255}}}"#,
        );
        round_trip::<Timestamp>("1723161255");
        round_trip::<Timestamp>(r#""2024-08-09T00:00:00Z""#);
        round_trip::<OrderRequest>(
            r#"{"market":"btcusdt","side":"buy","ord_type":"limit","volume":"0.5","price":"60000.0"}"#,
        );
        round_trip::<RestOrder>(
            r#"{"id":1,"uuid":"00000000-0000-0000-0000-000000000001","side":"sell","ord_type":"market","price":null,"avg_price":"0.0","state":"wait","market":"btcusdt","created_at":"2024-08-09T00:00:00+00:00","updated_at":"2024-08-09T00:00:00+00:00","origin_volume":"1.0","remaining_volume":"1.0","executed_volume":"0.0","trades_count":0,"client_id":null,"maker_fee":"0.0025","taker_fee":"0.0025"}"#,
        );
        round_trip::<Vec<RestBalance>>(r#"[{"currency":"btc","balance":"1.5","locked":"0.5"}]"#);
        round_trip::<ErrorBody>(r#"{"errors":["market.order.invaild_id_or_uuid"]}"#);
    }
}
