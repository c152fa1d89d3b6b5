//! `altsim sweep`: one base scenario, many runs. A sweep file names the base and the keys to
//! vary, as a grid (every combination) and as zipped lists (varied together). Each run is the
//! backtest of its derived scenario, written out beside the results so that `altsim backtest`
//! of it gives the same bytes. Runs go in parallel; their order and results do not depend on
//! how many.

use crate::backtest::{run_from, Progress};
use crate::report::Summary;
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The sweep file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    /// The base scenario, relative to the sweep file.
    base: String,
    /// Result folder, relative to the sweep file.
    out: String,
    /// The summary field runs are ranked by, highest first.
    #[serde(default = "default_metric")]
    metric: String,
    /// Runs whose result folders are kept (all with `--keep-runs`).
    #[serde(default = "default_top")]
    top: usize,
    /// Scenario keys (`table.key`) and the values each takes: every combination runs.
    #[serde(default)]
    grid: BTreeMap<String, Vec<toml::Value>>,
    /// Scenario keys and lists of one length, taken together, row by row.
    #[serde(default)]
    zip: BTreeMap<String, Vec<toml::Value>>,
}

fn default_metric() -> String {
    "pnl_total".into()
}

fn default_top() -> usize {
    5
}

/// Most runs one sweep may hold.
pub const MAX_RUNS: usize = 100_000;

/// Summary fields a sweep reports per run, in the columns of `runs.csv`.
pub const METRICS: [&str; 16] = [
    "pnl_total",
    "pnl_realized",
    "pnl_unrealized",
    "final_equity",
    "fills",
    "maker_fills",
    "taker_fills",
    "orders_placed",
    "fill_ratio",
    "volume_base",
    "volume_quote",
    "turnover",
    "max_drawdown",
    "max_drawdown_pct",
    "sharpe",
    "sortino",
];

/// A sweep ready to run.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub path: PathBuf,
    pub out: PathBuf,
    pub metric: String,
    pub top: usize,
    /// The varied keys, in column order.
    pub keys: Vec<String>,
    /// Each run's values of `keys`.
    pub runs: Vec<Vec<toml::Value>>,
    base_path: PathBuf,
    base: toml::Table,
}

/// One finished run.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub name: String,
    pub values: Vec<toml::Value>,
    pub summary: Summary,
}

