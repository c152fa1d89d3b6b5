//! A sweep's plan and the tables of its results: `plan.toml`, `runs.csv`, `runs.parquet`,
//! the heatmap and the ranking, shared by a sweep's run and the merge of its shards.

use super::error::{at, SweepError};
#[cfg(feature = "parquet")]
use super::table;
use super::{metric, plain, Fields, Plan, RunResult, METRICS, PLAN};
use rust_decimal::Decimal;
use std::io::Write;
use std::path::{Path, PathBuf};

impl Plan {
    /// Writes `plan.toml`, `runs.csv`, `runs.parquet` and the heatmap of `results` into
    /// `dir`; returns the names of the `top` best runs, best first.
    pub(super) fn write_tables(
        &self,
        dir: &Path,
        results: &[RunResult],
    ) -> Result<Vec<String>, SweepError> {
        self.save(dir)?;
        let (runs, heatmap) = rayon::join(
            || self.write_runs(dir, results),
            || self.heatmap(dir, results),
        );
        runs?;
        self.write_page(dir, results, heatmap?.as_deref())?;
        Ok(self.best(results))
    }

    /// The names of the `top` best of `results`, best first.
    pub(super) fn best(&self, results: &[RunResult]) -> Vec<String> {
        self.ranked(results)
            .into_iter()
            .take(self.top)
            .map(|r| r.name.clone())
            .collect()
    }

    /// Writes `runs.csv` and `runs.parquet` of `results` into `dir`.
    pub(super) fn write_runs(&self, dir: &Path, results: &[RunResult]) -> Result<(), SweepError> {
        self.write_csv(dir, results)?;
        #[cfg(feature = "parquet")]
        table::write(dir, &self.keys, results)?;
        Ok(())
    }

    pub(super) fn save(&self, dir: &Path) -> Result<(), SweepError> {
        let p = dir.join(PLAN);
        let text = toml::to_string(self).map_err(at(&p))?;
        std::fs::write(&p, text).map_err(at(&p))
    }

    /// Reads the plan a sweep saved in its result folder `dir`.
    pub fn read(dir: &Path) -> Result<Plan, SweepError> {
        let p = dir.join(PLAN);
        let text = std::fs::read_to_string(&p).map_err(|source| SweepError::NoPlan {
            path: p.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(at(&p))
    }

    /// `heatmap.png`: the sweep's metric over its first two keys, each cell the best run with
    /// those two values (when more keys vary, the others are chosen at their best). Nothing
    /// with fewer than two keys.
    pub fn heatmap(
        &self,
        dir: &Path,
        results: &[RunResult],
    ) -> Result<Option<PathBuf>, SweepError> {
        if self.keys.len() < 2 {
            return Ok(None);
        }
        let axis = |k: usize| {
            let mut labels: Vec<String> = Vec::new();
            for r in results {
                let l = plain(&r.values[k]);
                if !labels.contains(&l) {
                    labels.push(l);
                }
            }
            labels
        };
        let (xs, ys) = (axis(0), axis(1));
        let mut best: Vec<Vec<Option<Decimal>>> = vec![vec![None; xs.len()]; ys.len()];
        for r in results {
            let x = xs.iter().position(|l| *l == plain(&r.values[0]));
            let y = ys.iter().position(|l| *l == plain(&r.values[1]));
            if let (Some(x), Some(y)) = (x, y) {
                let v = metric(&r.summary, &self.metric);
                let cell = &mut best[y][x];
                if cell.is_none_or(|b| v > b) {
                    *cell = Some(v);
                }
            }
        }
        let cells: Vec<Vec<Option<(f64, String)>>> = best
            .iter()
            .map(|row| {
                row.iter()
                    .map(|c| {
                        c.map(|d| {
                            let shown = d.round_dp(2);
                            (shown.to_string().parse().unwrap_or(0.0), shown.to_string())
                        })
                    })
                    .collect()
            })
            .collect();
        let p = dir.join("heatmap.png");
        crate::report::heatmap::draw(
            &p,
            &format!("{} by {} and {}", self.metric, self.keys[0], self.keys[1]),
            &crate::report::heatmap::Axis {
                name: &self.keys[0],
                labels: xs,
            },
            &crate::report::heatmap::Axis {
                name: &self.keys[1],
                labels: ys,
            },
            &cells,
        )?;
        Ok(Some(p))
    }

    /// Runs by the sweep's metric, best first (ties in run order).
    pub fn ranked<'a>(&self, results: &'a [RunResult]) -> Vec<&'a RunResult> {
        let mut v: Vec<&RunResult> = results.iter().collect();
        // A stable sort: ties stay in run order. Each run's metric is read once.
        v.sort_by_cached_key(|r| std::cmp::Reverse(metric(&r.summary, &self.metric)));
        v
    }

