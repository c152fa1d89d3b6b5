//! Results of a run: tables (CSV, and Parquet with the `parquet` feature), `summary.json` and
//! charts; and `altsim report`, which renders them again from a result folder.

pub mod charts;
#[cfg(feature = "parquet")]
mod parquet;
pub mod summary;
pub mod tables;

pub use summary::{summarize, Summary};
pub use tables::{EquityRow, FillRow, OrderRow, RunInfo, Tables};

use std::path::Path;

/// Writes every output of a run into `dir`, and returns the summary.
pub fn write_all(dir: &Path, info: &RunInfo, t: &Tables) -> Result<Summary, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    t.write(dir)?;
    info.write(dir)?;
    #[cfg(feature = "parquet")]
    parquet::write(dir, t)?;
    render(dir, info, t)
}

/// Writes `summary.json` and the charts from the tables.
pub fn render(dir: &Path, info: &RunInfo, t: &Tables) -> Result<Summary, String> {
    let s = summarize(info, t);
    let p = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&s).expect("summary serializes");
    std::fs::write(&p, text + "\n").map_err(|e| format!("{}: {e}", p.display()))?;
    charts::render(dir, info, t)?;
    Ok(s)
}

/// `altsim report DIR`: summary and charts again from the folder's tables.
pub fn rerender(dir: &Path) -> Result<Summary, String> {
    let info = RunInfo::read(dir)?;
    let t = Tables::read(dir)?;
    render(dir, &info, &t)
}

/// `altsim report --compare A B`: both runs' PnL on one chart, written into `out`.
pub fn compare(a: &Path, b: &Path, out: &Path) -> Result<(), String> {
    let load = |d: &Path| -> Result<(String, Vec<(i64, f64)>), String> {
        let info = RunInfo::read(d)?;
        let t = Tables::read(d)?;
        let pts = t
            .equity
            .iter()
            .map(|r| {
                (
                    r.time_ns.div_euclid(1_000_000),
                    r.pnl.parse().unwrap_or(0.0),
                )
            })
            .collect();
        let name = d
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(&info.scenario)
            .to_string();
        Ok((name, pts))
    };
    let (na, pa) = load(a)?;
    let (nb, pb) = load(b)?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let lines = [
        charts::Series {
            name: &na,
            color: plotters::style::RGBColor(40, 90, 200),
            points: pa,
        },
        charts::Series {
            name: &nb,
            color: plotters::style::RGBColor(220, 120, 20),
            points: pb,
        },
    ];
    charts::chart(
        out,
        "compare",
        &format!("PnL: {na} and {nb}"),
        "PnL (quote)",
        &lines,
        &[],
    )
}