/// Reads a sweep file and expands its runs.
pub fn load(path: &Path) -> Result<Sweep, String> {
    let at = |e: String| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
    let f: SweepFile = toml::from_str(&text).map_err(|e| at(e.to_string()))?;
    if !METRICS.contains(&f.metric.as_str()) {
        return Err(at(format!(
            "metric: {:?} is not one of {}",
            f.metric,
            METRICS.join(", ")
        )));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let base_path = dir.join(&f.base);
    let base_text = std::fs::read_to_string(&base_path)
        .map_err(|e| at(format!("base: {}: {e}", base_path.display())))?;
    let mut base: toml::Table = toml::from_str(&base_text).map_err(|e| at(format!("base: {e}")))?;
    crate::scenario::absolute_paths(&mut base, base_path.parent().unwrap_or(Path::new(".")))?;
    let mut keys: Vec<String> = Vec::new();
    let mut runs: Vec<Vec<toml::Value>> = vec![Vec::new()];
    for (k, vals) in &f.grid {
        if vals.is_empty() {
            return Err(at(format!("grid.{k:?}: no values")));
        }
        keys.push(k.clone());
        runs = runs
            .iter()
            .flat_map(|r| {
                vals.iter().map(move |v| {
                    let mut r = r.clone();
                    r.push(v.clone());
                    r
                })
            })
            .collect();
        if runs.len() > MAX_RUNS {
            return Err(at(format!("more than {MAX_RUNS} runs")));
        }
    }
    if let Some(n) = f.zip.values().next().map(Vec::len) {
        if let Some((k, v)) = f.zip.iter().find(|(_, v)| v.len() != n) {
            return Err(at(format!(
                "zip.{k:?}: {} values where the first list has {n}",
                v.len()
            )));
        }
        if keys.iter().any(|k| f.zip.contains_key(k)) {
            return Err(at("a key is both in grid and in zip".into()));
        }
        keys.extend(f.zip.keys().cloned());
        let zip = &f.zip;
        runs = runs
            .iter()
            .flat_map(|r| {
                (0..n).map(move |i| {
                    let mut r = r.clone();
                    r.extend(zip.values().map(|v| v[i].clone()));
                    r
                })
            })
            .collect();
        if runs.len() > MAX_RUNS {
            return Err(at(format!("more than {MAX_RUNS} runs")));
        }
    }
    let sweep = Sweep {
        path: path.to_path_buf(),
        out: dir.join(&f.out),
        metric: f.metric,
        top: f.top,
        keys,
        runs,
        base_path,
        base,
    };
    // Every derived scenario is checked before anything runs.
    for i in 0..sweep.runs.len() {
        let (name, text) = sweep.scenario_text(i)?;
        crate::scenario::parse(&sweep.out.join("scenarios").join(&name), &text)
            .map_err(|e| at(format!("run {name}: {e}")))?;
    }
    Ok(sweep)
}

fn set(t: &mut toml::Table, key: &str, v: toml::Value) -> Result<(), String> {
    let (table, leaf) = key
        .split_once('.')
        .ok_or_else(|| format!("{key:?}: a key is table.name"))?;
    let tab = t
        .entry(table)
        .or_insert_with(|| toml::Value::Table(Default::default()))
        .as_table_mut()
        .ok_or_else(|| format!("{key:?}: {table} is not a table"))?;
    match leaf.split_once('.') {
        Some(_) => {
            let mut sub = tab.clone();
            set(&mut sub, leaf, v)?;
            *tab = sub;
        }
        None => {
            tab.insert(leaf.to_string(), v);
        }
    }
    Ok(())
}

impl Sweep {
    /// Run `i`'s name and its scenario's text.
    pub fn scenario_text(&self, i: usize) -> Result<(String, String), String> {
        let name = format!("run-{:05}", i + 1);
        let mut t = self.base.clone();
        for (k, v) in self.keys.iter().zip(&self.runs[i]) {
            set(&mut t, k, v.clone()).map_err(|e| format!("{}: {e}", self.path.display()))?;
        }
        set(
            &mut t,
            "run.out",
            toml::Value::String(format!("../runs/{name}")),
        )?;
        let mut text = format!(
            "# {} of {} ({})\n",
            name,
            self.path.display(),
            self.base_path.display()
        );
        for (k, v) in self.keys.iter().zip(&self.runs[i]) {
            text.push_str(&format!("# {k} = {v}\n"));
        }
        text.push_str(&toml::to_string(&t).map_err(|e| e.to_string())?);
        Ok((format!("{name}.toml"), text))
    }

    /// Runs every run on `jobs` threads (0: one per core), writes `runs.csv`, keeps the result
    /// folders of the `top` best (all with `keep_all`) and returns the runs in order.
    pub fn run(
        &self,
        jobs: usize,
        keep_all: bool,
        progress: bool,
    ) -> Result<Vec<RunResult>, String> {
        let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        let scen_dir = self.out.join("scenarios");
        std::fs::create_dir_all(&scen_dir).map_err(|e| io(&scen_dir, e))?;
        let mut scenarios = Vec::with_capacity(self.runs.len());
        for i in 0..self.runs.len() {
            let (name, text) = self.scenario_text(i)?;
            let p = scen_dir.join(&name);
            std::fs::write(&p, &text).map_err(|e| io(&p, e))?;
            let s = crate::scenario::parse(&p, &text).map_err(|e| e.to_string())?;
            scenarios.push(s);
        }
        // The events are decoded once, into the cache every run then reads.
        if let Some(s) = scenarios.first() {
            let rules = crate::inspect::default_markets(s.markets.as_deref(), &s.captures)?;
            crate::tape::cache::open_or_build(&s.captures, rules)?;
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|e| e.to_string())?;
        let bar = progress
            .then(|| {
                use std::io::IsTerminal;
                std::io::stderr().is_terminal().then(|| {
                    let pb = indicatif::ProgressBar::new(scenarios.len() as u64);
                    pb.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:40} {pos}/{len} runs (ETA {eta})",
                        )
                        .expect("valid template"),
                    );
                    pb
                })
            })
            .flatten();
        let results: Vec<Result<RunResult, String>> = pool.install(|| {
            scenarios
                .par_iter()
                .enumerate()
                .map(|(i, s)| {
                    let (o, _) = run_from(s, None, Progress::Quiet, true)?;
                    if let Some(pb) = &bar {
                        pb.inc(1);
                    }
                    Ok(RunResult {
                        name: format!("run-{:05}", i + 1),
                        values: self.runs[i].clone(),
                        summary: o.summary,
                    })
                })
                .collect()
        });
        if let Some(pb) = bar {
            pb.finish_and_clear();
        }
        let results: Vec<RunResult> = results.into_iter().collect::<Result<_, _>>()?;
        self.write_csv(&results)?;
        if !keep_all {
            let keep: Vec<&str> = self
                .ranked(&results)
                .into_iter()
                .take(self.top)
                .map(|r| r.name.as_str())
                .collect();
            for r in &results {
                if !keep.contains(&r.name.as_str()) {
                    let d = self.out.join("runs").join(&r.name);
                    std::fs::remove_dir_all(&d).map_err(|e| io(&d, e))?;
                }
            }
        }
        Ok(results)
    }

    /// Runs by the sweep's metric, best first (ties in run order).
    pub fn ranked<'a>(&self, results: &'a [RunResult]) -> Vec<&'a RunResult> {
        let mut v: Vec<&RunResult> = results.iter().collect();
        v.sort_by(|a, b| {
            let (x, y) = (
                metric(&a.summary, &self.metric),
                metric(&b.summary, &self.metric),
            );
            y.cmp(&x)
        });
        v
    }

    fn write_csv(&self, results: &[RunResult]) -> Result<(), String> {
        let p = self.out.join("runs.csv");
        let io = |e: std::io::Error| format!("{}: {e}", p.display());
        let mut w = std::io::BufWriter::new(std::fs::File::create(&p).map_err(io)?);
        let mut head = vec!["run".to_string()];
        head.extend(self.keys.iter().cloned());
        head.extend(METRICS.iter().map(|m| m.to_string()));
        writeln!(w, "{}", head.join(",")).map_err(io)?;
        for r in results {
            let mut row = vec![r.name.clone()];
            row.extend(r.values.iter().map(plain));
            row.extend(METRICS.iter().map(|m| field(&r.summary, m)));
            writeln!(w, "{}", row.join(",")).map_err(io)?;
        }
        w.flush().map_err(io)
    }
}

/// A value as a CSV cell: strings without quotes.
pub fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A summary field by name, as text.
pub fn field(s: &Summary, name: &str) -> String {
    let v = serde_json::to_value(s).expect("summary serializes");
    match &v[name] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A summary field as a number for ranking (unparsable values rank last).
fn metric(s: &Summary, name: &str) -> Decimal {
    Decimal::from_str(&field(s, name)).unwrap_or(Decimal::MIN)
}
