//! What stops a ranger client: the exchange's REST answers at start, and the sink it writes.

/// A ranger client that could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum RangerError {
    /// A REST call that failed or whose answer does not read.
    #[error("GET {url}: {reason}")]
    Get { url: String, reason: GetError },
    #[error("market {market:?} is not listed by {url}")]
    NotListed { market: String, url: String },
    /// Writing to the sink (`name`, the files or session it feeds) failed.
    #[error("{name}: {source}")]
    Sink {
        name: String,
        source: std::io::Error,
    },
}

/// Why a REST call gave nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error(transparent)]
    Http(#[from] Box<ureq::Error>),
    #[error("not a market list: {0}")]
    NotMarkets(serde_json::Error),
    #[error("no enabled market")]
    NoneEnabled,
    #[error(transparent)]
    Json(serde_json::Error),
}

impl RangerError {
    pub(crate) fn get(url: &str, reason: impl Into<GetError>) -> RangerError {
        RangerError::Get {
            url: url.to_string(),
            reason: reason.into(),
        }
    }
}
