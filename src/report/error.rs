//! What goes wrong writing or reading a result folder, naming the file (and the row).

use std::path::PathBuf;

/// A result folder that could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file that could not be written or read.
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: FileError },
    /// A folder's `run.json` is missing or unreadable.
    #[error("{}: {source} (is this a result folder?)", path.display())]
    NotAResultFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A row of a table that does not read (rows are counted as a spreadsheet does: the
    /// header is row 1).
    #[error("{}: row {row}: {source}", path.display())]
    Row {
        path: PathBuf,
        row: usize,
        source: RowError,
    },
    /// A run's outputs failed part way; the folder keeps its old results.
    #[error("writing results in {}: {source}", dir.display())]
    Writing {
        dir: PathBuf,
        source: Box<ReportError>,
    },
    /// `report --compare` given too few or too many folders.
    #[error("--compare takes from 2 to {most} result folders, not {given}")]
    CompareCount { most: usize, given: usize },
}

/// Why a file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[cfg(feature = "parquet")]
    #[error(transparent)]
    Parquet(#[from] polars::error::PolarsError),
    #[error(transparent)]
    Png(#[from] png::EncodingError),
    /// The chart library's error (its type depends on the drawing backend).
    #[error(transparent)]
    Draw(Box<dyn std::error::Error + Send + Sync>),
}

/// A table row that does not read.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error("{column}: {reason}")]
    Field {
        column: &'static str,
        reason: FieldError,
    },
}

/// A field of a row that does not read.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error("empty")]
    Empty,
    #[error(transparent)]
    Value(#[from] crate::value::ValueTextError),
    #[error("{0:?}: {1}")]
    Rate(String, crate::fixed::FixedError),
    #[error("{0:?} is not buy or sell")]
    Side(String),
    #[error("{0:?} is not maker or taker")]
    Liquidity(String),
}

impl ReportError {
    /// An error of the file at `path`.
    pub fn file(path: impl Into<PathBuf>, source: impl Into<FileError>) -> ReportError {
        ReportError::File {
            path: path.into(),
            source: source.into(),
        }
    }
}

/// A closure that places an error at `path`, for `map_err`.
pub(crate) fn at<E: Into<FileError>>(path: &std::path::Path) -> impl Fn(E) -> ReportError + '_ {
    move |e| ReportError::file(path, e)
}

/// A chart library error, boxed.
pub(crate) fn draw<E: std::error::Error + Send + Sync + 'static>(e: E) -> FileError {
    FileError::Draw(Box::new(e))
}
