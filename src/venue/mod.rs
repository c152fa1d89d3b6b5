//! Everything that knows Altmarkets' wire: ranger frames, Peatio REST shapes, market rules
//! and error codes. Parsing and printing only; no I/O.

pub mod auth;
pub mod frame;
pub mod market;
mod parse;
pub mod rest;
pub mod scan;

pub use frame::{
    BalanceUpdate, ClientRequest, Frame, FrameError, FrameKind, IncLevels, Increment, Level,
    OrderUpdate, PublicTrade, Side, Snapshot, TradeUpdate, Trades,
};
pub use market::{MarketJson, MarketRules, MarketState};
