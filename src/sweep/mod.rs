//! `altsim sweep`: one base scenario, many runs. A sweep file names the base and the keys to
//! vary, as a grid (every combination) and as zipped lists (varied together). Each run is the
//! backtest of its derived scenario, written out beside the results so that `altsim backtest`
//! of it gives the same bytes. Runs go in parallel; their order and results do not depend on
//! how many.

use crate::backtest::{run_from, run_together, summarize, summarize_together, Progress};

mod error;
mod plan;
mod scale;
mod table;

use crate::report::Summary;
use crate::tape::cache::EventStore;
pub use error::{Cause, MergeError, ShardError, SweepError, SweepFileError};
pub use plan::{ranking, RANKING};
pub use scale::{merge, shard};
#[cfg(feature = "parquet")]
pub use table::report;

/// The most events a sweep holds in memory (about 56 bytes each: 112 MB); longer captures
/// are streamed from their cache by every run, in constant memory.
const STORE_EVENTS: u64 = 2_000_000;
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
pub const METRICS: [&str; 29] = [
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
    "sharpe_per_interval",
    "sortino_per_interval",
    "hold_pnl",
    "spread_pnl",
    "fees_quote",
    "inventory_pnl",
    "vs_hold",
    "markout_1s_bps",
    "markout_10s_bps",
    "markout_60s_bps",
    "both_presence",
    "quoted_spread_bps",
    "inventory_mean_abs",
];

/// What a sweep varies and how its runs rank: all its results need, without the base
/// scenario. Every result folder holds it as `plan.toml`, so `sweep merge` combines shards'
/// folders without the sweep file, and knows when they come from different sweeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The summary field runs are ranked by, highest first.
    pub metric: String,
    /// Runs whose result folders are kept.
    pub top: usize,
    /// The varied keys, in column order.
    pub keys: Vec<String>,
    /// Each run's values of `keys`.
    pub runs: Vec<Vec<toml::Value>>,
}

/// The plan's file in a sweep's result folder.
pub const PLAN: &str = "plan.toml";

