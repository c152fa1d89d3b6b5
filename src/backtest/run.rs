//! The state of one run between receive instants: the sim, the strategy and the rows they
//! make, and what each instant does to them.

use super::rows::{deliver, Recorder};
use super::BacktestError;
use crate::scenario::Scenario;
use crate::sim::{Sim, SimEvent};
use crate::strategy::{Ctx, Strategy};
use crate::tape::{Event, EventKind, MarketId, TIME_JUMP_NS};
use crate::utc::utc;
use crate::value::{Amount, Price};

/// The events a run was fed: in all, by market, and the sequence gaps by market.
#[derive(Debug, Clone)]
pub(super) struct Counts {
    pub(super) events: u64,
    pub(super) of: Vec<u64>,
    pub(super) gaps: Vec<u64>,
}

impl Counts {
    pub(super) fn new(markets: usize) -> Self {
        Counts {
            events: 0,
            of: vec![0; markets],
            gaps: vec![0; markets],
        }
    }

    pub(super) fn add(&mut self, evs: &[Event]) {
        self.events += evs.len() as u64;
        for ev in evs {
            if let Some(n) = self.of.get_mut(ev.market.0 as usize) {
                *n += 1;
            }
            if let (EventKind::Gap { .. }, Some(g)) =
                (ev.kind, self.gaps.get_mut(ev.market.0 as usize))
            {
                *g += 1;
            }
        }
    }
}

/// What the strategy is told of an instant beside its trades.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Markets whose book changed, in first-change order.
    changed: Vec<MarketId>,
    /// Whether the instant holds a public trade.
    trades: bool,
}

impl Seen {
    pub(super) fn read(&mut self, evs: &[Event]) {
        self.changed.clear();
        self.trades = false;
        for ev in evs {
            match ev.kind {
                EventKind::Trade { .. } => self.trades = true,
                EventKind::Level { .. } | EventKind::SnapshotEnd
                    if !self.changed.contains(&ev.market) =>
                {
                    self.changed.push(ev.market)
                }
                _ => {}
            }
        }
    }
}

/// The state of a run between receive instants.
pub(super) struct Run {
    pub(super) s: Scenario,
    pub(super) market: MarketId,
    pub(super) sim: Sim,
    pub(super) strategy: Box<dyn Strategy + Send>,
    pub(super) rec: Recorder,
    pub(super) answers: Vec<(i64, SimEvent)>,
    pub(super) started: bool,
    pub(super) counts: Counts,
    pub(super) next_timer: i64,
    pub(super) next_equity: i64,
    /// What the current instant holds.
    pub(super) seen: Seen,
    /// Events counted at the last progress update.
    pub(super) shown: u64,
}

impl Run {
    /// Applies every event received at one instant, then lets the strategy act: answers that
    /// arrived, trades in order, one book callback per changed market, the timer, equity rows.
    pub(super) fn instant(&mut self, evs: &[Event]) -> Result<(), BacktestError> {
        self.counts.add(evs);
        self.sim.on_instant(evs);
        self.react(evs)
    }

    /// The strategy's part of an instant whose events the sim has taken.
    pub(super) fn react(&mut self, evs: &[Event]) -> Result<(), BacktestError> {
        let mut seen = std::mem::take(&mut self.seen);
        seen.read(evs);
        let done = self.react_to(evs, &seen);
        self.seen = seen;
        done
    }

    /// As [`react`](Self::react), with what the instant holds already `seen`.
    pub(super) fn react_to(&mut self, evs: &[Event], seen: &Seen) -> Result<(), BacktestError> {
        let now = evs[0].recv_ns;
        if self.s.start_ns.is_some_and(|st| now < st) {
            return Ok(());
        }
        let ex = self.sim.exchange();
        // The mid at price precision + 1, as equity rows value it.
        let mid = match ex.books().get(self.market).map(|b| b.best_prices()) {
            Some((Some(bid), Some(ask))) => Some((i128::from(bid) + i128::from(ask)) * 5),
            _ => None,
        };
        let (bid, ask) = (
            ex.best_own(self.market, crate::venue::Side::Buy),
            ex.best_own(self.market, crate::venue::Side::Sell),
        );
        self.rec.out.instant(now, mid, bid, ask);
        if !self.started && !self.start(now)? {
            return Ok(());
        }
        let (sim, strategy) = (&mut self.sim, self.strategy.as_mut());
        sim.poll(&mut self.answers);
        deliver(&mut self.answers, &mut self.rec, strategy, sim);
        if seen.trades {
            for ev in evs {
                if let EventKind::Trade {
                    taker,
                    price,
                    amount,
                    ..
                } = ev.kind
                {
                    let r = &sim.exchange().rules()[ev.market.0 as usize];
                    let price = Price::new(price, r.price_precision);
                    let amount = Amount::new(amount, r.amount_precision);
                    strategy.on_trade(&mut Ctx::new(sim), ev.market, taker, price, amount)
                }
            }
        }
        for &m in &seen.changed {
            strategy.on_book(&mut Ctx::new(sim), m);
        }
        if let Some(step) = strategy.timer_ns() {
            if now >= self.next_timer {
                strategy.on_timer(&mut Ctx::new(sim));
                self.next_timer = (self.next_timer + step).max(now - now.rem_euclid(step) + step);
            }
        }
        // Across a jump in receive time nothing is known of the market: the rows resume at the
        // last interval before `now` rather than repeating one value for the whole jump.
        let iv = self.s.equity_interval_ns;
        if now - self.next_equity > TIME_JUMP_NS {
            self.next_equity += (now - self.next_equity) / iv * iv;
        }
        while now >= self.next_equity {
            self.rec.equity(self.next_equity, sim)?;
            self.next_equity += self.s.equity_interval_ns;
        }
        Ok(())
    }

    /// Starts the run once the strategy's market has a valid book to value the account at.
    pub(super) fn start(&mut self, now: i64) -> Result<bool, BacktestError> {
        if !self
            .sim
            .exchange()
            .books()
            .get(self.market)
            .is_some_and(|b| b.is_valid())
        {
            return Ok(false);
        }
        self.rec.equity(now, &self.sim)?;
        if self.rec.first_equity.is_none() {
            return Ok(false);
        }
        self.started = true;
        self.strategy.on_start(&mut Ctx::new(&mut self.sim));
        self.next_timer = now;
        self.next_equity = now + self.s.equity_interval_ns;
        Ok(true)
    }

    pub(super) fn progress(&mut self, pb: &indicatif::ProgressBar) {
        if self.counts.events < self.shown + 4096 {
            return;
        }
        self.shown = self.counts.events;
        let now = self.sim.now();
        if let Some(st) = self.s.start_ns {
            pb.set_position(((now - st).max(0) / 1_000_000) as u64);
        }
        pb.set_message(format!(
            "{} events, sim time {}",
            crate::console::thousands(self.counts.events),
            utc(now)
        ));
    }
}
