//! `altsim backtest`: one scenario replayed through the paper exchange with its strategy,
//! into a result folder.

use crate::fixed;
use crate::report::analytics::Analytics;
use crate::report::{ResultWriter, RunInfo, Summary};
use crate::scenario::Scenario;
use crate::sim::{Sim, BALANCE_SCALE};
use crate::tape::cache::EventStore;
use crate::tape::{Event, EventStream, MarketId, StreamStats};
use crate::tape::{MAX_MALFORMED_NOTES, TIME_JUMP_NS};
use crate::utc::utc;
use crate::venue::MarketRules;
use std::io::IsTerminal;

mod error;
mod feed;
mod lockstep;
mod rows;
mod run;

pub use error::{BacktestError, ScenarioError};
use feed::Events;
pub use lockstep::{run_together, summarize_together};

use rows::{deliver, Recorder};
use run::{Counts, Run, Seen};

/// How the run reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A progress bar on a terminal, nothing otherwise.
    Auto,
    Quiet,
}

/// What a run produced.
pub struct Outcome {
    pub summary: Summary,
    /// The result folder.
    pub dir: std::path::PathBuf,
    pub info: RunInfo,
    /// Data problems that may have affected the results, one line each.
    pub warnings: Vec<String>,
}

fn bar(s: &Scenario, progress: Progress) -> Option<indicatif::ProgressBar> {
    if progress == Progress::Quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let style = |t: &str| indicatif::ProgressStyle::with_template(t).expect("valid template");
    Some(match (s.start_ns, s.end_ns) {
        (Some(a), Some(b)) => {
            let pb = indicatif::ProgressBar::new(((b - a) / 1_000_000) as u64);
            pb.set_style(style("{bar:40} {percent}% sim time, {msg} (ETA {eta})"));
            pb
        }
        _ => {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_style(style("{spinner} {msg} ({elapsed})"));
            pb
        }
    })
}

/// Runs a scenario and writes its result folder (`out` overrides the scenario's), reading
/// the captures themselves.
pub fn run(
    s: &Scenario,
    out: Option<&std::path::Path>,
    progress: Progress,
) -> Result<Outcome, BacktestError> {
    run_from(s, out, progress, false).map(|(o, _)| o)
}

/// How a run used the event cache.
#[derive(Debug)]
pub enum CacheUse {
    /// Not asked for.
    Off,
    /// A valid cache was read.
    Read,
    /// The cache was missing or stale: it was built, then read.
    Built,
    /// It could not be built (a read-only folder, say): the captures were read instead.
    Failed(crate::tape::cache::CacheError),
}