/// A sweep ready to run.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub path: PathBuf,
    pub out: PathBuf,
    pub plan: Plan,
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
pub fn load(path: &Path) -> Result<Sweep, SweepError> {
    let at = |reason| SweepError::Sweep {
        file: path.to_path_buf(),
        reason: Box::new(reason),
    };
    let text = std::fs::read_to_string(path).map_err(|e| at(SweepFileError::Read(e)))?;
    let f: SweepFile = toml::from_str(&text).map_err(|e| at(SweepFileError::Toml(e)))?;
    if !METRICS.contains(&f.metric.as_str()) {
        return Err(at(SweepFileError::Metric(f.metric)));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let base_path = dir.join(&f.base);
    let base_text = std::fs::read_to_string(&base_path).map_err(|source| {
        at(SweepFileError::BaseRead {
            path: base_path.clone(),
            source,
        })
    })?;
    let mut base: toml::Table =
        toml::from_str(&base_text).map_err(|e| at(SweepFileError::BaseToml(e)))?;
    crate::scenario::absolute_paths(&mut base, base_path.parent().unwrap_or(Path::new(".")))
        .map_err(|e| at(SweepFileError::BasePath(e)))?;
    let mut keys: Vec<String> = Vec::new();
    let mut runs: Vec<Vec<toml::Value>> = vec![Vec::new()];
    for (k, vals) in &f.grid {
        if vals.is_empty() {
            return Err(at(SweepFileError::NoValues(k.clone())));
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
            return Err(at(SweepFileError::TooManyRuns));
        }
    }
    if let Some(n) = f.zip.values().next().map(Vec::len) {
        if let Some((k, v)) = f.zip.iter().find(|(_, v)| v.len() != n) {
            return Err(at(SweepFileError::ZipLength {
                key: k.clone(),
                len: v.len(),
                first: n,
            }));
        }
        if keys.iter().any(|k| f.zip.contains_key(k)) {
            return Err(at(SweepFileError::GridAndZip));
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
            return Err(at(SweepFileError::TooManyRuns));
        }
    }
    let sweep = Sweep {
        path: path.to_path_buf(),
        out: dir.join(&f.out),
        plan: Plan {
            metric: f.metric,
            top: f.top,
            keys,
            runs,
        },
        base_path,
        base,
    };
    // Every derived scenario is checked before anything runs.
    for i in 0..sweep.plan.runs.len() {
        let (name, text) = sweep.scenario_text(i)?;
        crate::scenario::parse(&sweep.out.join("scenarios").join(&name), &text).map_err(|e| {
            at(SweepFileError::Run {
                name,
                source: Box::new(e),
            })
        })?;
    }
    Ok(sweep)
}

fn set(t: &mut toml::Table, key: &str, v: toml::Value) -> Result<(), SweepFileError> {
    let (table, leaf) = key
        .split_once('.')
        .ok_or_else(|| SweepFileError::NotDotted(key.to_string()))?;
    let tab = t
        .entry(table)
        .or_insert_with(|| toml::Value::Table(Default::default()))
        .as_table_mut()
        .ok_or_else(|| SweepFileError::NotATable {
            key: key.to_string(),
            table: table.to_string(),
        })?;
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
    pub fn scenario_text(&self, i: usize) -> Result<(String, String), SweepError> {
        let name = run_name(i);
        let mut t = self.base.clone();
        let at = |reason| SweepError::Sweep {
            file: self.path.clone(),
            reason: Box::new(reason),
        };
        for (k, v) in self.plan.keys.iter().zip(&self.plan.runs[i]) {
            set(&mut t, k, v.clone()).map_err(at)?;
        }
        set(
            &mut t,
            "run.out",
            toml::Value::String(format!("../runs/{name}")),
        )
        .map_err(at)?;
        let mut text = format!(
            "# {} of {} ({})\n",
            name,
            self.path.display(),
            self.base_path.display()
        );
        for (k, v) in self.plan.keys.iter().zip(&self.plan.runs[i]) {
            text.push_str(&format!("# {k} = {v}\n"));
        }
        text.push_str(&toml::to_string(&t).map_err(error::at(&self.path))?);
        Ok((format!("{name}.toml"), text))
    }

    /// Runs this shard's runs (all of them without `opts.shard`) on `opts.jobs` threads (0:
    /// one per core), each run's summary saved in `summaries/` as it finishes (with
    /// `opts.resume`, runs already saved are skipped); writes `runs.csv` of the shard's runs,
    /// keeps the result folders of its `top` best (all with `opts.keep_all`) and returns them
    /// in run order.
    pub fn run(&self, opts: &Options) -> Result<Vec<RunResult>, SweepError> {
        let io = |p: &Path, e: std::io::Error| SweepError::file(p, e);
        let scen_dir = self.out.join("scenarios");
        let sum_dir = self.out.join(SUMMARIES);
        for d in [&scen_dir, &sum_dir] {
            std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
        }
        // Saved summaries are only this sweep's to resume from.
        if opts.resume && self.out.join(PLAN).exists() && Plan::read(&self.out)? != self.plan {
            return Err(SweepError::OtherSweep(self.out.clone()));
        }
        self.plan.save(&self.out)?;
        let mine: Vec<usize> = (0..self.plan.runs.len())
            .filter(|i| opts.shard.is_none_or(|(k, n)| i % n == k))
            .collect();
        let mut todo = Vec::new();
        for &i in &mine {
            let (name, text) = self.scenario_text(i)?;
            let p = scen_dir.join(&name);
            std::fs::write(&p, &text).map_err(|e| io(&p, e))?;
            if opts.resume && read_summary(&self.out, i).is_ok() {
                continue;
            }
            let s = crate::scenario::parse(&p, &text)?;
            todo.push((i, s));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.jobs)
            .build()?;
        // The events are decoded once, into the cache. When every run reads the same
        // captures (the usual sweep) and they fit [`STORE_EVENTS`], the cache is read once
        // into memory and shared by all runs; otherwise each run streams the cache file.
        let mut store = None;
        if let Some((_, first)) = todo.first() {
            let rules = |s: &crate::scenario::Scenario| {
                crate::venue::market::default_markets(s.markets.as_deref(), &s.captures)
            };
            let first_rules = rules(first)?;
            let mut shared = true;
            for (_, s) in &todo[1..] {
                shared &= s.captures == first.captures && rules(s)? == first_rules;
            }
            if shared {
                store =
                    pool.install(|| EventStore::load(&first.captures, first_rules, STORE_EVENTS))?;
            } else {
                crate::tape::cache::open_or_build(&first.captures, first_rules)?;
            }
        }
        let run_one = |s: &crate::scenario::Scenario, files: bool| match &store {
            Some(m)
                if m.holds(
                    &s.captures,
                    &crate::venue::market::default_markets(s.markets.as_deref(), &s.captures)?,
                ) =>
            {
                crate::backtest::run_in(s, m, files)
            }
            _ if files => run_from(s, None, Progress::Quiet, true).map(|(o, _)| o),
            _ => summarize(s),
        };
        let bar =
            (opts.progress && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                let kept = if opts.keep_all {
                    0
                } else {
                    self.plan.top.min(mine.len())
                };
                let pb = indicatif::ProgressBar::new((todo.len() + kept) as u64);
                pb.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} runs (ETA {eta})",
                    )
                    .expect("valid template"),
                );
                pb
            });
        let tick = || {
            if let Some(pb) = &bar {
                pb.inc(1);
            }
        };
        let stopped = || {
            opts.stop
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed))
        };
        let together = store.is_some() && !opts.keep_all;
        let threads = pool.current_num_threads();
        let groups = if together {
            share_passes(&todo, threads)
        } else {
            todo.iter().map(|r| vec![r]).collect()
        };
        pool.install(|| {
            groups.par_iter().try_for_each(|runs| {
                if stopped() {
                    return Ok(());
                }
                // Only the folders kept are written: the top ones are run again below, to
                // the same bytes, once the ranking is known.
                let outcomes = match &store {
                    Some(m) if together => {
                        let scenarios: Vec<_> = runs.iter().map(|(_, s)| s).collect();
                        summarize_together(&scenarios, m)?
                    }
                    _ => runs
                        .iter()
                        .map(|(_, s)| run_one(s, opts.keep_all))
                        .collect::<Result<_, _>>()?,
                };
                for ((i, _), o) in runs.iter().zip(outcomes) {
                    write_summary(&self.out, *i, &o.summary)?;
                    tick();
                }
                Ok::<(), SweepError>(())
            })
        })?;
        let read: Vec<Result<RunResult, SweepError>> = mine
            .iter()
            .map(|&i| {
                Ok(RunResult {
                    name: run_name(i),
                    values: self.plan.runs[i].clone(),
                    summary: read_summary(&self.out, i)?,
                })
            })
            .collect();
        if stopped() {
            if let Some(pb) = &bar {
                pb.finish_and_clear();
            }
            // The tables of the runs finished, here or before a resume; the rest wait.
            let done: Vec<RunResult> = read.into_iter().filter_map(Result::ok).collect();
            self.plan.write_runs(&self.out, &done)?;
            return Err(SweepError::Interrupted {
                done: done.len(),
                of: mine.len(),
                table: self.out.join("runs.csv"),
            });
        }
        let results = read.into_iter().collect::<Result<Vec<_>, SweepError>>()?;
        // The tables and the kept runs' folders are written side by side.
        let best = self.plan.best(&results);
        let keep = || -> Result<(), SweepError> {
            if opts.keep_all {
                return Ok(());
            }
            remove_unkept(&self.out, &results, &best)?;
            let top = best
                .iter()
                .map(|name| {
                    let p = scen_dir.join(format!("{name}.toml"));
                    let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
                    Ok(crate::scenario::parse(&p, &text)?)
                })
                .collect::<Result<Vec<_>, SweepError>>()?;
            match &store {
                // The kept runs share passes over the book too, each writing its folder.
                Some(m) => share_passes(&top, threads).par_iter().try_for_each(|runs| {
                    run_together(runs, m, true)?;
                    runs.iter().for_each(|_| tick());
                    Ok::<(), SweepError>(())
                }),
                _ => top.par_iter().try_for_each(|s| {
                    run_one(s, true)?;
                    tick();
                    Ok::<(), SweepError>(())
                }),
            }
        };
        let (tables, kept) =
            pool.install(|| rayon::join(|| self.plan.write_tables(&self.out, &results), keep));
        tables?;
        kept?;
        table::top_chart(&self.out, &best)?;
        if let Some(pb) = bar {
            pb.finish_and_clear();
        }
        Ok(results)
    }
}

