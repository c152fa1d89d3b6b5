//! A sweep's results as one typed table, `runs.parquet` (a row per run: its values and its
//! summary metrics), the queries `altsim sweep report` makes of it, and the chart of the
//! best runs' PnL over time.

use super::error::{at, SweepError};
use super::{plain, Fields, RunResult, METRICS};
use crate::report::charts::{chart, Series};
use std::path::{Path, PathBuf};

/// The type a column of texts is written with: whole numbers as Int64, decimals as
/// `Decimal128(38, s)` at the largest scale the column shows (empty texts are null), and
/// anything else as text.
#[cfg(feature = "parquet")]
fn typed(name: &str, texts: &[String]) -> polars::prelude::Column {
    use polars::prelude::*;
    let ints: Option<Vec<i64>> = texts.iter().map(|t| t.parse().ok()).collect();
    if let Some(v) = ints {
        return Column::new(name.into(), v);
    }
    let scale = texts
        .iter()
        .filter_map(|t| t.split_once('.').map(|(_, f)| f.len() as u32))
        .max()
        .unwrap_or(0);
    let values: Option<Vec<Option<i128>>> = texts
        .iter()
        .map(|t| match t.as_str() {
            "" => Some(None),
            t => crate::fixed::parse_wide(t, scale).ok().map(Some),
        })
        .collect();
    if let Some(v) = values.filter(|_| scale <= 38) {
        if let Ok(d) = Int128Chunked::from_iter_options(name.into(), v.into_iter())
            .into_decimal(Some(38), scale as usize)
        {
            return d.into_column();
        }
    }
    Column::new(name.into(), texts)
}

/// Writes `runs.parquet` in `dir`: the columns of `runs.csv`, typed.
#[cfg(feature = "parquet")]
pub fn write(dir: &Path, keys: &[String], results: &[RunResult]) -> Result<(), SweepError> {
    use polars::prelude::*;
    let p = dir.join("runs.parquet");
    let names: Vec<String> = results.iter().map(|r| r.name.clone()).collect();
    let mut cols = vec![Column::new("run".into(), names)];
    for (k, key) in keys.iter().enumerate() {
        let texts: Vec<String> = results.iter().map(|r| plain(&r.values[k])).collect();
        cols.push(typed(key, &texts));
    }
    let fields: Vec<Vec<String>> = results
        .iter()
        .map(|r| Fields::of(&r.summary).metrics().collect())
        .collect();
    for (i, m) in METRICS.iter().enumerate() {
        let texts: Vec<String> = fields.iter().map(|f| f[i].clone()).collect();
        cols.push(typed(m, &texts));
    }
    let mut df = DataFrame::new(cols).map_err(at(&p))?;
    let f = std::fs::File::create(&p).map_err(at(&p))?;
    ParquetWriter::new(std::io::BufWriter::new(f))
        .finish(&mut df)
        .map(|_| ())
        .map_err(at(&p))
}

/// A cell as text: decimals exact, nulls empty.
#[cfg(feature = "parquet")]
fn text(v: polars::prelude::AnyValue) -> String {
    use polars::prelude::AnyValue;
    match v {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Decimal(v, scale) => crate::fixed::format(v, scale as u32),
        other => other.to_string(),
    }
}

