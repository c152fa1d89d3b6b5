//! The rows of a run's tables as the run makes them: numbers at their decimal scales, not
//! text. The CSV text, the Parquet columns, the summary and the charts are all made from
//! these; `altsim report` reads CSV text back into them.

use super::tables::{EquityRow, FillRow};
use crate::fixed;
use crate::venue::Side;
use rust_decimal::Decimal;
use std::sync::Arc;

/// A decimal as a scaled integer: `value / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dec {
    pub value: i128,
    pub scale: u32,
}

/// Powers of ten that an `f64` holds exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

impl Dec {
    pub fn new(value: impl Into<i128>, scale: u32) -> Dec {
        Dec {
            value: value.into(),
            scale,
        }
    }

    pub fn text(self) -> String {
        fixed::format(self.value, self.scale)
    }

    /// The value at `scale`, when it has no more decimals than that (never rounded).
    pub fn at(self, scale: u32) -> Option<i128> {
        if scale >= self.scale {
            10i128
                .checked_pow(scale - self.scale)
                .and_then(|p| self.value.checked_mul(p))
        } else {
            let p = 10i128.checked_pow(self.scale - scale)?;
            (self.value % p == 0).then(|| self.value / p)
        }
    }

    /// The decimal its table text parses to, mantissa and scale alike (0 when it does not
    /// fit a `Decimal`, as the text would not).
    pub fn decimal(self) -> Decimal {
        // The text has no trailing zeros but always one decimal.
        let (mut m, mut k) = match self.scale {
            0 => match self.value.checked_mul(10) {
                Some(m) => (m, 1),
                None => return self.parsed(),
            },
            s => (self.value, s),
        };
        while k > 1 && m % 10 == 0 {
            m /= 10;
            k -= 1;
        }
        if k <= 28 {
            if let Ok(d) = Decimal::try_from_i128_with_scale(m, k) {
                return d;
            }
        }
        self.parsed()
    }

    fn parsed<T: std::str::FromStr + Default>(self) -> T {
        fixed::with_text(self.value, self.scale, |t| t.parse().unwrap_or_default())
    }

    /// The nearest `f64`, as its text parses to.
    pub fn to_f64(self) -> f64 {
        // One correctly rounded division of two exact values is the nearest f64 itself.
        if self.value.unsigned_abs() <= 1 << 53 && (self.scale as usize) < EXACT_POW10.len() {
            return self.value as f64 / EXACT_POW10[self.scale as usize];
        }
        self.parsed()
    }

    /// Reads table text at the decimals it is written with; `None` for an empty field.
    pub fn parse(s: &str) -> Result<Option<Dec>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        let scale = s.find('.').map_or(0, |i| s.len() - i - 1) as u32;
        fixed::parse_wide(s, scale)
            .map(|value| Some(Dec { value, scale }))
            .map_err(|e| format!("{s:?}: {e}"))
    }
}

/// One row of `fills.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillRecord {
    pub time_ns: i64,
    pub trade_id: u64,
    pub order_id: u64,
    pub market: Arc<str>,
    pub side: Side,
    pub price: Dec,
    pub amount: Dec,
    pub total: Dec,
    /// True for a maker fill.
    pub maker: bool,
    pub fee_rate: Dec,
    pub fee: Dec,
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
    pub price: Option<Dec>,
    pub state: &'static str,
    pub origin_volume: Option<Dec>,
    pub remaining_volume: Option<Dec>,
    pub executed_volume: Option<Dec>,
    pub avg_price: Option<Dec>,
    pub reason: String,
}