/// Removes the result folders in `dir/runs/` of the runs not among `best`.
pub(super) fn remove_unkept(
    dir: &Path,
    results: &[RunResult],
    best: &[String],
) -> Result<(), SweepError> {
    for r in results {
        let d = dir.join("runs").join(&r.name);
        if !best.contains(&r.name) && d.exists() {
            std::fs::remove_dir_all(&d).map_err(error::at(&d))?;
        }
    }
    Ok(())
}

/// The most runs that share one pass over the book: enough to spread its cost, few enough
/// that a thread's runs stay in cache and a busy core holds back little of the sweep.
const GROUP: usize = 16;

/// The fewest runs a group is cut to for the threads' sake: below it, the pass over the book
/// costs more than the balance gains.
const SHARED: usize = 8;

/// Where each run's summary is saved, in a sweep's result folder.
pub const SUMMARIES: &str = "summaries";

/// How a sweep runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Runs at once (0: one per core).
    pub jobs: usize,
    /// Keep every run's result folder.
    pub keep_all: bool,
    /// A progress bar on a terminal.
    pub progress: bool,
    /// Only the runs whose index is `k` modulo `n`.
    pub shard: Option<(usize, usize)>,
    /// Skip runs whose summary is already saved.
    pub resume: bool,
    /// Set (by Ctrl-C, say) to start no more runs: those in flight finish, and the tables
    /// are written for the runs done so far.
    pub stop: Option<Arc<AtomicBool>>,
}

