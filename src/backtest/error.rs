//! What stops a backtest: the layers below's errors, and the scenario's own, naming its file.

use std::path::PathBuf;

/// A backtest that could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Markets(#[from] crate::venue::market::MarketsError),
    #[error(transparent)]
    Capture(#[from] crate::tape::TapeError),
    #[error(transparent)]
    Cache(#[from] crate::tape::cache::CacheError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The scenario at `scenario` cannot be run as written.
    #[error("{}: {reason}", scenario.display())]
    Scenario {
        scenario: PathBuf,
        reason: ScenarioError,
    },
    #[error("starting the event reader: {0}")]
    Reader(std::io::Error),
    /// The equity of the balances at the mid does not fit its scale.
    #[error(
        "{market}: the equity at {at} does not fit 128 bits at {scale} decimals (balances too \
         large for the price precision {price_precision})"
    )]
    EquityOverflow {
        market: String,
        at: String,
        scale: u32,
        price_precision: u32,
    },
}

/// Why a scenario cannot run, or ran without trading.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("strategy.market: no rules for market {0:?}")]
    NoRules(String),
    #[error(transparent)]
    Deposit(#[from] crate::sim::BadDeposit),
    #[error("the events in memory are not those of this scenario's captures")]
    OtherEvents,
    #[error("the captures hold no events")]
    NoEvents,
    #[error("strategy.market: the captures hold no events of {market} (they hold {held})")]
    NoEventsOf { market: String, held: String },
    #[error("run.start {start} is after the captures end ({end})")]
    StartsAfterEnd { start: String, end: String },
    #[error("run.end {end} is before the captures begin ({begin})")]
    EndsBeforeBegin { end: String, begin: String },
    #[error(
        "{market} never had a whole book (a snapshot and both sides) between {from} and {to}; \
         nothing was traded"
    )]
    NeverWhole {
        market: String,
        from: String,
        to: String,
    },
}
