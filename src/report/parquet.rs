//! Parquet copies of the result tables, through polars, typed: times are `timestamp[ns, UTC]`
//! and money columns exact `Decimal128(38, scale)` at the column's own scale (floats
//! nowhere). The CSV tables keep the decimal text.

use super::error::{FileError, ReportError};
use super::markouts::MarkoutRecord;
use super::records::{EquityRecord, FillRecord, OrderRecord};
use super::tables::Scales;
use crate::sim::{fees::RATE_SCALE, BALANCE_SCALE};
use crate::value::Funds;
use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;
use std::path::{Path, PathBuf};

fn strings<'a>(name: &str, v: impl Iterator<Item = &'a str>) -> Column {
    Column::new(name.into(), v.collect::<Vec<_>>())
}

/// The receive times as `timestamp[ns, UTC]`.
fn times(name: &str, v: impl Iterator<Item = i64>) -> Column {
    Int64Chunked::from_iter_values(name.into(), v)
        .into_datetime(TimeUnit::Nanoseconds, Some("UTC".into()))
        .into_column()
}

/// Decimals as `Decimal128(38, scale)`; a missing one is null. A value with more decimals
/// than `scale` is an error, never rounded.
fn decimals<D: Into<Funds>>(
    name: &str,
    scale: u32,
    v: impl Iterator<Item = Option<D>>,
) -> PolarsResult<Column> {
    let values = v
        .map(|d| match d.map(Into::into) {
            None => Ok(None),
            Some(d) => d.units_at(scale).map(Some).ok_or_else(
                || polars_err!(ComputeError: "column {name}: {:?} does not fit scale {scale}", d.text()),
            ),
        })
        .collect::<PolarsResult<Vec<Option<i128>>>>()?;
    Ok(
        Int128Chunked::from_iter_options(name.into(), values.into_iter())
            .into_decimal(Some(38), scale as usize)?
            .into_column(),
    )
}

/// Rows buffered before they are written as one row group.
const BATCH: usize = 8_192;

/// One Parquet table written in row groups as its rows come.
pub struct Table<R> {
    path: PathBuf,
    rows: Vec<R>,
    writer: Option<BatchedWriter<std::io::BufWriter<std::fs::File>>>,
    frame: Frame<R>,
}

/// Rows into a frame.
type Frame<R> = Box<dyn Fn(&[R]) -> PolarsResult<DataFrame> + Send>;

impl<R> Table<R> {
    fn new(path: PathBuf, frame: Frame<R>) -> Self {
        Table {
            path,
            rows: Vec::new(),
            writer: None,
            frame,
        }
    }

    fn err(&self, e: impl Into<FileError>) -> ReportError {
        ReportError::file(&self.path, e)
    }

    pub fn push(&mut self, row: R) -> Result<(), ReportError> {
        self.rows.push(row);
        if self.rows.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ReportError> {
        let df = (self.frame)(&self.rows).map_err(|e| self.err(e))?;
        if self.writer.is_none() {
            let file = std::fs::File::create(&self.path).map_err(|e| self.err(e))?;
            // Buffered: the writer sends its metadata a field at a time (the end of the file
            // flushes it, and reports a failed write). Serial: the columns are small, and
            // polars' own pool would wait for cores the charts are drawing on.
            let w = ParquetWriter::new(std::io::BufWriter::new(file))
                .set_parallel(false)
                .batched(df.schema())
                .map_err(|e| self.err(e))?;
            self.writer = Some(w);
        }
        let w = self.writer.as_mut().expect("created above");
        let written = w.write_batch(&df);
        written.map_err(|e| self.err(e))?;
        self.rows.clear();
        Ok(())
    }

    pub fn finish(mut self) -> Result<(), ReportError> {
        if self.writer.is_none() || !self.rows.is_empty() {
            self.flush()?;
        }
        let w = self.writer.as_ref().expect("flushed above");
        w.finish().map(|_| ()).map_err(|e| self.err(e))
    }
}

/// The tables of a run.
pub struct Tables {
    pub fills: Table<FillRecord>,
    pub orders: Table<OrderRecord>,
    pub equity: Table<EquityRecord>,
    pub markouts: Table<MarkoutRecord>,
}

impl Tables {
    /// `labels`: the markout horizons as their column names write them.
    pub fn create(dir: &Path, scales: Scales, labels: Vec<String>) -> Self {
        Tables {
            fills: Table::new(
                dir.join("fills.parquet"),
                Box::new(move |r| fills(r, &scales)),
            ),
            orders: Table::new(
                dir.join("orders.parquet"),
                Box::new(move |r| orders(r, &scales)),
            ),
            equity: Table::new(
                dir.join("equity.parquet"),
                Box::new(move |r| equity(r, &scales)),
            ),
            markouts: Table::new(
                dir.join("markouts.parquet"),
                Box::new(move |r| markouts(r, &scales, &labels)),
            ),
        }
    }