/// What `altsim sweep report` prints of a sweep's `runs.parquet` in `dir`: the `top` runs by
/// `metric` (highest first), or with `by`, the best run for each value of that column with
/// how many runs had it. Ties keep run order.
#[cfg(feature = "parquet")]
pub fn report(
    dir: &Path,
    metric: &str,
    top: usize,
    by: Option<&str>,
) -> Result<String, SweepError> {
    use polars::prelude::*;
    let p = dir.join("runs.parquet");
    let err = |e: PolarsError| SweepError::file(&p, e);
    let f = std::fs::File::open(&p).map_err(at(&p))?;
    let df = ParquetReader::new(f).finish().map_err(err)?;
    let columns: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    for want in std::iter::once(metric).chain(by) {
        if !columns.iter().any(|c| c == want) {
            return Err(SweepError::NoColumn {
                path: p.clone(),
                want: want.to_string(),
                columns: columns.clone(),
            });
        }
    }
    let sorted = df
        .sort(
            [metric],
            SortMultipleOptions::default()
                .with_order_descending(true)
                .with_nulls_last(true)
                .with_maintain_order(true),
        )
        .map_err(err)?;
    let keys: Vec<String> = columns
        .iter()
        .skip(1)
        .take_while(|c| !METRICS.contains(&c.as_str()))
        .cloned()
        .collect();
    let mut show: Vec<String> = vec!["run".into()];
    show.extend(keys);
    for m in super::RANKING.iter().copied().chain([metric]) {
        if !show.iter().any(|c| c == m) {
            show.push(m.into());
        }
    }
    let (rows, counts): (DataFrame, Option<Vec<usize>>) = match by {
        None => (sorted.head(Some(top)), None),
        Some(by) => {
            let gb = sorted.group_by_stable([by]).map_err(err)?;
            let groups = gb.get_groups();
            let first: Vec<IdxSize> = groups.iter().map(|g| g.first()).collect();
            let counts = groups.iter().map(|g| g.len()).collect();
            let idx = IdxCa::from_vec("first".into(), first);
            let best = sorted.take(&idx).map_err(err)?;
            show.retain(|c| c != by);
            show.insert(0, by.to_string());
            (best, Some(counts))
        }
    };
    let mut head: Vec<String> = by
        .is_none()
        .then(|| "rank".to_string())
        .into_iter()
        .collect();
    head.extend(show.iter().cloned());
    if counts.is_some() {
        head.push("runs".into());
    }
    let mut table = vec![head];
    for i in 0..rows.height() {
        let mut row = Vec::new();
        if by.is_none() {
            row.push((i + 1).to_string());
        }
        for c in &show {
            let v = rows.column(c).and_then(|c| c.get(i)).map_err(err)?;
            row.push(text(v));
        }
        if let Some(n) = &counts {
            row.push(n[i].to_string());
        }
        table.push(row);
    }
    let title = match by {
        None => format!(
            "{} runs in {}, top {} by {metric}\n",
            df.height(),
            p.display(),
            rows.height()
        ),
        Some(by) => format!(
            "{} runs in {}, the best by {metric} for each {by}\n",
            df.height(),
            p.display()
        ),
    };
    Ok(title + &crate::console::aligned(&table))
}

/// `top-pnl.png` and `.svg` in `out`: the PnL over time of the runs named in `best` (their
/// folders in `out/runs/` hold `equity.csv`), at most ten, best first in the legend.
pub fn top_chart(out: &Path, best: &[String]) -> Result<Option<PathBuf>, SweepError> {
    let Some(first) = best.first() else {
        return Ok(None);
    };
    let quote = crate::report::RunInfo::read(&out.join("runs").join(first))?.quote_unit;
    let mut series = Vec::new();
    for name in best.iter().take(crate::report::charts::PALETTE.len()) {
        let p = out.join("runs").join(name).join("equity.csv");
        let mut r = csv::Reader::from_path(&p).map_err(at(&p))?;
        let mut points = Vec::new();
        for row in r.records() {
            let row = row.map_err(at(&p))?;
            let (Some(t), Some(pnl)) = (row.get(0), row.get(8)) else {
                continue;
            };
            let (Ok(t), Ok(pnl)) = (t.parse::<i64>(), pnl.parse::<f64>()) else {
                continue;
            };
            points.push((t.div_euclid(1_000_000), pnl));
        }
        // A chart shows no more than about 2,000 points a line.
        let step = points.len().div_ceil(2_000).max(1);
        series.push(points.into_iter().step_by(step).collect::<Vec<_>>());
    }
    if series.is_empty() {
        return Ok(None);
    }
    let lines: Vec<Series> = series
        .into_iter()
        .zip(best)
        .zip(crate::report::charts::PALETTE)
        .map(|((points, name), color)| Series {
            name,
            color,
            points,
        })
        .collect();
    chart(
        out,
        "top-pnl",
        &format!("PnL of the best {} runs", lines.len()),
        &format!("PnL ({})", quote.to_uppercase()),
        &lines,
        &[],
    )?;
    Ok(Some(out.join("top-pnl.png")))
}
