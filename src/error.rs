//! Where typed errors still become text inside the library: the layers above that report in
//! text take the typed errors of the layers below through these conversions, listed here in one
//! place so that each goes when the layer taking it is typed.

macro_rules! into_text {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for String {
            fn from(e: $t) -> String {
                e.to_string()
            }
        })*
    };
}

into_text!(
    crate::venue::market::MarketsError,
    crate::tape::OffRules,
    crate::tape::TapeError,
    crate::tape::cache::CacheError,
    crate::tape::cache::gc::BudgetError,
    crate::tape::cache::gc::GcError,
    crate::report::ReportError,
    crate::backtest::BacktestError,
);
