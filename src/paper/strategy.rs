//! A scenario's built-in strategy trading in a paper session: the backtest's own run, fed
//! every record as it is journaled, so `altsim backtest` of the scenario the session folder
//! holds (pointing at the journal) writes the same result folder, byte for byte.

use super::error::{at, PaperError};
use crate::backtest::Session;
use crate::scenario::Scenario;
use crate::tape::reader::Record;
use crate::tape::{Event, Tally};
use crate::venue::MarketRules;
use std::path::{Path, PathBuf};

/// The strategy's result folder in a session folder.
pub const RESULTS: &str = "strategy";
/// The replay scenario's result folder, relative to the session folder.
pub const REPLAY: &str = "replay";

/// The strategy of a live session and what it has seen.
pub struct Live {
    session: Session,
    tally: Tally,
    journal: String,
    /// The journal line of the last record (the header is line 1).
    line: u64,
    end_ns: Option<i64>,
    events: Vec<Event>,
}

impl Live {
    /// Opens `dir/strategy` for the results and writes `dir/<scenario name>.toml`, the
    /// scenario run on the journal.
    pub fn start(
        s: &Scenario,
        scenario_text: &str,
        rules: Vec<MarketRules>,
        dir: &Path,
        journal: &Path,
    ) -> Result<Live, PaperError> {
        let replay = replay_scenario(s, scenario_text, journal)?;
        let name = s.path.file_name().unwrap_or("scenario.toml".as_ref());
        let p = dir.join(name);
        std::fs::write(&p, replay).map_err(at(&p))?;
        let session = Session::open(s, rules.clone(), Some(&dir.join(RESULTS)))?;
        Ok(Live {
            session,
            tally: Tally::new(rules),
            journal: dir.join(journal_name(journal)).display().to_string(),
            line: 1,
            end_ns: s.end_ns,
            events: Vec::new(),
        })
    }

    /// Takes a journaled record: its events are one instant of the run (every record's receive
    /// time is later than the one before), as a backtest of the journal reads them.
    pub fn record(&mut self, rec: &Record<'_>) -> Result<(), PaperError> {
        self.line += 1;
        self.events.clear();
        let notes = self.tally.push(rec, &mut self.events)?;
        if !notes.is_empty() {
            let at = format!("{}:{}", self.journal, self.line);
            self.tally.note(&at, notes);
        }
        if self.end_ns.is_some_and(|end| rec.recv_ns > end) {
            return Ok(());
        }
        Ok(self.session.instant(&self.events)?)
    }

    /// When the strategy next acts with no market event (its timer, an answer due).
    pub fn next_due(&self) -> Option<i64> {
        self.session.next_due()
    }

    pub fn status(&self) -> String {
        self.session.status()
    }

    /// Writes the result folder; its summary as the backtest prints it.
    pub fn finish(self) -> Result<(PathBuf, String), PaperError> {
        let o = self.session.finish(self.tally.stats())?;
        Ok((o.dir, o.summary.to_string()))
    }
}

fn journal_name(journal: &Path) -> &std::ffi::OsStr {
    journal.file_name().unwrap_or(journal.as_os_str())
}

/// The scenario's text with the journal as its capture, results in `replay/`, and any path
/// it names made absolute (it now lives in the session folder).
fn replay_scenario(s: &Scenario, text: &str, journal: &Path) -> Result<String, PaperError> {
    let mut t: toml::Table = toml::from_str(text).map_err(at(&s.path))?;
    let base = s.path.parent().unwrap_or(Path::new("."));
    crate::scenario::absolute_paths(&mut t, base).map_err(at(base))?;
    let run = t
        .entry("run")
        .or_insert_with(|| toml::Value::Table(Default::default()));
    if let Some(run) = run.as_table_mut() {
        run.insert(
            "captures".into(),
            toml::Value::Array(vec![toml::Value::String(
                journal_name(journal).to_string_lossy().into(),
            )]),
        );
        run.remove("markets");
        run.insert("out".into(), toml::Value::String(REPLAY.into()));
    }
    Ok(format!(
        "# {} run on this session's journal: altsim backtest <this file> writes replay/,\n\
         # the same results as strategy/.\n{}",
        s.path.display(),
        toml::to_string(&t).map_err(at(&s.path))?
    ))
}
