//! Several runs over the same events in one pass.
//!
//! A sweep's runs differ in their strategy and exchange settings, not in their market data, so
//! the book each run's exchange would keep is the same book at every event. Here it is kept
//! once: each event is applied to it once, then every run's exchange reacts to it with the
//! book lent to it, and every run's strategy acts on the instant with the book lent again.
//! Each run sees what it would see alone, in the same order, so its summary is the same bytes
//! ([`run_in`](super::run_in) with no result folder).

use super::error::BacktestError;
use super::feed::{self, Events};
use super::{Counts, Outcome, Session};
use crate::book::Books;
use crate::scenario::Scenario;
use crate::sim::Exchange;
use crate::tape::cache::EventStore;
use crate::tape::Event;

/// The summaries of `scenarios`' runs over the events of `store`, in order, with no result
/// folders. Runs that stop at different times cannot share a pass: each then runs alone.
pub fn summarize_together(
    scenarios: &[&Scenario],
    store: &EventStore,
) -> Result<Vec<Outcome>, BacktestError> {
    let Some(first) = scenarios.first() else {
        return Ok(Vec::new());
    };
    if scenarios.iter().any(|s| s.end_ns != first.end_ns) {
        return scenarios
            .iter()
            .map(|&s| super::run_in(s, store, false))
            .collect();
    }
    let mut sessions = Vec::with_capacity(scenarios.len());
    for &s in scenarios {
        super::check_store(s, store)?;
        sessions.push(Session::open_to(s, store.markets().to_vec(), None)?);
    }
    let markets = store.markets().len();
    let mut books = Books::new();
    let mut counts = Counts::new(markets);
    let stream = feed::instants(Events::Memory(store), first.end_ns, |evs: &[Event]| {
        counts.add(evs);
        let recv = evs[0].recv_ns;
        for s in &mut sessions {
            s.run.sim.begin_shared(recv, &mut books);
        }
        for ev in evs {
            let a = Exchange::apply_shared(&mut books, markets, ev);
            for s in &mut sessions {
                s.run.sim.on_shared(ev, a, &mut books);
            }
        }
        for s in &mut sessions {
            s.run.sim.swap_books(&mut books);
            let done = s.run.react(evs);
            s.run.sim.swap_books(&mut books);
            done?;
            if let Some(e) = s.run.rec.out.failure() {
                return Err(e.into());
            }
        }
        Ok(())
    })?;
    sessions
        .into_iter()
        .map(|mut s| {
            s.run.counts = counts.clone();
            let mut own = books.clone();
            s.run.sim.swap_books(&mut own);
            s.finish(stream.stats())
        })
        .collect()
}
