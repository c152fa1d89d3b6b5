//! What stops a sweep: its file, its folders, its runs and merging its parts.

use std::path::PathBuf;

/// A sweep that could not be read, run, merged or reported.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The sweep file asks for something that cannot be run.
    #[error("{}: {reason}", file.display())]
    Sweep {
        file: PathBuf,
        reason: Box<SweepFileError>,
    },
    /// A file or folder that could not be written or read.
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: Cause },
    /// A folder without the plan a sweep saves.
    #[error(
        "{}: {source} (not the result folder of a sweep, or of one older than plan.toml)",
        path.display()
    )]
    NoPlan {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: holds the results of another sweep (plan.toml differs); --resume would mix them", .0.display())]
    OtherSweep(PathBuf),
    #[error("interrupted: {done} of {of} runs done, in {}; --resume runs the rest", table.display())]
    Interrupted {
        done: usize,
        of: usize,
        table: PathBuf,
    },
    #[error("{}: no column {want:?} (columns: {})", path.display(), columns.join(", "))]
    NoColumn {
        path: PathBuf,
        want: String,
        columns: Vec<String>,
    },
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Shard(#[from] ShardError),
    #[error(transparent)]
    Pool(#[from] rayon::ThreadPoolBuildError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Backtest(#[from] crate::backtest::BacktestError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Cache(#[from] crate::tape::cache::CacheError),
    #[error(transparent)]
    Markets(#[from] crate::venue::market::MarketsError),
}

/// Why a file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    #[error(transparent)]
    TomlOut(#[from] toml::ser::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[cfg(feature = "parquet")]
    #[error(transparent)]
    Parquet(#[from] polars::error::PolarsError),
}

/// What is wrong in a sweep file.
#[derive(Debug, thiserror::Error)]
pub enum SweepFileError {
    #[error(transparent)]
    Read(std::io::Error),
    #[error(transparent)]
    Toml(toml::de::Error),
    #[error("metric: {0:?} is not one of {metrics}", metrics = super::METRICS.join(", "))]
    Metric(String),
    #[error("base: {}: {source}", path.display())]
    BaseRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("base: {0}")]
    BaseToml(toml::de::Error),
    #[error("base: {0}")]
    BasePath(std::io::Error),
    #[error("grid.{0:?}: no values")]
    NoValues(String),
    #[error("more than {max} runs", max = super::MAX_RUNS)]
    TooManyRuns,
    #[error("zip.{key:?}: {len} values where the first list has {first}")]
    ZipLength {
        key: String,
        len: usize,
        first: usize,
    },
    #[error("a key is both in grid and in zip")]
    GridAndZip,
    #[error("run {name}: {source}")]
    Run {
        name: String,
        source: Box<crate::config::ConfigError>,
    },
    #[error("{0:?}: a key is table.name")]
    NotDotted(String),
    #[error("{key:?}: {table} is not a table")]
    NotATable { key: String, table: String },
}

/// Parts that do not make one sweep.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("sweep merge: no result folders to merge")]
    NoParts,
    #[error("{} and {} are parts of different sweeps (their plan.toml differ)", .0.display(), .1.display())]
    OtherSweeps(PathBuf, PathBuf),
    #[error("sweep merge: --out {} is one of the parts; merge into a folder of its own", .0.display())]
    OutIsAPart(PathBuf),
    #[error("no part holds {name} (looked in {looked})")]
    NoRun { name: String, looked: String },
    #[error("no part holds the result folder of {0}, a best run")]
    NoBest(String),
}

/// A shard that cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("give --shard I/N or --shards N, not both")]
    Both,
    #[error("--shard {0:?}: expected I/N, as 0/4")]
    NotIOverN(String),
    #[error("{var}={value:?} is not a shard index")]
    NotAnIndex { var: &'static str, value: String },
    #[error("--shards: neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set")]
    NoIndex,
    #[error("{given_in}: shard {k} of {n} does not exist (0 <= I < N)")]
    NoSuchShard {
        given_in: &'static str,
        k: usize,
        n: usize,
    },
}

impl SweepError {
    /// An error of the file at `path`.
    pub fn file(path: impl Into<PathBuf>, source: impl Into<Cause>) -> SweepError {
        SweepError::File {
            path: path.into(),
            source: source.into(),
        }
    }
}

/// A closure that places an error at `path`, for `map_err`.
pub(crate) fn at<E: Into<Cause>>(path: &std::path::Path) -> impl Fn(E) -> SweepError + '_ {
    move |e| SweepError::file(path, e)
}
