//! `altsim inspect`: what a capture holds.

use crate::book::Books;
use crate::console::thousands;
use crate::fixed;
use crate::tape::{EventKind, EventStream, GapReason, MarketId, TapeError};
use crate::venue::{FrameKind, MarketRules, Side};
use std::fmt;
use std::path::PathBuf;

/// A gap found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapNote {
    pub recv_ns: i64,
    pub market: String,
    pub reason: GapReason,
    pub expected: u64,
    pub got: u64,
}

/// Per-market figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketReport {
    pub rules: MarketRules,
    pub trades: u64,
    pub taker_buys: u64,
    pub taker_sells: u64,
    /// Base traded, at amount precision.
    pub base_volume: i128,
    /// Quote traded, at price + amount precision.
    pub quote_volume: i128,
    pub best_bid: Option<(i64, i64)>,
    pub best_ask: Option<(i64, i64)>,
    pub bid_levels: usize,
    pub ask_levels: usize,
    pub book_valid: bool,
    pub crossed: bool,
    /// Feed updates that crossed the opposite side (the newer level won).
    pub crossings: u64,
}

/// Everything `inspect` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub files: Vec<PathBuf>,
    pub stats: crate::tape::StreamStats,
    pub events: u64,
    pub gaps: Vec<GapNote>,
    pub disconnects: u64,
    pub markets: Vec<MarketReport>,
}

/// Reads captures to the end and sums them up.
pub fn inspect(paths: Vec<PathBuf>, markets: Vec<MarketRules>) -> Result<Report, TapeError> {
    let files = paths.clone();
    let mut stream = EventStream::open(paths, markets)?;
    let mut books = Books::new();
    let mut per: Vec<(u64, u64, i128, i128)> = Vec::new();
    let mut gaps = Vec::new();
    let mut disconnects = 0;
    let mut events = 0u64;
    while let Some(ev) = stream.next_event()? {
        events += 1;
        books.apply(&ev);
        match ev.kind {
            EventKind::Trade {
                taker,
                price,
                amount,
                ..
            } => {
                let i = ev.market.0 as usize;
                if per.len() <= i {
                    per.resize(i + 1, (0, 0, 0, 0));
                }
                let p = &mut per[i];
                match taker {
                    Side::Buy => p.0 += 1,
                    Side::Sell => p.1 += 1,
                }
                p.2 += i128::from(amount);
                p.3 += i128::from(amount) * i128::from(price);
            }
            EventKind::Gap {
                reason,
                expected,
                got,
            } => gaps.push(GapNote {
                recv_ns: ev.recv_ns,
                market: stream.normalizer().rules(ev.market).id.clone(),
                reason,
                expected,
                got,
            }),
            EventKind::Disconnect => disconnects += 1,
            _ => {}
        }
    }
    let norm = stream.normalizer();
    let mut markets = Vec::new();
    for (i, rules) in norm.markets().iter().enumerate() {
        let id = MarketId(i as u16);
        let (buys, sells, base, quote) = per.get(i).copied().unwrap_or_default();
        let Some(book) = books.get(id) else {
            if buys + sells == 0 {
                continue;
            }
            markets.push(MarketReport::empty(rules.clone(), buys, sells, base, quote));
            continue;
        };
        use crate::tape::BookSide::{Ask, Bid};
        markets.push(MarketReport {
            rules: rules.clone(),
            trades: buys + sells,
            taker_buys: buys,
            taker_sells: sells,
            base_volume: base,
            quote_volume: quote,
            best_bid: book.best_bid().map(|l| (l.price, l.amount)),
            best_ask: book.best_ask().map(|l| (l.price, l.amount)),
            bid_levels: book.depth_len(Bid),
            ask_levels: book.depth_len(Ask),
            book_valid: book.is_valid(),
            crossed: book.is_crossed(),
            crossings: book.crossings(),
        });
    }
    Ok(Report {
        files,
        stats: stream.stats().clone(),
        events,
        gaps,
        disconnects,
        markets,
    })
}