/// One row of `equity.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquityRecord {
    pub time_ns: i64,
    pub best_bid: Dec,
    pub best_ask: Dec,
    pub mid: Dec,
    pub base: Dec,
    pub quote: Dec,
    pub equity: Dec,
    pub pnl: Dec,
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

    fn dec(&mut self, d: Option<Dec>) {
        if let Some(d) = d {
            fixed::write_bytes(&mut self.buf, d.value, d.scale);
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
        for d in [
            r.best_bid, r.best_ask, r.mid, r.base, r.quote, r.equity, r.pnl,
        ] {
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

fn need(column: &str, d: Result<Option<Dec>, String>) -> Result<Dec, String> {
    d.and_then(|d| d.ok_or_else(|| "empty".to_string()))
        .map_err(|e| format!("{column}: {e}"))
}

impl FillRow {
    /// The record this text row was written from.
    pub fn record(&self) -> Result<FillRecord, String> {
        let d = |c: &str, s: &str| need(c, Dec::parse(s));
        Ok(FillRecord {
            time_ns: self.time_ns,
            trade_id: self.trade_id,
            order_id: self.order_id,
            market: self.market.as_str().into(),
            side: match self.side.as_str() {
                "buy" => Side::Buy,
                "sell" => Side::Sell,
                s => return Err(format!("side: {s:?} is not buy or sell")),
            },
            price: d("price", &self.price)?,
            amount: d("amount", &self.amount)?,
            total: d("total", &self.total)?,
            maker: match self.liquidity.as_str() {
                "maker" => true,
                "taker" => false,
                s => return Err(format!("liquidity: {s:?} is not maker or taker")),
            },
            fee_rate: d("fee_rate", &self.fee_rate)?,
            fee: d("fee", &self.fee)?,
            fee_currency: self.fee_currency.as_str().into(),
        })
    }
}

impl EquityRow {
    /// The record this text row was written from.
    pub fn record(&self) -> Result<EquityRecord, String> {
        let d = |c: &str, s: &str| need(c, Dec::parse(s));
        Ok(EquityRecord {
            time_ns: self.time_ns,
            best_bid: d("best_bid", &self.best_bid)?,
            best_ask: d("best_ask", &self.best_ask)?,
            mid: d("mid", &self.mid)?,
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
    fn values() -> Vec<Dec> {
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
                out.push(Dec::new(v, scale));
            }
            for bits in [8, 20, 40, 53, 54, 64, 96, 97, 120] {
                for _ in 0..40 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let v = (i128::from(x) << 64 | i128::from(x.rotate_left(29))) >> (128 - bits);
                    let v = if x & 1 == 0 { v } else { -v };
                    out.push(Dec::new(v, scale));
                    // Round numbers, whose text drops trailing zeros.
                    out.push(Dec::new(v / 1000 * 1000, scale));
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
            let got = d.decimal();
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
            price: Dec::new(6_183_145, 2),
            amount: Dec::new(90, 6),
            total: Dec::new(556_483_050, 8),
            maker: true,
            fee_rate: Dec::new(25, 4),
            fee: Dec::new(-1_391_207_625_000_000i64, 16),
            fee_currency: "us,dt \"q\"".into(),
        };
        let equity = EquityRecord {
            time_ns: -5,
            best_bid: Dec::new(6_182_400, 2),
            best_ask: Dec::new(6_182_401, 2),
            mid: Dec::new(61_824_005, 3),
            base: Dec::new(10_483_059_325_000_000i64, 16),
            quote: Dec::new(0, 16),
            equity: Dec::new(i128::MAX, 19),
            pnl: Dec::new(-1, 19),
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
        assert_eq!(back.equity.at(19), Some(i128::MAX));
        assert_eq!(back.pnl.at(19), Some(-1));
        assert_eq!(back.quote.at(16), Some(0));
        assert_eq!(rows[0].best_bid, "61824.0");
    }

    #[test]
    fn text_reads_back_at_its_own_decimals() {
        for d in values() {
            let text = d.text();
            let decimals = (text.len() - text.find('.').unwrap() - 1) as u32;
            match d.at(decimals) {
                Some(value) => assert_eq!(
                    Dec::parse(&text).unwrap(),
                    Some(Dec::new(value, decimals)),
                    "{text}"
                ),
                None => assert!(Dec::parse(&text).is_err(), "{text}"),
            }
        }
        assert_eq!(Dec::parse("").unwrap(), None);
        assert!(Dec::parse("1.2.3").is_err());
        assert_eq!(Dec::new(1234, 2).at(4), Some(123_400));
        assert_eq!(Dec::new(1200, 2).at(0), Some(12));
        assert_eq!(Dec::new(1234, 2).at(1), None);
    }
}