/// Failures are alike when they read alike.
impl PartialEq for CacheUse {
    fn eq(&self, other: &Self) -> bool {
        use CacheUse::*;
        match (self, other) {
            (Off, Off) | (Read, Read) | (Built, Built) => true,
            (Failed(a), Failed(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

/// As [`run`], with `cache`: the events from the captures' event cache, built first when it
/// is missing or stale. The results are the same bytes.
pub fn run_from(
    s: &Scenario,
    out: Option<&std::path::Path>,
    progress: Progress,
    cache: bool,
) -> Result<(Outcome, CacheUse), BacktestError> {
    run_to(s, Some(out), progress, cache)
}

/// The summary of a scenario's run, from the event cache, with no result folder: what
/// [`run_from`] would give, without writing tables or drawing charts.
pub fn summarize(s: &Scenario) -> Result<Outcome, BacktestError> {
    run_to(s, None, Progress::Quiet, true).map(|(o, _)| o)
}

/// As [`run_from`] (`files`) or [`summarize`] (not `files`), with the events from `store`,
/// which must hold the scenario's captures read with its market rules.
pub fn run_in(s: &Scenario, store: &EventStore, files: bool) -> Result<Outcome, BacktestError> {
    check_store(s, store)?;
    let out = files.then_some(None);
    let markets = store.markets().to_vec();
    run_events(s, out, Progress::Quiet, Events::Memory(store), markets)
}

/// An error unless `store` holds the scenario's captures read with its market rules.
fn check_store(s: &Scenario, store: &EventStore) -> Result<(), BacktestError> {
    let rules = crate::venue::market::default_markets(s.markets.as_deref(), &s.captures)?;
    if store.holds(&s.captures, &rules) {
        Ok(())
    } else {
        Err(BacktestError::Scenario {
            scenario: s.path.clone(),
            reason: ScenarioError::OtherEvents,
        })
    }
}

/// `out`: `None` for the summary only, else the folder (`Some(None)`: the scenario's).
fn run_to(
    s: &Scenario,
    out: Option<Option<&std::path::Path>>,
    progress: Progress,
    cache: bool,
) -> Result<(Outcome, CacheUse), BacktestError> {
    let rules = crate::venue::market::default_markets(s.markets.as_deref(), &s.captures)?;
    let mut used = CacheUse::Off;
    if cache {
        match crate::tape::cache::open_or_build(&s.captures, rules.clone()) {
            Ok((c, built)) => {
                used = if built {
                    CacheUse::Built
                } else {
                    CacheUse::Read
                };
                let markets = c.markets().to_vec();
                return run_events(s, out, progress, Events::Cache(c), markets).map(|o| (o, used));
            }
            Err(e) => used = CacheUse::Failed(e),
        }
    }
    let st = EventStream::open(s.captures.clone(), rules)?;
    let markets = st.normalizer().markets().to_vec();
    run_events(s, out, progress, Events::Captures(st), markets).map(|o| (o, used))
}

fn run_events(
    s: &Scenario,
    out: Option<Option<&std::path::Path>>,
    progress: Progress,
    stream: Events,
    markets: Vec<MarketRules>,
) -> Result<Outcome, BacktestError> {
    let mut session = match out {
        Some(out) => Session::open(s, markets, out)?,
        None => Session::open_to(s, markets, None)?,
    };
    let pb = bar(s, progress);
    // Events received at one instant are applied together: the strategy sees the book only
    // once every part of an upstream update has landed.
    let stream = feed::instants(stream, s.end_ns, |evs| {
        session.instant(evs)?;
        if let Some(pb) = &pb {
            session.run.progress(pb);
        }
        Ok(())
    })?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    session.finish(stream.stats())
}

/// A backtest fed one receive instant at a time: by [`run`] from captures, and by a live
/// paper session from its journal as it is written. The same instants give the same results.
pub struct Session {
    run: Run,
    markets: Vec<MarketRules>,
    dir: std::path::PathBuf,
    equity_scale: u32,
}

impl Session {
    /// Opens the result folder (`out` overrides the scenario's) for a run over `markets`.
    pub fn open(
        s: &Scenario,
        markets: Vec<MarketRules>,
        out: Option<&std::path::Path>,
    ) -> Result<Session, BacktestError> {
        let dir = out.map_or_else(|| s.out.clone(), |p| p.to_path_buf());
        Session::open_to(s, markets, Some(dir))
    }

    /// As [`open`](Self::open) into `dir`, or for the summary only when `dir` is `None`.
    fn open_to(
        s: &Scenario,
        markets: Vec<MarketRules>,
        dir: Option<std::path::PathBuf>,
    ) -> Result<Session, BacktestError> {
        let market_name = s.strategy.market().unwrap_or_default().to_string();
        let market = markets
            .iter()
            .position(|m| m.id == market_name)
            .map(|i| MarketId(i as u16))
            .ok_or_else(|| BacktestError::Scenario {
                scenario: s.path.clone(),
                reason: ScenarioError::NoRules(market_name.clone()),
            })?;
        let sim = Sim::build(markets.clone(), &s.exchange, &s.balances).map_err(|e| {
            BacktestError::Scenario {
                scenario: s.path.clone(),
                reason: e.into(),
            }
        })?;
        let base_dir = s.path.parent().unwrap_or(std::path::Path::new("."));
        let strategy = s.strategy.build(base_dir)?;
        let r = &markets[market.0 as usize];
        let equity_scale = BALANCE_SCALE + r.price_precision + 1;
        let analytics = Analytics::new(
            crate::report::analytics::Market {
                name: r.id.clone(),
                base_unit: r.base_unit.clone(),
                quote_unit: r.quote_unit.clone(),
                price_precision: r.price_precision,
                amount_precision: r.amount_precision,
            },
            s.markouts_ns.clone(),
        );
        let writer = match &dir {
            Some(dir) => {
                let scales = crate::report::tables::Scales {
                    price: r.price_precision,
                    amount: r.amount_precision,
                    equity: equity_scale,
                };
                ResultWriter::create(dir, scales, analytics)?
            }
            None => ResultWriter::summary_only(equity_scale, analytics),
        };
        let dir = dir.unwrap_or_default();
        let rec = Recorder {
            rules: markets.clone(),
            names: markets.iter().map(|m| m.id.as_str().into()).collect(),
            currencies: Vec::new(),
            market,
            out: writer,
            orders_placed: 0,
            volume_placed: [0, 0],
            first_equity: None,
            fills: 0,
            last_pnl: crate::value::Funds::zero(0),
        };
        let run = Run {
            s: s.clone(),
            market,
            sim,
            strategy,
            rec,
            answers: Vec::new(),
            started: false,
            counts: Counts::new(markets.len()),
            next_timer: 0,
            next_equity: 0,
            seen: Seen::default(),
            shown: 0,
        };
        Ok(Session {
            run,
            markets,
            dir,
            equity_scale,
        })
    }

    /// Applies every event received at one instant (all with one receive time, later than
    /// the last instant's) and lets the strategy act.
    pub fn instant(&mut self, evs: &[Event]) -> Result<(), BacktestError> {
        if evs.is_empty() {
            return Ok(());
        }
        self.run.instant(evs)?;
        match self.run.rec.out.failure() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// The local time at which the strategy next has something to do without a market event:
    /// its timer, or an answer of the exchange falling due.
    pub fn next_due(&self) -> Option<i64> {
        if !self.run.started {
            return None;
        }
        let timer = self.run.strategy.timer_ns().map(|_| self.run.next_timer);
        match (timer, self.run.sim.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// One line for a terminal: PnL at the last equity row and where it came from (spread,
    /// fees, inventory), inventory, open orders, fills.
    pub fn status(&self) -> String {
        let r = &self.markets[self.run.market.0 as usize];
        if !self.run.started {
            return format!("{}: waiting for a whole book", r.id);
        }
        let ex = self.run.sim.exchange();
        let base = ex.accounts().balance(&r.base_unit).total();
        let open = ex
            .orders()
            .filter(|o| o.state == crate::sim::OrderState::Wait)
            .count();
        let sources = match self.run.rec.out.analytics().so_far() {
            Some((spread, fees, inventory)) => format!(
                " (spread {} − fees {} + inventory {})",
                cents(&spread),
                cents(&fees),
                cents(&inventory)
            ),
            None => String::new(),
        };
        format!(
            "{} | PnL {} {}{sources} | {} {} | open orders {} | fills {}",
            crate::utc::utc(self.run.sim.now()),
            trim(&self.run.rec.last_pnl.text()),
            r.quote_unit,
            trim(&base.text()),
            r.base_unit,
            open,
            self.run.rec.fills
        )
    }

    /// Ends the run: what is in flight is delivered, the last equity row written, the tables
    /// closed and the summary and charts made. `stats` are those of the events' stream.
    pub fn finish(self, stats: &StreamStats) -> Result<Outcome, BacktestError> {
        if !self.run.started {
            return Err(nothing_ran(&self.run, stats, &self.markets));
        }
        let Session {
            run,
            markets,
            dir,
            equity_scale,
        } = self;
        let Run {
            s,
            market,
            mut sim,
            mut strategy,
            mut rec,
            mut answers,
            counts,
            ..
        } = run;
        sim.finish(&mut answers);
        deliver(&mut answers, &mut rec, strategy.as_mut(), &mut sim);
        rec.equity(sim.now(), &sim)?;
        let warnings = data_warnings(stats, &sim, &markets, &counts.gaps);
        let r = &markets[market.0 as usize];
        let info = RunInfo {
            scenario: s
                .path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or("scenario")
                .to_string(),
            strategy: strategy_name(&s.strategy).into(),
            market: r.id.clone(),
            base_unit: r.base_unit.clone(),
            quote_unit: r.quote_unit.clone(),
            price_precision: r.price_precision,
            amount_precision: r.amount_precision,
            equity_scale,
            equity_interval_ns: s.equity_interval_ns,
            events: counts.events,
            orders_placed: rec.orders_placed,
            volume_placed: fixed::format(
                rec.volume_placed[0] + rec.volume_placed[1],
                r.amount_precision,
            ),
            volume_placed_buy: fixed::format(rec.volume_placed[0], r.amount_precision),
            volume_placed_sell: fixed::format(rec.volume_placed[1], r.amount_precision),
            data_warnings: warnings.clone(),
            analytics: None,
        };
        let summary = rec.out.finish(&info)?;
        Ok(Outcome {
            summary,
            dir,
            info,
            warnings,
        })
    }
}

/// A decimal rounded to two places, for a status line.
fn cents(d: &crate::value::Funds) -> String {
    format!("{:.2}", d.text_decimal().round_dp(2))
}

/// A decimal without trailing zeros, for a status line.
fn trim(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Problems in the data that may have affected a run, one line each.
fn data_warnings(
    st: &StreamStats,
    sim: &Sim,
    markets: &[MarketRules],
    gaps: &[u64],
) -> Vec<String> {
    let mut w = st.warnings.clone();
    if st.malformed_frames > MAX_MALFORMED_NOTES {
        w.push(format!(
            "{} malformed frames in all, skipped (the first {MAX_MALFORMED_NOTES} are listed)",
            crate::console::thousands(st.malformed_frames)
        ));
    }
    if st.time_jumps > MAX_MALFORMED_NOTES {
        w.push(format!(
            "receive time jumped ahead by more than {} s {} times in all (the first \
             {MAX_MALFORMED_NOTES} are listed)",
            TIME_JUMP_NS / 1_000_000_000,
            crate::console::thousands(st.time_jumps)
        ));
    }
    for (i, r) in markets.iter().enumerate() {
        if gaps[i] > 0 {
            w.push(format!(
                "{}: {} sequence gaps; the book was invalid until the next snapshot",
                r.id,
                crate::console::thousands(gaps[i])
            ));
        }
        let crossed = sim
            .exchange()
            .books()
            .get(MarketId(i as u16))
            .map_or(0, |b| b.crossings());
        if crossed > 0 {
            w.push(format!(
                "{}: {} feed updates crossed the opposite side; the newer level won and the \
                 levels it crossed were removed",
                r.id,
                crate::console::thousands(crossed)
            ));
        }
    }
    w
}

/// Why a run never started trading.
fn nothing_ran(run: &Run, st: &StreamStats, markets: &[MarketRules]) -> BacktestError {
    let s = &run.s;
    let at = |t: Option<i64>| t.map_or("-".to_string(), utc);
    let market = markets[run.market.0 as usize].id.clone();
    let reason = if run.counts.events == 0 {
        ScenarioError::NoEvents
    } else if run.counts.of[run.market.0 as usize] == 0 {
        let held: Vec<&str> = markets
            .iter()
            .zip(&run.counts.of)
            .filter(|(_, n)| **n > 0)
            .map(|(r, _)| r.id.as_str())
            .collect();
        ScenarioError::NoEventsOf {
            market,
            held: held.join(", "),
        }
    } else if s
        .start_ns
        .is_some_and(|t| st.last_ns.is_some_and(|l| t > l))
    {
        ScenarioError::StartsAfterEnd {
            start: at(s.start_ns),
            end: at(st.last_ns),
        }
    } else if s.end_ns.is_some_and(|t| st.first_ns.is_some_and(|f| t < f)) {
        ScenarioError::EndsBeforeBegin {
            end: at(s.end_ns),
            begin: at(st.first_ns),
        }
    } else {
        ScenarioError::NeverWhole {
            market,
            from: at(s.start_ns.or(st.first_ns)),
            to: at(s.end_ns.or(st.last_ns)),
        }
    };
    BacktestError::Scenario {
        scenario: s.path.clone(),
        reason,
    }
}

fn strategy_name(c: &crate::strategy::StrategyConfig) -> &'static str {
    match c {
        crate::strategy::StrategyConfig::PureMarketMaking(_) => "pure_market_making",
        crate::strategy::StrategyConfig::Twap(_) => "twap",
        crate::strategy::StrategyConfig::Scripted(_) => "scripted",
    }
}