    /// `report.html`: the runs ranked by the metric (a sortable table) and the heatmap.
    fn write_page(
        &self,
        dir: &Path,
        results: &[RunResult],
        heatmap: Option<&Path>,
    ) -> Result<(), SweepError> {
        let png = match heatmap {
            Some(h) => Some(std::fs::read(h).map_err(at(h))?),
            None => None,
        };
        let mut head = vec!["rank".to_string(), "run".to_string()];
        head.extend(self.keys.iter().cloned());
        head.extend(METRICS.iter().map(|m| m.to_string()));
        let rows: Vec<Vec<String>> = self
            .ranked(results)
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let mut row = vec![(i + 1).to_string(), r.name.clone()];
                row.extend(r.values.iter().map(plain));
                row.extend(Fields::of(&r.summary).metrics());
                row
            })
            .collect();
        let title = format!(
            "Sweep of {} runs over {}",
            results.len(),
            self.keys.join(", ")
        );
        let page = crate::report::html::sweep_page(
            &title,
            &self.metric,
            &head,
            &rows,
            png.as_deref(),
            self.top,
        );
        let p = dir.join("report.html");
        std::fs::write(&p, page).map_err(at(&p))
    }

    fn write_csv(&self, dir: &Path, results: &[RunResult]) -> Result<(), SweepError> {
        let p = dir.join("runs.csv");
        let io = |e: std::io::Error| SweepError::file(&p, e);
        let mut w = std::io::BufWriter::new(std::fs::File::create(&p).map_err(io)?);
        let mut head = vec!["run".to_string()];
        head.extend(self.keys.iter().cloned());
        head.extend(METRICS.iter().map(|m| m.to_string()));
        writeln!(w, "{}", head.join(",")).map_err(io)?;
        for r in results {
            let mut row = vec![r.name.clone()];
            row.extend(r.values.iter().map(plain));
            row.extend(Fields::of(&r.summary).metrics());
            writeln!(w, "{}", row.join(",")).map_err(io)?;
        }
        w.flush().map_err(io)
    }
}

/// The summary columns the ranking after a sweep shows, besides its metric.
pub const RANKING: [&str; 5] = [
    "pnl_total",
    "vs_hold",
    "spread_pnl",
    "fills",
    "max_drawdown",
];

/// The ranking a sweep prints when it ends: its top runs by the plan's metric, their values
/// and their headline figures, and where the table is.
pub fn ranking(what: &str, plan: &Plan, results: &[RunResult], out: &Path) -> String {
    let mut text = format!(
        "{} runs of {}, ranked by {}\n",
        results.len(),
        what,
        plan.metric
    );
    let mut head = vec!["rank".to_string(), "run".to_string()];
    head.extend(plan.keys.iter().cloned());
    head.extend(RANKING.map(String::from));
    if !RANKING.contains(&plan.metric.as_str()) {
        head.push(plan.metric.clone());
    }
    let mut rows = vec![head.clone()];
    for (i, r) in plan.ranked(results).into_iter().take(plan.top).enumerate() {
        let mut row = vec![(i + 1).to_string(), r.name.clone()];
        row.extend(r.values.iter().map(plain));
        let f = Fields::of(&r.summary);
        for m in &head[2 + plan.keys.len()..] {
            row.push(f.get(m));
        }
        rows.push(row);
    }
    text.push_str(&crate::console::aligned(&rows));
    text.push_str(&format!(
        "results    {}\n",
        crate::console::shown(&out.join("runs.csv")).display()
    ));
    text
}