    pub fn finish(self) -> Result<(), ReportError> {
        self.fills.finish()?;
        self.orders.finish()?;
        self.equity.finish()?;
        self.markouts.finish()
    }
}

/// Decimals of the `bps_<h>s` columns.
pub const BPS_SCALE: u32 = 4;

fn markouts(m: &[MarkoutRecord], k: &Scales, labels: &[String]) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        Column::new(
            "trade_id".into(),
            m.iter().map(|r| r.trade_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "order_id".into(),
            m.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "time_ns".into(),
            m.iter().map(|r| r.time_ns).collect::<Vec<_>>(),
        ),
        times("time_utc", m.iter().map(|r| r.time_ns)),
        strings("side", m.iter().map(|r| r.side.as_str())),
        decimals("price", k.price, m.iter().map(|r| Some(r.price)))?,
        decimals("amount", k.amount, m.iter().map(|r| Some(r.amount)))?,
    ];
    for (h, l) in labels.iter().enumerate() {
        let at = |r: &MarkoutRecord| r.at.get(h).copied().flatten();
        cols.push(decimals(
            &format!("mid_{l}s"),
            k.price + 1,
            m.iter().map(|r| at(r).map(|a| a.0)),
        )?);
        cols.push(decimals(
            &format!("bps_{l}s"),
            BPS_SCALE,
            m.iter().map(|r| {
                at(r).map(|a| {
                    let b = a.1.round_dp(BPS_SCALE);
                    Funds::new(b.mantissa(), b.scale())
                })
            }),
        )?);
        cols.push(decimals(
            &format!("pnl_{l}s"),
            k.price + 1 + k.amount,
            m.iter().map(|r| at(r).map(|a| a.2)),
        )?);
    }
    DataFrame::new(cols)
}

fn fills(f: &[FillRecord], k: &Scales) -> PolarsResult<DataFrame> {
    DataFrame::new(vec![
        Column::new(
            "time_ns".into(),
            f.iter().map(|r| r.time_ns).collect::<Vec<_>>(),
        ),
        times("time_utc", f.iter().map(|r| r.time_ns)),
        Column::new(
            "trade_id".into(),
            f.iter().map(|r| r.trade_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "order_id".into(),
            f.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        ),
        strings("market", f.iter().map(|r| &*r.market)),
        strings("side", f.iter().map(|r| r.side.as_str())),
        decimals("price", k.price, f.iter().map(|r| Some(r.price)))?,
        decimals("amount", k.amount, f.iter().map(|r| Some(r.amount)))?,
        decimals("total", k.price + k.amount, f.iter().map(|r| Some(r.total)))?,
        strings(
            "liquidity",
            f.iter().map(|r| if r.maker { "maker" } else { "taker" }),
        ),
        decimals("fee_rate", RATE_SCALE, f.iter().map(|r| Some(r.fee_rate)))?,
        decimals("fee", BALANCE_SCALE, f.iter().map(|r| Some(r.fee)))?,
        strings("fee_currency", f.iter().map(|r| &*r.fee_currency)),
    ])
}

fn orders(o: &[OrderRecord], k: &Scales) -> PolarsResult<DataFrame> {
    DataFrame::new(vec![
        Column::new(
            "time_ns".into(),
            o.iter().map(|r| r.time_ns).collect::<Vec<_>>(),
        ),
        times("time_utc", o.iter().map(|r| r.time_ns)),
        Column::new(
            "order_id".into(),
            o.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        ),
        strings("market", o.iter().map(|r| &*r.market)),
        strings("side", o.iter().map(|r| r.side)),
        strings("ord_type", o.iter().map(|r| r.ord_type)),
        decimals("price", k.price, o.iter().map(|r| r.price))?,
        strings("state", o.iter().map(|r| r.state)),
        decimals("origin_volume", k.amount, o.iter().map(|r| r.origin_volume))?,
        decimals(
            "remaining_volume",
            k.amount,
            o.iter().map(|r| r.remaining_volume),
        )?,
        decimals(
            "executed_volume",
            k.amount,
            o.iter().map(|r| r.executed_volume),
        )?,
        decimals("avg_price", k.price, o.iter().map(|r| r.avg_price))?,
        strings("reason", o.iter().map(|r| r.reason.as_str())),
    ])
}

fn equity(q: &[EquityRecord], k: &Scales) -> PolarsResult<DataFrame> {
    let col = |name: &str, scale: u32, f: fn(&EquityRecord) -> Funds| {
        decimals(name, scale, q.iter().map(|r| Some(f(r))))
    };
    DataFrame::new(vec![
        Column::new(
            "time_ns".into(),
            q.iter().map(|r| r.time_ns).collect::<Vec<_>>(),
        ),
        times("time_utc", q.iter().map(|r| r.time_ns)),
        col("best_bid", k.price, |r| r.best_bid.into())?,
        col("best_ask", k.price, |r| r.best_ask.into())?,
        col("mid", k.price + 1, |r| r.mid.into())?,
        col("base", BALANCE_SCALE, |r| r.base)?,
        col("quote", BALANCE_SCALE, |r| r.quote)?,
        col("equity", k.equity, |r| r.equity)?,
        col("pnl", k.equity, |r| r.pnl)?,
    ])
}