/// `items` in groups that share one pass over the book, of at most [`GROUP`]: two groups a
/// thread, so that a thread done early takes another's, unless that would leave fewer than
/// [`SHARED`] to share a pass. A group takes every `count`th item, so that the groups mix the
/// sweep's values (its first key's slow ones together would make one group much heavier than
/// the rest).
fn share_passes<T>(items: &[T], threads: usize) -> Vec<Vec<&T>> {
    let a_thread = items.len().div_ceil(threads.max(1));
    let size = items
        .len()
        .div_ceil(2 * threads.max(1))
        .max(a_thread.min(SHARED))
        .clamp(1, GROUP);
    let count = items.len().div_ceil(size);
    (0..count)
        .map(|k| items.iter().skip(k).step_by(count).collect())
        .collect()
}

/// `run-00001` for run 0.
pub fn run_name(i: usize) -> String {
    format!("run-{:05}", i + 1)
}

pub(super) fn summary_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(SUMMARIES).join(format!("{}.json", run_name(i)))
}

/// Saves a run's summary whole or not at all (a temporary file renamed into place), so an
/// interrupted sweep resumes from what is on disk.
pub(super) fn write_summary(dir: &Path, i: usize, s: &Summary) -> Result<(), SweepError> {
    let p = summary_path(dir, i);
    let tmp = p.with_extension("json.partial");
    let text = serde_json::to_string_pretty(s).expect("summary serializes");
    std::fs::write(&tmp, text).map_err(error::at(&tmp))?;
    std::fs::rename(&tmp, &p).map_err(error::at(&p))
}

pub(super) fn read_summary(dir: &Path, i: usize) -> Result<Summary, SweepError> {
    let p = summary_path(dir, i);
    let text = std::fs::read_to_string(&p).map_err(error::at(&p))?;
    serde_json::from_str(&text).map_err(error::at(&p))
}

/// A value as a CSV cell: strings without quotes.
pub fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A summary field by name, as text: a top-level key, an attribution term (`spread_pnl`), a
/// quoting statistic (`both_presence`) or a markout of all fills (`markout_10s_bps`); empty
/// when the run has none. For several fields of one summary, [`Fields`] reads it once.
pub fn field(s: &Summary, name: &str) -> String {
    Fields::of(s).get(name)
}

/// A summary's fields by name, from one reading of it.
pub struct Fields<'a> {
    summary: &'a Summary,
    json: serde_json::Value,
}

impl<'a> Fields<'a> {
    pub fn of(summary: &'a Summary) -> Fields<'a> {
        Fields {
            summary,
            json: serde_json::to_value(summary).expect("summary serializes"),
        }
    }

    /// As [`field`].
    pub fn get(&self, name: &str) -> String {
        if let Some(h) = name
            .strip_prefix("markout_")
            .and_then(|n| n.strip_suffix("s_bps"))
        {
            return self
                .summary
                .markouts
                .iter()
                .find(|m| m.horizon_secs == h)
                .map_or(String::new(), |m| m.all_bps.clone());
        }
        let v = &self.json;
        let found = [&v[name], &v["attribution"][name], &v["quoting"][name]]
            .into_iter()
            .find(|x| !x.is_null());
        match found {
            None => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    /// The sweep's metric columns, in [`METRICS`] order.
    pub fn metrics(&self) -> impl Iterator<Item = String> + '_ {
        METRICS.iter().map(|m| self.get(m))
    }
}

/// A summary field as a number for ranking (unparsable values rank last).
fn metric(s: &Summary, name: &str) -> Decimal {
    Decimal::from_str(&field(s, name)).unwrap_or(Decimal::MIN)
}
