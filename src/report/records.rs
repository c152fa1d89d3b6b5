//! The rows of a run's tables as the run makes them: numbers at their decimal scales, not
//! text. The CSV text, the Parquet columns, the summary and the charts are all made from
//! these; `altsim report` reads CSV text back into them.

use super::error::{FieldError, RowError};
use super::tables::{EquityRow, FillRow};
use crate::fixed;
use crate::value::{Amount, Funds, Price, Rate};
use crate::venue::Side;
#[cfg(test)]
use rust_decimal::Decimal;
use std::sync::Arc;

/// One row of `fills.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillRecord {
    pub time_ns: i64,
    pub trade_id: u64,
    pub order_id: u64,
    pub market: Arc<str>,
    pub side: Side,
    pub price: Price,
    pub amount: Amount,
    pub total: Funds,
    /// True for a maker fill.
    pub maker: bool,
    pub fee_rate: Rate,
    pub fee: Funds,
    pub fee_currency: Arc<str>,
}

/// One row of `orders.csv`. An order refused at entry has only its id, state and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub time_ns: i64,
    pub order_id: u64,
    pub market: Arc<str>,
    pub side: &'static str,
    pub ord_type: &'static str,
    pub price: Option<Price>,
    pub state: &'static str,
    pub origin_volume: Option<Amount>,
    pub remaining_volume: Option<Amount>,
    pub executed_volume: Option<Amount>,
    pub avg_price: Option<Price>,
    pub reason: String,
}

/// One row of `equity.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquityRecord {
    pub time_ns: i64,
    pub best_bid: Price,
    pub best_ask: Price,
    pub mid: Price,
    pub base: Funds,
    pub quote: Funds,
    pub equity: Funds,
    pub pnl: Funds,
}

pub const FILL_COLUMNS: [&str; 13] = [
    "time_ns",
    "time_utc",
    "trade_id",
    "order_id",
    "market",
    "side",
    "price",
    "amount",
    "total",
    "liquidity",
    "fee_rate",
    "fee",
    "fee_currency",
];

pub const ORDER_COLUMNS: [&str; 13] = [
    "time_ns",
    "time_utc",
    "order_id",
    "market",
    "side",
    "ord_type",
    "price",
    "state",
    "origin_volume",
    "remaining_volume",
    "executed_volume",
    "avg_price",
    "reason",
];

pub const EQUITY_COLUMNS: [&str; 9] = [
    "time_ns", "time_utc", "best_bid", "best_ask", "mid", "base", "quote", "equity", "pnl",
];

/// Builds one CSV row's fields in one buffer, without a string each.
#[derive(Default)]
pub struct RowText {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl RowText {
    fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    fn end(&mut self) {
        self.ends.push(self.buf.len());
    }

    fn str(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
        self.end();
    }

    fn int(&mut self, v: impl Into<i128>) {
        fixed::write_int(&mut self.buf, v.into());
        self.end();
    }

    fn dec(&mut self, d: Option<impl Into<Funds>>) {
        if let Some(d) = d {
            let d: Funds = d.into();
            fixed::write_bytes(&mut self.buf, d.raw(), d.scale());
        }
        self.end();
    }

    fn time(&mut self, ns: i64) {
        self.int(ns);
        crate::utc::write_utc(&mut self.buf, ns);
        self.end();
    }

    /// The fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&e| {
            let f = &self.buf[start..e];
            start = e;
            f
        })
    }

    pub fn fill(&mut self, r: &FillRecord) -> &Self {
        self.clear();
        self.time(r.time_ns);
        self.int(r.trade_id);
        self.int(r.order_id);
        self.str(&r.market);
        self.str(r.side.as_str());
        self.dec(Some(r.price));
        self.dec(Some(r.amount));
        self.dec(Some(r.total));
        self.str(if r.maker { "maker" } else { "taker" });
        self.dec(Some(r.fee_rate));
        self.dec(Some(r.fee));
        self.str(&r.fee_currency);
        self
    }

    pub fn order(&mut self, r: &OrderRecord) -> &Self {
        self.clear();
        self.time(r.time_ns);
        self.int(r.order_id);
        self.str(&r.market);
        self.str(r.side);
        self.str(r.ord_type);
        self.dec(r.price);
        self.str(r.state);
        self.dec(r.origin_volume);
        self.dec(r.remaining_volume);
        self.dec(r.executed_volume);
        self.dec(r.avg_price);
        self.str(&r.reason);
        self
    }

    pub fn equity(&mut self, r: &EquityRecord) -> &Self {
        self.clear();
        self.time(r.time_ns);
        for d in [r.best_bid, r.best_ask, r.mid] {
            self.dec(Some(d));
        }
        for d in [r.base, r.quote, r.equity, r.pnl] {
            self.dec(Some(d));
        }
        self
    }
}

