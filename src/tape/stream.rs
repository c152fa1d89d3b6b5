//! Several capture files read as one stream of events.

use super::normalize::{Event, NormError, Normalizer, OffRules};
use super::reader::{Body, CaptureReader, Reason, Record, TapeError};

/// How many malformed frames (and time jumps) are described in the warnings; the rest are
/// only counted.
pub const MAX_MALFORMED_NOTES: u64 = 10;
/// A receive time this much later than the one before is reported: the feed (or the
/// recorder) was away, and nothing is known of the market in between.
pub const TIME_JUMP_NS: i64 = 300 * 1_000_000_000;
use crate::venue::{FrameKind, MarketRules};
use std::path::PathBuf;

/// Counts kept while streaming.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamStats {
    /// Frames by kind, in [`FrameKind::ALL`] order.
    pub frames: [u64; 9],
    pub binary_frames: u64,
    /// Received frames that are not ranger frames (see `warnings` for the first few).
    pub malformed_frames: u64,
    pub session_records: u64,
    pub records: u64,
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// Receive times more than [`TIME_JUMP_NS`] after the one before.
    pub time_jumps: u64,
    /// Early ends (a cut file), the first malformed frames and time jumps, one message each.
    pub warnings: Vec<String>,
}

impl StreamStats {
    pub fn frames_of(&self, kind: FrameKind) -> u64 {
        self.frames[FrameKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)]
    }
    pub fn total_frames(&self) -> u64 {
        self.frames.iter().sum::<u64>() + self.binary_frames + self.malformed_frames
    }
}

/// Normalizes records one at a time and keeps the stream's counts and warnings: what
/// [`EventStream`] does to each record it reads, for records that come from elsewhere (a live
/// session's journal as it is written).
pub struct Tally {
    norm: Normalizer,
    stats: StreamStats,
}

impl Tally {
    pub fn new(markets: Vec<MarketRules>) -> Self {
        Tally {
            norm: Normalizer::new(markets),
            stats: StreamStats::default(),
        }
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.norm
    }

    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Counts `rec` and appends its events to `out`; returns what is worth a warning, for
    /// [`note`](Self::note) to place. An error is a frame of a market without rules.
    pub fn push(
        &mut self,
        rec: &Record<'_>,
        out: &mut Vec<Event>,
    ) -> Result<Vec<String>, OffRules> {
        let mut notes = Vec::new();
        let st = &mut self.stats;
        let mut jump = None;
        st.records += 1;
        st.first_ns.get_or_insert(rec.recv_ns);
        if let Some(last) = st.last_ns {
            let ahead = rec.recv_ns.saturating_sub(last);
            if ahead > TIME_JUMP_NS {
                st.time_jumps += 1;
                jump = (st.time_jumps <= MAX_MALFORMED_NOTES).then(|| {
                    format!(
                        "receive time jumps {} s ahead, from {}",
                        ahead / 1_000_000_000,
                        crate::utc::utc(last)
                    )
                });
            }
        }
        st.last_ns = Some(st.last_ns.map_or(rec.recv_ns, |l| l.max(rec.recv_ns)));
        match self.norm.push(rec, out) {
            Ok(Some(kind)) => {
                let i = FrameKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
                st.frames[i] += 1;
            }
            Ok(None) => match rec.body {
                Body::Binary(_) => st.binary_frames += 1,
                _ => st.session_records += 1,
            },
            Err(NormError::Malformed(reason)) => {
                st.malformed_frames += 1;
                if st.malformed_frames <= MAX_MALFORMED_NOTES {
                    notes.push(reason);
                }
            }
            Err(NormError::Rules(reason)) => return Err(reason),
        }
        notes.extend(jump);
        Ok(notes)
    }

    /// Adds the notes of a record read at `at` (`path:line`) to the warnings.
    pub fn note(&mut self, at: &str, notes: Vec<String>) {
        for n in notes {
            self.stats.warnings.push(format!("{at}: {n}"));
        }
    }
}

/// Reads files in the order given and yields their events in one stream.
pub struct EventStream {
    paths: Vec<PathBuf>,
    next_file: usize,
    reader: Option<CaptureReader<'static>>,
    tally: Tally,
    buf: Vec<Event>,
    pos: usize,
}

impl EventStream {
    /// `markets` supplies rules for files without a header; a header's rules take precedence.
    /// Files are read in the order of their first receive time (files given out of order
    /// would otherwise run backwards in time); files with no record go last.
    pub fn open(paths: Vec<PathBuf>, markets: Vec<MarketRules>) -> Result<Self, TapeError> {
        let mut keyed = Vec::with_capacity(paths.len());
        for p in paths {
            let first = match CaptureReader::open(&p)?.next_record() {
                Ok(Some(r)) => Some(r.recv_ns),
                _ => None,
            };
            keyed.push((first, p));
        }
        keyed.sort_by_key(|(t, _)| (t.is_none(), *t));
        let paths = keyed.into_iter().map(|(_, p)| p).collect();
        let mut s = EventStream {
            paths,
            next_file: 0,
            reader: None,
            tally: Tally::new(markets),
            buf: Vec::with_capacity(1024),
            pos: 0,
        };
        s.open_next()?;
        Ok(s)
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.tally.norm
    }

    pub fn stats(&self) -> &StreamStats {
        &self.tally.stats
    }

    fn open_next(&mut self) -> Result<bool, TapeError> {
        if let Some(w) = self.reader.as_ref().and_then(|r| r.warning()) {
            self.tally.stats.warnings.push(w);
        }
        self.reader = None;
        let Some(path) = self.paths.get(self.next_file) else {
            return Ok(false);
        };
        self.next_file += 1;
        let reader = CaptureReader::open(path)?;
        if let Some(h) = reader.header() {
            for m in &h.markets {
                let rules = MarketRules::from_json(m.clone()).map_err(|e| TapeError {
                    path: path.clone(),
                    line: 1,
                    reason: Reason::HeaderRules(e),
                })?;
                self.tally.norm.add_market(rules);
            }
        }
        self.reader = Some(reader);
        Ok(true)
    }

    /// Reads records until at least one event is buffered; false at the end of all files.
    fn refill(&mut self) -> Result<bool, TapeError> {
        self.buf.clear();
        self.pos = 0;
        loop {
            let Some(reader) = self.reader.as_mut() else {
                return Ok(false);
            };
            let rec = match reader.next_record()? {
                Some(rec) => rec,
                None => {
                    if !self.open_next()? {
                        return Ok(false);
                    }
                    continue;
                }
            };
            let pushed = self.tally.push(&rec, &mut self.buf);
            let at = || format!("{}:{}", reader.path().display(), reader.line());
            match pushed {
                Ok(notes) if notes.is_empty() => {}
                Ok(notes) => self.tally.note(&at(), notes),
                Err(reason) => {
                    return Err(TapeError {
                        path: reader.path().to_path_buf(),
                        line: reader.line(),
                        reason: Reason::OffRules(reason),
                    })
                }
            }
            if !self.buf.is_empty() {
                return Ok(true);
            }
        }
    }

    /// The next event, `None` when every file is read.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<Event>, TapeError> {
        if self.pos == self.buf.len() && !self.refill()? {
            return Ok(None);
        }
        let ev = self.buf[self.pos];
        self.pos += 1;
        Ok(Some(ev))
    }
}

impl Iterator for EventStream {
    type Item = Result<Event, TapeError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}