impl MarketReport {
    fn empty(rules: MarketRules, buys: u64, sells: u64, base: i128, quote: i128) -> Self {
        MarketReport {
            rules,
            trades: buys + sells,
            taker_buys: buys,
            taker_sells: sells,
            base_volume: base,
            quote_volume: quote,
            best_bid: None,
            best_ask: None,
            bid_levels: 0,
            ask_levels: 0,
            book_valid: false,
            crossed: false,
            crossings: 0,
        }
    }
}

pub use crate::utc::utc;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = &self.stats;
        for p in &self.files {
            writeln!(f, "file       {}", p.display())?;
        }
        if let (Some(a), Some(b)) = (st.first_ns, st.last_ns) {
            let span = (b - a) as f64 / 1e9;
            writeln!(f, "time       {} → {} ({span:.3} s)", utc(a), utc(b))?;
        }
        write!(f, "frames     {}", thousands(st.total_frames()))?;
        let kinds: Vec<String> = FrameKind::ALL
            .iter()
            .filter(|k| st.frames_of(**k) > 0)
            .map(|k| format!("{} {}", k.name(), thousands(st.frames_of(*k))))
            .collect();
        writeln!(f, " ({})", kinds.join(", "))?;
        if st.binary_frames + st.session_records + st.malformed_frames > 0 {
            writeln!(
                f,
                "records    {} session records, {} binary frames, {} malformed frames",
                thousands(st.session_records),
                thousands(st.binary_frames),
                thousands(st.malformed_frames)
            )?;
        }
        writeln!(f, "events     {}", thousands(self.events))?;
        if self.gaps.is_empty() {
            writeln!(f, "gaps       none")?;
        } else {
            writeln!(f, "gaps       {}", self.gaps.len())?;
            for g in self.gaps.iter().take(20) {
                writeln!(
                    f,
                    "  {} {} {}: expected {}, got {}",
                    utc(g.recv_ns),
                    g.market,
                    g.reason.name(),
                    g.expected,
                    g.got
                )?;
            }
            if self.gaps.len() > 20 {
                writeln!(f, "  … and {} more", self.gaps.len() - 20)?;
            }
        }
        if self.disconnects > 0 {
            writeln!(f, "disconnects {}", self.disconnects)?;
        }
        for m in &self.markets {
            let r = &m.rules;
            let (pp, ap) = (r.price_precision, r.amount_precision);
            writeln!(f, "market     {} ({})", r.id, r.name)?;
            writeln!(
                f,
                "  trades   {} (taker buys {}, taker sells {})",
                thousands(m.trades),
                thousands(m.taker_buys),
                thousands(m.taker_sells)
            )?;
            writeln!(
                f,
                "  volume   {} {} / {} {}",
                fixed::format(m.base_volume, ap),
                r.base_unit.to_uppercase(),
                fixed::format(m.quote_volume, pp + ap),
                r.quote_unit.to_uppercase()
            )?;
            let side = |l: Option<(i64, i64)>| match l {
                Some((p, a)) => format!(
                    "{} × {}",
                    fixed::format(p.into(), pp),
                    fixed::format(a.into(), ap)
                ),
                None => "none".into(),
            };
            writeln!(
                f,
                "  book     bid {} / ask {} ({} bid, {} ask levels){}{}",
                side(m.best_bid),
                side(m.best_ask),
                thousands(m.bid_levels as u64),
                thousands(m.ask_levels as u64),
                if m.book_valid { "" } else { ", not valid" },
                if m.crossed { ", crossed" } else { "" }
            )?;
            if m.crossings > 0 {
                writeln!(
                    f,
                    "warning    {}: {} feed updates crossed the opposite side; the newer level \
                     won and the levels it crossed were removed",
                    m.rules.id,
                    thousands(m.crossings)
                )?;
            }
        }
        for w in &st.warnings {
            writeln!(f, "warning    {w}")?;
        }
        Ok(())
    }
}
