//! `altsim report --compare A B [C…]`: result folders side by side: a table of PnL, its
//! sources, markouts, quoting, fills and fees, and the PnL and markout curves overlaid.

use super::analytics_charts::{markout_chart, CurveLine};
use super::charts::{self, Series, Thinned, PALETTE};
use super::error::{at, ReportError};
use super::summary::Summary;
use super::tables::{EquityRow, RunInfo};
use std::path::Path;

/// Most folders one comparison takes.
pub const MAX_RUNS: usize = 64;

/// One folder: its name, summary and thinned PnL curve.
struct Run {
    name: String,
    summary: Summary,
    pnl: Vec<(i64, f64)>,
}

fn load(dir: &Path) -> Result<Run, ReportError> {
    let info = RunInfo::read(dir)?;
    let p = dir.join("summary.json");
    let text = std::fs::read_to_string(&p).map_err(at(&p))?;
    let summary: Summary = serde_json::from_str(&text).map_err(at(&p))?;
    let mut pnl = Thinned::default();
    super::each_row(&dir.join("equity.csv"), |r: EquityRow| {
        let v = r.record()?.pnl.to_f64();
        pnl.push(r.time_ns.div_euclid(1_000_000), v);
        Ok(())
    })?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(&info.scenario)
        .to_string();
    Ok(Run {
        name,
        summary,
        pnl: pnl.points().to_vec(),
    })
}

/// The rows of the table: a label, then one value per run.
fn rows(runs: &[Run]) -> Vec<Vec<String>> {
    type Get = fn(&Summary) -> String;
    let attr = |s: &Summary, f: fn(&super::analytics::Attribution) -> &String| {
        s.attribution
            .as_ref()
            .map_or(String::new(), |a| f(&a.total).clone())
    };
    let quoting = |s: &Summary, f: fn(&super::analytics::Quoting) -> &String| {
        s.quoting.as_ref().map_or(String::new(), |q| f(q).clone())
    };
    let fixed: [(&str, Get); 11] = [
        ("scenario", |s| s.scenario.clone()),
        ("strategy", |s| format!("{} on {}", s.strategy, s.market)),
        ("period", |s| format!("{} → {}", s.start_utc, s.end_utc)),
        ("pnl_total", |s| s.pnl_total.clone()),
        ("fills", |s| {
            format!("{} ({} maker)", s.fills, s.maker_fills)
        }),
        ("volume_quote", |s| s.volume_quote.clone()),
        ("fees", |s| {
            s.fees
                .iter()
                .map(|(c, v)| format!("{v} {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        ("max_drawdown", |s| s.max_drawdown.clone()),
        ("sharpe_per_interval", |s| s.sharpe_per_interval.clone()),
        ("inventory", |s| {
            format!("{} … {}", s.inventory_min, s.inventory_max)
        }),
        ("fill_ratio", |s| s.fill_ratio.clone()),
    ];
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut push = |label: &str, f: &dyn Fn(&Summary) -> String| {
        let mut row = vec![label.to_string()];
        row.extend(runs.iter().map(|r| f(&r.summary)));
        out.push(row);
    };
    push("run", &|_| String::new());
    for (label, f) in fixed {
        push(label, &f);
    }
    push("hold_pnl", &|s| attr(s, |a| &a.hold_pnl));
    push("spread_pnl", &|s| attr(s, |a| &a.spread_pnl));
    push("fees_quote", &|s| attr(s, |a| &a.fees_quote));
    push("inventory_pnl", &|s| attr(s, |a| &a.inventory_pnl));
    push("vs_hold", &|s| attr(s, |a| &a.vs_hold));
    // Every horizon any run measured, in the order they first appear.
    let mut horizons: Vec<String> = Vec::new();
    for r in runs {
        for m in &r.summary.markouts {
            if !horizons.contains(&m.horizon_secs) {
                horizons.push(m.horizon_secs.clone());
            }
        }
    }
    for h in &horizons {
        push(&format!("markout_{h}s_bps"), &|s| {
            s.markouts
                .iter()
                .find(|m| &m.horizon_secs == h)
                .map_or(String::new(), |m| m.all_bps.clone())
        });
    }
    push("bid_presence", &|s| quoting(s, |q| &q.bid_presence));
    push("ask_presence", &|s| quoting(s, |q| &q.ask_presence));
    push("both_presence", &|s| quoting(s, |q| &q.both_presence));
    push("quoted_spread_bps", &|s| {
        quoting(s, |q| &q.quoted_spread_bps)
    });
    push("inventory_mean_abs", &|s| {
        quoting(s, |q| &q.inventory_mean_abs)
    });
    push("round_trip_volume", &|s| {
        quoting(s, |q| &q.round_trip_volume)
    });
    out[0] = std::iter::once("run".to_string())
        .chain(runs.iter().map(|r| r.name.clone()))
        .collect();
    out
}

/// Compares result folders: returns the table as text and writes `compare.csv`, the PnL
/// curves (`compare.png`, `.svg`) and the markout curves (`compare-markouts.png`, `.svg`) into
/// `out`.
pub fn compare(dirs: &[&Path], out: &Path) -> Result<String, ReportError> {
    if !(2..=MAX_RUNS).contains(&dirs.len()) {
        return Err(ReportError::CompareCount {
            most: MAX_RUNS,
            given: dirs.len(),
        });
    }
    let mut runs = dirs
        .iter()
        .map(|d| load(d))
        .collect::<Result<Vec<_>, _>>()?;
    // Two folders of one name are told apart by their paths.
    for i in 0..runs.len() {
        if runs.iter().filter(|r| r.name == runs[i].name).count() > 1 {
            runs[i].name = dirs[i].display().to_string();
        }
    }
    std::fs::create_dir_all(out).map_err(at(out))?;
    let table = rows(&runs);
    let p = out.join("compare.csv");
    let mut w = csv::Writer::from_path(&p).map_err(at(&p))?;
    for row in &table {
        w.write_record(row).map_err(at(&p))?;
    }
    w.flush().map_err(at(&p))?;
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let lines: Vec<Series> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| Series {
            name: &r.name,
            color: PALETTE[i % PALETTE.len()],
            points: r.pnl.clone(),
        })
        .collect();
    charts::chart(
        out,
        "compare",
        &format!("PnL: {}", names.join(", ")),
        "PnL (quote)",
        &lines,
        &[],
    )?;
    let horizons: Vec<String> = table
        .iter()
        .filter_map(|r| {
            r[0].strip_prefix("markout_")
                .and_then(|h| h.strip_suffix("s_bps"))
                .map(str::to_string)
        })
        .collect();
    if !horizons.is_empty() {
        let curves: Vec<CurveLine> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| CurveLine {
                name: r.name.clone(),
                color: PALETTE[i % PALETTE.len()],
                bps: horizons
                    .iter()
                    .map(|h| {
                        r.summary
                            .markouts
                            .iter()
                            .find(|m| &m.horizon_secs == h)
                            .and_then(|m| m.all_bps.parse().ok())
                    })
                    .collect(),
            })
            .collect();
        markout_chart(
            out,
            "compare-markouts",
            "Markouts of all fills, by run",
            &horizons,
            &curves,
        )?;
    }
    Ok(crate::console::aligned(&table))
}
