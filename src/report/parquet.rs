//! Parquet copies of the result tables, through polars. Money columns stay exact decimal text.

use super::tables::{EquityRow, FillRow, OrderRow};
use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;
use std::path::{Path, PathBuf};

fn strings<'a>(name: &str, v: impl Iterator<Item = &'a String>) -> Column {
    Column::new(name.into(), v.map(|s| s.as_str()).collect::<Vec<_>>())
}

/// Rows buffered before they are written as one row group.
const BATCH: usize = 65_536;

/// One Parquet table written in row groups as its rows come.
pub struct Table<R> {
    path: PathBuf,
    rows: Vec<R>,
    writer: Option<BatchedWriter<std::fs::File>>,
    frame: fn(&[R]) -> PolarsResult<DataFrame>,
}

impl<R> Table<R> {
    fn new(path: PathBuf, frame: fn(&[R]) -> PolarsResult<DataFrame>) -> Self {
        Table {
            path,
            rows: Vec::new(),
            writer: None,
            frame,
        }
    }

    fn err(&self, e: impl std::fmt::Display) -> String {
        format!("{}: {e}", self.path.display())
    }

    pub fn push(&mut self, row: R) -> Result<(), String> {
        self.rows.push(row);
        if self.rows.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        let df = (self.frame)(&self.rows).map_err(|e| self.err(e))?;
        if self.writer.is_none() {
            let file = std::fs::File::create(&self.path).map_err(|e| self.err(e))?;
            let w = ParquetWriter::new(file)
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

    pub fn finish(mut self) -> Result<(), String> {
        if self.writer.is_none() || !self.rows.is_empty() {
            self.flush()?;
        }
        let w = self.writer.as_ref().expect("flushed above");
        w.finish().map(|_| ()).map_err(|e| self.err(e))
    }
}

/// The three tables of a run.
pub struct Tables {
    pub fills: Table<FillRow>,
    pub orders: Table<OrderRow>,
    pub equity: Table<EquityRow>,
}

impl Tables {
    pub fn create(dir: &Path) -> Self {
        Tables {
            fills: Table::new(dir.join("fills.parquet"), fills),
            orders: Table::new(dir.join("orders.parquet"), orders),
            equity: Table::new(dir.join("equity.parquet"), equity),
        }
    }

    pub fn finish(self) -> Result<(), String> {
        self.fills.finish()?;
        self.orders.finish()?;
        self.equity.finish()
    }
}

fn fills(f: &[FillRow]) -> PolarsResult<DataFrame> {
    DataFrame::new(vec![
        Column::new(
            "time_ns".into(),
            f.iter().map(|r| r.time_ns).collect::<Vec<_>>(),
        ),
        strings("time_utc", f.iter().map(|r| &r.time_utc)),
        Column::new(
            "trade_id".into(),
            f.iter().map(|r| r.trade_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "order_id".into(),
            f.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        ),
        strings("market", f.iter().map(|r| &r.market)),
        strings("side", f.iter().map(|r| &r.side)),
        strings("price", f.iter().map(|r| &r.price)),
        strings("amount", f.iter().map(|r| &r.amount)),
        strings("total", f.iter().map(|r| &r.total)),
        strings("liquidity", f.iter().map(|r| &r.liquidity)),
        strings("fee_rate", f.iter().map(|r| &r.fee_rate)),
        strings("fee", f.iter().map(|r| &r.fee)),
        strings("fee_currency", f.iter().map(|r| &r.fee_currency)),
    ])
}

fn orders(o: &[OrderRow]) -> PolarsResult<DataFrame> {
    DataFrame::new(vec![
        Column::new(
            "time_ns".into(),
            o.iter().map(|r| r.time_ns).collect::<Vec<_>>(),
        ),
        strings("time_utc", o.iter().map(|r| &r.time_utc)),
        Column::new(
            "order_id".into(),
            o.iter().map(|r| r.order_id).collect::<Vec<_>>(),
        ),
        strings("market", o.iter().map(|r| &r.market)),
        strings("side", o.iter().map(|r| &r.side)),
        strings("ord_type", o.iter().map(|r| &r.ord_type)),
        strings("price", o.iter().map(|r| &r.price)),
        strings("state", o.iter().map(|r| &r.state)),
        strings("origin_volume", o.iter().map(|r| &r.origin_volume)),
        strings("remaining_volume", o.iter().map(|r| &r.remaining_volume)),
        strings("executed_volume", o.iter().map(|r| &r.executed_volume)),
        strings("avg_price", o.iter().map(|r| &r.avg_price)),
        strings("reason", o.iter().map(|r| &r.reason)),
    ])
}

fn equity(q: &[EquityRow]) -> PolarsResult<DataFrame> {
    DataFrame::new(vec![
        Column::new(
            "time_ns".into(),
            q.iter().map(|r| r.time_ns).collect::<Vec<_>>(),
        ),
        strings("time_utc", q.iter().map(|r| &r.time_utc)),
        strings("best_bid", q.iter().map(|r| &r.best_bid)),
        strings("best_ask", q.iter().map(|r| &r.best_ask)),
        strings("mid", q.iter().map(|r| &r.mid)),
        strings("base", q.iter().map(|r| &r.base)),
        strings("quote", q.iter().map(|r| &r.quote)),
        strings("equity", q.iter().map(|r| &r.equity)),
        strings("pnl", q.iter().map(|r| &r.pnl)),
    ])
}
