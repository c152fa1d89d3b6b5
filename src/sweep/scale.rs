//! Sweeps across the tasks of a batch engine: which runs a task takes (`--shard`), and how
//! the tasks' result folders become the one folder a single process writes (`sweep merge`).

use super::error::{at, MergeError, ShardError, SweepError};
use super::SUMMARIES;
use super::{read_summary, remove_unkept, run_name, summary_path, table, write_summary};
use super::{Plan, RunResult};
use std::path::{Path, PathBuf};

/// Combines shards' result folders (`parts`, each from `sweep --shard`) into `out`: the
/// folder one unsharded process writes. Every run's scenario and summary are copied, the
/// tables and heatmap written, and the folders of the best runs (each part keeps its own
/// best, so the best of all are among them) copied with the chart of their PnL. Every run
/// must be in one of `parts`, and every part from the same sweep.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<(Plan, Vec<RunResult>), SweepError> {
    let (first, rest) = parts.split_first().ok_or(MergeError::NoParts)?;
    let plan = Plan::read(first)?;
    for p in rest {
        if Plan::read(p)? != plan {
            return Err(MergeError::OtherSweeps(first.clone(), p.clone()).into());
        }
    }
    let io = |p: &Path, e: std::io::Error| SweepError::file(p, e);
    // Copying a part's files onto themselves would empty them.
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(p) = parts.iter().find(|p| same(p, out)) {
        return Err(MergeError::OutIsAPart(p.clone()).into());
    }
    for d in [out.join("scenarios"), out.join(SUMMARIES), out.join("runs")] {
        std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
    }
    let mut results = Vec::with_capacity(plan.runs.len());
    for (i, values) in plan.runs.iter().enumerate() {
        let name = run_name(i);
        let part = parts
            .iter()
            .find(|d| summary_path(d, i).is_file())
            .ok_or_else(|| MergeError::NoRun {
                name: name.clone(),
                looked: parts
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let summary = read_summary(part, i)?;
        write_summary(out, i, &summary)?;
        let scen = Path::new("scenarios").join(format!("{name}.toml"));
        std::fs::copy(part.join(&scen), out.join(&scen)).map_err(|e| io(&part.join(&scen), e))?;
        results.push(RunResult {
            name,
            values: values.clone(),
            summary,
        });
    }
    let best = plan.write_tables(out, &results)?;
    // Folders of an earlier merge's best runs go, as a sweep removes those not kept.
    remove_unkept(out, &results, &best)?;
    for name in &best {
        let from = parts
            .iter()
            .map(|d| d.join("runs").join(name))
            .find(|d| d.is_dir())
            .ok_or_else(|| MergeError::NoBest(name.clone()))?;
        copy_dir(&from, &out.join("runs").join(name))?;
    }
    table::top_chart(out, &best)?;
    Ok((plan, results))
}

/// Copies the files of folder `from` (and its folders) into `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<(), SweepError> {
    std::fs::create_dir_all(to).map_err(at(to))?;
    let mut entries = std::fs::read_dir(from)
        .map_err(at(from))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(at(from))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(at(&src))?;
        }
    }
    Ok(())
}

/// The shard `I/N` of `--shard`, or with `--shards N` the index a batch engine gives each
/// task: `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job) or `SLURM_ARRAY_TASK_ID` (a Slurm
/// array), read through `env`.
pub fn shard(
    explicit: Option<&str>,
    count: Option<usize>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(usize, usize)>, ShardError> {
    let check = |k: usize, n: usize, given_in: &'static str| {
        if n == 0 || k >= n {
            Err(ShardError::NoSuchShard { given_in, k, n })
        } else {
            Ok(Some((k, n)))
        }
    };
    match (explicit, count) {
        (Some(_), Some(_)) => Err(ShardError::Both),
        (Some(s), None) => {
            let (k, n) = s
                .split_once('/')
                .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)))
                .ok_or_else(|| ShardError::NotIOverN(s.to_string()))?;
            check(k, n, "--shard")
        }
        (None, Some(n)) => {
            for var in ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"] {
                if let Some(v) = env(var) {
                    let k = v.trim().parse().map_err(|_| ShardError::NotAnIndex {
                        var,
                        value: v.clone(),
                    })?;
                    return check(k, n, var);
                }
            }
            Err(ShardError::NoIndex)
        }
        (None, None) => Ok(None),
    }
}
