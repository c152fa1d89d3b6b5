//! altsim: a deterministic backtesting and paper-trading simulator for the Altmarkets
//! (Peatio/ranger) spot exchange.
//!
//! Modules depend one way: [`venue`] (the wire) → [`tape`] (recordings and normalized events)
//! → [`book`] → the rest.

pub mod backtest;
pub mod book;
pub mod bounds;
pub mod cli;
pub mod config;
pub mod console;
pub mod fixed;
pub mod inspect;
pub mod paper;
pub mod ranger;
pub mod record;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod sim;
pub mod strategy;
pub mod sweep;
pub mod tape;
pub mod utc;
pub mod value;
pub mod venue;
