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
use super::{Counts, Outcome, Seen, Session};
use crate::book::Books;
use crate::scenario::Scenario;
use crate::sim::exchange::{Applied, Probe, Watch};
use crate::sim::Exchange;
use crate::tape::cache::EventStore;
use crate::tape::{BookSide, Event, MarketId};
use rayon::prelude::*;

/// The summaries of `scenarios`' runs over the events of `store`, in order, with no result
/// folders. Runs that stop at different times cannot share a pass: each then runs alone.
pub fn summarize_together(
    scenarios: &[&Scenario],
    store: &EventStore,
) -> Result<Vec<Outcome>, BacktestError> {
    run_together(scenarios, store, false)
}

/// As [`summarize_together`], each run also writing its result folder (its scenario's `out`)
/// when `files`: the same bytes as [`run_in`](super::run_in) writes. The folders are
/// finished side by side on the current rayon pool.
pub fn run_together(
    scenarios: &[&Scenario],
    store: &EventStore,
    files: bool,
) -> Result<Vec<Outcome>, BacktestError> {
    let Some(first) = scenarios.first() else {
        return Ok(Vec::new());
    };
    if scenarios.iter().any(|s| s.end_ns != first.end_ns) {
        return scenarios
            .iter()
            .map(|&s| super::run_in(s, store, files))
            .collect();
    }
    let mut sessions = Vec::with_capacity(scenarios.len());
    for &s in scenarios {
        super::check_store(s, store)?;
        let dir = files.then(|| s.out.clone());
        sessions.push(Session::open_to(s, store.markets().to_vec(), dir)?);
    }
    let markets = store.markets().len();
    let mut books = Books::new();
    let mut counts = Counts::new(markets);
    let mut seen = Seen::default();
    // Where each run's orders are, by market then run: most events concern none of them.
    let runs = sessions.len();
    let mut watches = Vec::with_capacity(runs * markets);
    for m in 0..markets {
        watches.extend(
            sessions
                .iter()
                .map(|s| s.run.sim.exchange().watch(MarketId(m as u16))),
        );
    }
    let stream = feed::instants(Events::Memory(store), first.end_ns, |evs: &[Event]| {
        counts.add(evs);
        let recv = evs[0].recv_ns;
        for (i, s) in sessions.iter_mut().enumerate() {
            if s.run.sim.begin_shared(recv, &mut books) {
                for m in 0..markets {
                    watches[m * runs + i] = s.run.sim.exchange().watch(MarketId(m as u16));
                }
            }
        }
        for (k, ev) in evs.iter().enumerate() {
            let applied = Exchange::apply_shared(&mut books, markets, ev);
            let m = ev.market.0 as usize;
            let probe = match applied {
                Some(a) if m < markets => Probe::of(ev, a),
                _ => Probe::Pass,
            };
            let mut step = Step {
                sessions: &mut sessions,
                watches: watches
                    .get_mut(m * runs..(m + 1) * runs)
                    .unwrap_or_default(),
                books: &mut books,
                ev,
                applied,
            };
            match probe {
                Probe::Pass => {}
                Probe::All => step.visit(|_| true),
                Probe::Level {
                    side: BookSide::Bid,
                    price,
                    adds,
                    crossed,
                } => step.visit(|w| w.bid(price, adds, crossed)),
                Probe::Level {
                    side: BookSide::Ask,
                    price,
                    adds,
                    crossed,
                } => step.visit(|w| w.ask(price, adds, crossed)),
                Probe::Trade { price } => step.visit(|w| w.trade(price)),
            }
            if k == 0 {
                // Every run's clock is at the instant now, whether its exchange acted or not.
                for s in &mut sessions {
                    s.run.sim.pass(recv);
                }
            }
        }
        seen.read(evs);
        for s in &mut sessions {
            s.run.sim.swap_books(&mut books);
            let done = s.run.react_to(evs, &seen);
            s.run.sim.swap_books(&mut books);
            done?;
            if let Some(e) = s.run.rec.out.failure() {
                return Err(e.into());
            }
        }
        Ok(())
    })?;
    let stats = stream.stats();
    sessions
        .into_par_iter()
        .map(|mut s| {
            s.run.counts = counts.clone();
            let mut own = books.clone();
            s.run.sim.swap_books(&mut own);
            s.finish(stats)
        })
        .collect()
}

/// One event of an instant, put to every run of a pass.
struct Step<'a, 'b> {
    sessions: &'a mut [Session],
    /// The runs' watches of the event's market (none when the runs ignore the market).
    watches: &'a mut [Watch],
    books: &'a mut Books,
    ev: &'b Event,
    applied: Option<Applied>,
}

impl Step<'_, '_> {
    /// Hands the event to the runs whose watch `hit`s.
    #[inline(always)]
    fn visit(&mut self, hit: impl Fn(&Watch) -> bool) {
        for (i, w) in self.watches.iter_mut().enumerate() {
            if hit(w) {
                let sim = &mut self.sessions[i].run.sim;
                if sim.on_shared(self.ev, self.applied, self.books) {
                    *w = sim.exchange().watch(self.ev.market);
                }
            }
        }
    }
}
