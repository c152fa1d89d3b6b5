//! The result tables, as written to CSV (and Parquet): money as exact decimal strings.

use super::error::{at, ReportError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One row of `fills.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillRow {
    pub time_ns: i64,
    pub time_utc: String,
    pub trade_id: u64,
    pub order_id: u64,
    pub market: String,
    pub side: String,
    pub price: String,
    pub amount: String,
    pub total: String,
    /// `maker` or `taker`.
    pub liquidity: String,
    pub fee_rate: String,
    pub fee: String,
    pub fee_currency: String,
}

/// The decimal scales of a run's tables: the traded market's precisions and the equity's
/// scale. Fees are at [`crate::sim::BALANCE_SCALE`], rates at [`crate::sim::fees::RATE_SCALE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scales {
    pub price: u32,
    pub amount: u32,
    pub equity: u32,
}

/// One row of `orders.csv`: an order after a change of state (or a fill).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub time_ns: i64,
    pub time_utc: String,
    pub order_id: u64,
    pub market: String,
    pub side: String,
    pub ord_type: String,
    pub price: String,
    pub state: String,
    pub origin_volume: String,
    pub remaining_volume: String,
    pub executed_volume: String,
    pub avg_price: String,
    /// Peatio's code and the reason, for refused orders.
    pub reason: String,
}

/// One row of `equity.csv`, at a fixed sim-clock interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquityRow {
    pub time_ns: i64,
    pub time_utc: String,
    pub best_bid: String,
    pub best_ask: String,
    pub mid: String,
    /// Base held (available + locked).
    pub base: String,
    /// Quote held (available + locked).
    pub quote: String,
    /// Equity in quote: quote + base × mid.
    pub equity: String,
    /// Equity less the first row's.
    pub pnl: String,
}

/// What a run knows beyond its tables, kept as `run.json` so `report` can work from a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub scenario: String,
    pub strategy: String,
    pub market: String,
    pub base_unit: String,
    pub quote_unit: String,
    pub price_precision: u32,
    pub amount_precision: u32,
    /// Decimals of the equity column.
    pub equity_scale: u32,
    pub equity_interval_ns: i64,
    pub events: u64,
    pub orders_placed: u64,
    /// Base volume of every order accepted, at amount precision, for the fill ratio.
    pub volume_placed: String,
    /// The same of the buy orders and of the sell orders, for the fill ratio per side.
    #[serde(default)]
    pub volume_placed_buy: String,
    #[serde(default)]
    pub volume_placed_sell: String,
    /// See [`Summary::data_warnings`](super::Summary::data_warnings).
    #[serde(default)]
    pub data_warnings: Vec<String>,
    /// The analytics of the finished run, which need every instant of it and not only its
    /// tables: `report` takes them from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analytics: Option<RunAnalytics>,
}

/// See [`RunInfo::analytics`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RunAnalytics {
    #[serde(default)]
    pub attribution: Option<super::analytics::AttributionReport>,
    #[serde(default)]
    pub markouts: Vec<super::markouts::MarkoutStat>,
    #[serde(default)]
    pub quoting: Option<super::analytics::Quoting>,
    /// Warnings the analytics added.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The three tables of a run, in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tables {
    pub fills: Vec<FillRow>,
    pub orders: Vec<OrderRow>,
    pub equity: Vec<EquityRow>,
}

fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, ReportError> {
    let mut r = csv::Reader::from_path(path).map_err(at(path))?;
    r.deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| ReportError::Row {
                path: path.to_path_buf(),
                row: i + 2,
                source: e.into(),
            })
        })
        .collect()
}

impl Tables {
    /// Reads a result folder's three tables whole (for tests and small runs; `report` reads
    /// row by row).
    pub fn read(dir: &Path) -> Result<Tables, ReportError> {
        Ok(Tables {
            fills: read_csv(&dir.join("fills.csv"))?,
            orders: read_csv(&dir.join("orders.csv"))?,
            equity: read_csv(&dir.join("equity.csv"))?,
        })
    }
}

impl RunInfo {
    pub fn write(&self, dir: &Path) -> Result<(), ReportError> {
        let p = dir.join("run.json");
        let text = serde_json::to_string_pretty(self).expect("run info serializes");
        std::fs::write(&p, text + "\n").map_err(at(&p))
    }

    pub fn read(dir: &Path) -> Result<RunInfo, ReportError> {
        let p = dir.join("run.json");
        let text = std::fs::read_to_string(&p).map_err(|source| ReportError::NotAResultFolder {
            path: p.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(at(&p))
    }
}