impl RowText {
    /// A row of `markouts.csv`: the fill, then mid, bps and quote value per horizon (empty
    /// past the run's end).
    pub fn markout(&mut self, r: &super::markouts::MarkoutRecord) -> &Self {
        self.clear();
        self.int(r.trade_id);
        self.int(r.order_id);
        self.time(r.time_ns);
        self.str(r.side.as_str());
        self.dec(Some(r.price));
        self.dec(Some(r.amount));
        for at in &r.at {
            match at {
                Some((mid, bps, value)) => {
                    self.dec(Some(*mid));
                    self.str(&bps.to_string());
                    self.dec(Some(*value));
                }
                None => {
                    self.end();
                    self.end();
                    self.end();
                }
            }
        }
        self
    }
}

fn need<T, E: Into<FieldError>>(
    column: &'static str,
    d: Result<Option<T>, E>,
) -> Result<T, RowError> {
    d.map_err(Into::into)
        .and_then(|d| d.ok_or(FieldError::Empty))
        .map_err(|reason| RowError::Field { column, reason })
}

/// A fee rate's text, which has at most six decimals.
fn rate(s: &str) -> Result<Option<Rate>, FieldError> {
    Ok(match Funds::parse(s)? {
        None => None,
        Some(f) => Some(
            Rate::from_decimal(f.to_decimal()).map_err(|e| FieldError::Rate(s.to_string(), e))?,
        ),
    })
}

impl FillRow {
    /// The record this text row was written from.
    pub fn record(&self) -> Result<FillRecord, RowError> {
        let field = |column, reason| RowError::Field { column, reason };
        Ok(FillRecord {
            time_ns: self.time_ns,
            trade_id: self.trade_id,
            order_id: self.order_id,
            market: self.market.as_str().into(),
            side: match self.side.as_str() {
                "buy" => Side::Buy,
                "sell" => Side::Sell,
                s => return Err(field("side", FieldError::Side(s.to_string()))),
            },
            price: need("price", Price::parse(&self.price))?,
            amount: need("amount", Amount::parse(&self.amount))?,
            total: need("total", Funds::parse(&self.total))?,
            maker: match self.liquidity.as_str() {
                "maker" => true,
                "taker" => false,
                s => return Err(field("liquidity", FieldError::Liquidity(s.to_string()))),
            },
            fee_rate: need("fee_rate", rate(&self.fee_rate))?,
            fee: need("fee", Funds::parse(&self.fee))?,
            fee_currency: self.fee_currency.as_str().into(),
        })
    }
}

