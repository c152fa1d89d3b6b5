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
use crate::tape::{Event, MarketId};

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
    // Where each run's orders are, by run then market: most events concern none of them.
    let mut watches = Vec::with_capacity(sessions.len() * markets);
    for s in &sessions {
        watches.extend((0..markets).map(|m| s.run.sim.exchange().watch(MarketId(m as u16))));
    }
    let stream = feed::instants(Events::Memory(store), first.end_ns, |evs: &[Event]| {
        counts.add(evs);
        let recv = evs[0].recv_ns;
        for (s, w) in sessions.iter_mut().zip(watches.chunks_mut(markets)) {
            if s.run.sim.begin_shared(recv, &mut books) {
                for (m, w) in w.iter_mut().enumerate() {
                    *w = s.run.sim.exchange().watch(MarketId(m as u16));
                }
            }
        }
        for (k, ev) in evs.iter().enumerate() {
            let applied = Exchange::apply_shared(&mut books, markets, ev);
            let m = ev.market.0 as usize;
            let watched = applied.filter(|_| m < markets);
            for (s, w) in sessions.iter_mut().zip(watches.chunks_mut(markets)) {
                match watched {
                    Some(a) if w[m].may_concern(ev, a) => {
                        if s.run.sim.on_shared(ev, applied, &mut books) {
                            w[m] = s.run.sim.exchange().watch(ev.market);
                        }
                    }
                    _ if k == 0 => s.run.sim.pass(recv),
                    _ => {}
                }
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
