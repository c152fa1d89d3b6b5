//! The paper exchange: Peatio's validation, locks, matching, queue position and fees, driven by
//! the normalized event stream, with latency between it and the strategy.

pub mod accounts;
pub mod exchange;
pub mod fees;
pub mod latency;
pub mod order;
pub mod queue;
pub mod runner;

pub use accounts::{Accounts, Balance, Unconserved, BALANCE_SCALE};
pub use exchange::Exchange;
pub use fees::{FeeMode, FeeSchedule, Rates, Tier};
pub use latency::{Latencies, Latency, Rng};
pub use order::{Fill, NewOrder, OrdType, Order, OrderId, OrderState, Reject, SimEvent};
pub use queue::QueueModel;
pub use runner::Sim;

/// How a paper exchange behaves: its fees, latencies, queue model and the seed of its random
/// latencies. A scenario holds one; `paper` reads one from `--config`.
#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    pub fees: FeeSchedule,
    pub latencies: Latencies,
    pub queue: QueueModel,
    pub seed: u64,
}

impl Default for ExchangeConfig {
    /// 0.25 % fees, no latency, the conservative queue.
    fn default() -> Self {
        ExchangeConfig {
            fees: FeeSchedule::default(),
            latencies: Latencies::default(),
            queue: QueueModel::Conservative,
            seed: 0,
        }
    }
}

impl Sim {
    /// A paper exchange of `rules` behaving as `cfg`, with `balances` deposited.
    pub fn build(
        rules: Vec<crate::venue::MarketRules>,
        cfg: &ExchangeConfig,
        balances: &std::collections::BTreeMap<String, rust_decimal::Decimal>,
    ) -> Result<Sim, BadDeposit> {
        let mut ex = Exchange::new(rules, cfg.fees.clone(), cfg.queue);
        for (currency, amount) in balances {
            ex.deposit(currency, *amount)?;
        }
        Ok(Sim::new(ex, cfg.latencies.clone(), cfg.seed))
    }
}

/// A starting balance the exchange cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("balance {currency} {amount}: {reason}")]
pub struct BadDeposit {
    pub currency: String,
    pub amount: rust_decimal::Decimal,
    pub reason: DepositReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositReason {
    #[error(transparent)]
    Value(#[from] crate::fixed::FixedError),
    #[error("must not be negative")]
    Negative,
}
