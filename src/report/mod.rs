//! Results of a run: tables (CSV, and Parquet with the `parquet` feature), `summary.json` and
//! charts; and `altsim report`, which renders them again from a result folder.

pub mod analytics;
mod analytics_charts;
pub mod charts;
mod compare;
pub mod error;
pub mod heatmap;
pub mod html;
pub mod markouts;
#[cfg(feature = "parquet")]
mod parquet;
pub mod records;
pub mod summary;
pub mod tables;
mod writer;

pub use error::ReportError;
pub use summary::{Summarizer, Summary};
pub use tables::{EquityRow, FillRow, OrderRow, RunInfo, Tables};
pub use writer::ResultWriter;

use std::path::Path;

/// Reads a result folder's CSV table row by row.
fn each_row<T: for<'de> serde::Deserialize<'de>>(
    path: &Path,
    mut f: impl FnMut(T) -> Result<(), error::RowError>,
) -> Result<(), ReportError> {
    let mut r = csv::Reader::from_path(path).map_err(error::at(path))?;
    for (i, row) in r.deserialize().enumerate() {
        let at = |source| ReportError::Row {
            path: path.to_path_buf(),
            row: i + 2,
            source,
        };
        f(row.map_err(|e: csv::Error| at(e.into()))?).map_err(at)?;
    }
    Ok(())
}

/// `altsim report DIR`: summary and charts again from the folder's tables, read row by row.
pub fn rerender(dir: &Path) -> Result<Summary, ReportError> {
    let info = RunInfo::read(dir)?;
    let mut summary = Summarizer::new(info.equity_scale, &info.base_unit, &info.quote_unit);
    let mut chart = charts::ChartData::default();
    each_row(&dir.join("equity.csv"), |r: EquityRow| {
        let r = r.record()?;
        summary.equity(&r);
        chart.equity(&r);
        Ok(())
    })?;
    each_row(&dir.join("fills.csv"), |r: FillRow| {
        let r = r.record()?;
        summary.fill(&r);
        chart.fill(&r);
        Ok(())
    })?;
    let mut s = summary.finish(&info);
    // The analytics need every instant of the run: they are the run's, as it kept them.
    if let Some(a) = info.analytics.clone() {
        s.attribution = a.attribution;
        s.markouts = a.markouts;
        s.quoting = a.quoting;
        s.data_warnings.extend(a.warnings);
    }
    chart.analytics(&s);
    let p = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&s).expect("summary serializes");
    std::fs::write(&p, text + "\n").map_err(error::at(&p))?;
    charts::render(dir, &info, &chart)?;
    html::write_run(dir, &info, &s, &chart)?;
    Ok(s)
}

pub use compare::compare;
