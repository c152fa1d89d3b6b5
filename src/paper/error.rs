//! What stops a paper session, its replay or its accounts file.

use std::path::PathBuf;

/// A paper session that could not start, go on or finish, or a journal that does not replay.
#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    #[error("--listen {0}: not a loopback address; give --allow-remote to serve other hosts")]
    NotLoopback(std::net::SocketAddr),
    #[error("--speed: {0} must be a positive number")]
    Speed(f64),
    #[error("no captures given")]
    NoCaptures,
    /// A file of the session that could not be written or read.
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: Cause },
    /// Market rules that break Peatio's, from `from` (a capture's header, a REST answer).
    #[error("{from}: {source}")]
    Rules {
        from: String,
        source: crate::venue::market::RulesError,
    },
    #[error("{}: no header line", .0.display())]
    NoHeader(PathBuf),
    /// A journal record the engine refuses.
    #[error("{}:{line}: {source}", path.display())]
    Replay {
        path: PathBuf,
        line: u64,
        source: crate::tape::OffRules,
    },
    #[error("account {key}: {source}")]
    Account {
        key: String,
        source: crate::sim::BadDeposit,
    },
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error(transparent)]
    Capture(#[from] crate::tape::TapeError),
    #[error(transparent)]
    OffRules(#[from] crate::tape::OffRules),
    #[error(transparent)]
    Ranger(#[from] crate::ranger::RangerError),
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Backtest(#[from] crate::backtest::BacktestError),
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the session's task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Why a file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    #[error(transparent)]
    TomlOut(#[from] toml::ser::Error),
}

/// An accounts file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: line {line}: {message}", path.display())]
    Toml {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: account {index} ({key:?}): {reason}", path.display())]
    Account {
        path: PathBuf,
        index: usize,
        key: String,
        reason: Box<AccountReason>,
    },
    #[error("{}: no [[account]]", .0.display())]
    NoAccount(PathBuf),
}

/// What is wrong with one account of an accounts file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountReason {
    #[error("key and secret must not be empty")]
    Empty,
    #[error("the key is listed twice")]
    Twice,
    #[error("balances.{currency}: {reason}")]
    Balance {
        currency: String,
        reason: crate::bounds::Refused,
    },
}

impl PaperError {
    /// An error of the file at `path`.
    pub fn file(path: impl Into<PathBuf>, source: impl Into<Cause>) -> PaperError {
        PaperError::File {
            path: path.into(),
            source: source.into(),
        }
    }
}

/// A closure that places an error at `path`, for `map_err`.
pub(crate) fn at<E: Into<Cause>>(path: &std::path::Path) -> impl Fn(E) -> PaperError + '_ {
    move |e| PaperError::file(path, e)
}