impl EquityRow {
    /// The record this text row was written from.
    pub fn record(&self) -> Result<EquityRecord, RowError> {
        let p = |c, s: &str| need(c, Price::parse(s));
        let d = |c, s: &str| need(c, Funds::parse(s));
        Ok(EquityRecord {
            time_ns: self.time_ns,
            best_bid: p("best_bid", &self.best_bid)?,
            best_ask: p("best_ask", &self.best_ask)?,
            mid: p("mid", &self.mid)?,
            base: d("base", &self.base)?,
            quote: d("quote", &self.quote)?,
            equity: d("equity", &self.equity)?,
            pnl: d("pnl", &self.pnl)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values across signs, magnitudes and scales, the extremes among them.
    fn values() -> Vec<Funds> {
        let mut out = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for scale in [0, 1, 2, 3, 6, 8, 16, 19, 22, 23, 28, 29, 35] {
            for v in [
                0i128,
                1,
                -1,
                10,
                100,
                1_000_000,
                -1_230_000,
                i128::MAX,
                i128::MIN + 1,
            ] {
                out.push(Funds::new(v, scale));
            }
            for bits in [8, 20, 40, 53, 54, 64, 96, 97, 120] {
                for _ in 0..40 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let v = (i128::from(x) << 64 | i128::from(x.rotate_left(29))) >> (128 - bits);
                    let v = if x & 1 == 0 { v } else { -v };
                    out.push(Funds::new(v, scale));
                    // Round numbers, whose text drops trailing zeros.
                    out.push(Funds::new(v / 1000 * 1000, scale));
                }
            }
        }
        out
    }

    #[test]
    fn a_decimal_is_what_its_text_parses_to() {
        for d in values() {
            let text = d.text();
            let want: Decimal = text.parse().unwrap_or_default();
            let got = d.text_decimal();
            assert_eq!(
                (got.mantissa(), got.scale()),
                (want.mantissa(), want.scale()),
                "{text}"
            );
        }
    }

    #[test]
    fn a_float_is_what_its_text_parses_to() {
        for d in values() {
            let text = d.text();
            let want: f64 = text.parse().unwrap();
            assert_eq!(d.to_f64().to_bits(), want.to_bits(), "{text}");
        }
    }

    /// Writes a row as the result writer does (the header, then its fields) and reads the
    /// text back as `report` does.
    fn read_back<T: serde::de::DeserializeOwned>(columns: &[&str], row: &RowText) -> Vec<T> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(columns).unwrap();
        w.write_record(row.fields()).unwrap();
        let bytes = w.into_inner().unwrap();
        csv::Reader::from_reader(&bytes[..])
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn records_read_back_from_their_csv() {
        let fill = FillRecord {
            time_ns: 1_723_161_254_391_807_367,
            trade_id: 7,
            order_id: 3,
            market: "btcusdt".into(),
            side: Side::Sell,
            price: Price::new(6_183_145, 2),
            amount: Amount::new(90, 6),
            total: Funds::new(556_483_050, 8),
            maker: true,
            fee_rate: Rate::from_millionths(2_500),
            fee: Funds::new(-1_391_207_625_000_000i128, 16),
            fee_currency: "us,dt \"q\"".into(),
        };
        let equity = EquityRecord {
            time_ns: -5,
            best_bid: Price::new(6_182_400, 2),
            best_ask: Price::new(6_182_401, 2),
            mid: Price::new(61_824_005, 3),
            base: Funds::new(10_483_059_325_000_000i128, 16),
            quote: Funds::new(0, 16),
            equity: Funds::new(i128::MAX, 19),
            pnl: Funds::new(-1, 19),
        };
        let mut text = RowText::default();
        let rows: Vec<FillRow> = read_back(&FILL_COLUMNS, text.fill(&fill));
        let back = rows[0].record().unwrap();
        assert_eq!(back.fee_currency, fill.fee_currency);
        assert_eq!(
            RowText::default().fill(&back).fields().collect::<Vec<_>>(),
            text.fill(&fill).fields().collect::<Vec<_>>()
        );
        assert_eq!(rows[0].time_utc, crate::utc::utc(fill.time_ns));
        let rows: Vec<EquityRow> = read_back(&EQUITY_COLUMNS, text.equity(&equity));
        let back = rows[0].record().unwrap();
        assert_eq!(back.equity.at(19), Some(Funds::new(i128::MAX, 19)));
        assert_eq!(back.pnl.at(19), Some(Funds::new(-1, 19)));
        assert_eq!(back.quote.at(16), Some(Funds::zero(16)));
        assert_eq!(rows[0].best_bid, "61824.0");
    }

    #[test]
    fn text_reads_back_at_its_own_decimals() {
        for d in values() {
            let text = d.text();
            let decimals = (text.len() - text.find('.').unwrap() - 1) as u32;
            match d.at(decimals) {
                Some(value) => assert_eq!(Funds::parse(&text).unwrap(), Some(value), "{text}"),
                None => assert!(Funds::parse(&text).is_err(), "{text}"),
            }
        }
        assert_eq!(Funds::parse("").unwrap(), None);
        assert!(Funds::parse("1.2.3").is_err());
        assert_eq!(Funds::new(1234, 2).at(4), Some(Funds::new(123_400, 4)));
        assert_eq!(Funds::new(1200, 2).at(0), Some(Funds::new(12, 0)));
        assert_eq!(Funds::new(1234, 2).at(1), None);
    }
}
