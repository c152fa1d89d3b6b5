//! Parquet copies of the result tables, through polars. Money columns stay exact decimal text.

use super::tables::Tables;
use polars::prelude::*;
use std::path::Path;

fn strings<'a>(name: &str, v: impl Iterator<Item = &'a String>) -> Column {
    Column::new(name.into(), v.map(|s| s.as_str()).collect::<Vec<_>>())
}

fn save(dir: &Path, name: &str, mut df: DataFrame) -> Result<(), String> {
    let p = dir.join(name);
    let file = std::fs::File::create(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    ParquetWriter::new(file)
        .finish(&mut df)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", p.display()))
}

pub fn write(dir: &Path, t: &Tables) -> Result<(), String> {
    let e = |x: PolarsError| x.to_string();
    let f = &t.fills;
    let fills = DataFrame::new(vec![
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
    .map_err(e)?;
    save(dir, "fills.parquet", fills)?;
    let o = &t.orders;
    let orders = DataFrame::new(vec![
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
    .map_err(e)?;
    save(dir, "orders.parquet", orders)?;
    let q = &t.equity;
    let equity = DataFrame::new(vec![
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
    .map_err(e)?;
    save(dir, "equity.parquet", equity)
}
