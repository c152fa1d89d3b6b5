//! The paper exchange: Peatio's validation, locks, matching, queue position and fees, driven by
//! the normalized event stream, with latency between it and the strategy.

pub mod accounts;
pub mod exchange;
pub mod fees;
pub mod latency;
pub mod order;
pub mod queue;
pub mod runner;

pub use accounts::{Accounts, Balance, BALANCE_SCALE};
pub use exchange::Exchange;
pub use fees::{FeeMode, FeeSchedule, Rates, Tier};
pub use latency::{Latencies, Latency, Rng};
pub use order::{Fill, NewOrder, OrdType, Order, OrderId, OrderState, Reject, SimEvent};
pub use queue::QueueModel;
pub use runner::Sim;
