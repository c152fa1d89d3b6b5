//! Where a run's events come from, and how they are cut into receive instants.
//!
//! Captures and caches are read and decoded on a thread of their own, a batch ahead of the
//! run, so that decoding overlaps the simulation. The run sees the same events in the same
//! order whichever thread read them; only the time it waits changes.

use super::error::BacktestError;
use crate::tape::cache::{CacheReader, EventStore};
use crate::tape::{Event, EventStream, StreamStats};
use std::sync::mpsc;

/// Where a run's events come from.
// One per run: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Events<'a> {
    Captures(EventStream),
    Cache(CacheReader),
    Memory(&'a EventStore),
}

/// Events read from a source at a time.
const BATCH: usize = 4096;

/// Batches read ahead of the run: enough to hide a slow read, few enough to stay in cache.
const AHEAD: usize = 2;

impl Events<'_> {
    pub(super) fn stats(&self) -> &StreamStats {
        match self {
            Events::Captures(s) => s.stats(),
            Events::Cache(c) => c.stats(),
            Events::Memory(m) => m.stats(),
        }
    }
}

/// A source read in batches (the captures or a cache; an in-memory store needs no reading).
#[allow(clippy::large_enum_variant)]
enum Reader {
    Captures(EventStream),
    Cache(CacheReader),
}

impl Reader {
    /// Appends up to [`BATCH`] more events to `out`; false once the source is spent. The
    /// captures are read no further than the first event after `end`, so that their
    /// stream's counts and warnings stop where the run does.
    fn fill(&mut self, out: &mut Vec<Event>, end: Option<i64>) -> Result<bool, BacktestError> {
        match self {
            Reader::Captures(s) => {
                for _ in 0..BATCH {
                    match s.next_event()? {
                        Some(ev) => {
                            out.push(ev);
                            if end.is_some_and(|end| ev.recv_ns > end) {
                                return Ok(false);
                            }
                        }
                        None => return Ok(false),
                    }
                }
                Ok(true)
            }
            Reader::Cache(c) => Ok(c.read_into(out, BATCH)? == BATCH),
        }
    }
}

/// Cuts a stream of event batches into receive instants. An instant that a batch ends in
/// is held until the next batch completes it (or none comes).
#[derive(Default)]
struct Instants {
    /// The start of an instant the last batch ended in.
    carry: Vec<Event>,
}

impl Instants {
    /// Gives `each` every instant completed by `batch` (all of them when it is the `last`).
    fn feed(
        &mut self,
        batch: &[Event],
        last: bool,
        each: &mut impl FnMut(&[Event]) -> Result<(), BacktestError>,
    ) -> Result<(), BacktestError> {
        let mut from = 0;
        if let Some(t) = self.carry.first().map(|e| e.recv_ns) {
            from = batch
                .iter()
                .position(|e| e.recv_ns != t)
                .unwrap_or(batch.len());
            self.carry.extend_from_slice(&batch[..from]);
            if from == batch.len() && !last {
                return Ok(());
            }
            each(&self.carry)?;
            self.carry.clear();
        }
        while from < batch.len() {
            let t = batch[from].recv_ns;
            let to = batch[from..]
                .iter()
                .position(|e| e.recv_ns != t)
                .map_or(batch.len(), |k| from + k);
            if to == batch.len() && !last {
                self.carry.extend_from_slice(&batch[from..]);
                return Ok(());
            }
            each(&batch[from..to])?;
            from = to;
        }
        Ok(())
    }
}

/// The events of `batch` received by `end`, and whether the run ends with them.
fn upto(batch: &[Event], end: Option<i64>, more: bool) -> (&[Event], bool) {
    match end.and_then(|end| batch.iter().position(|e| e.recv_ns > end)) {
        Some(cut) => (&batch[..cut], true),
        None => (batch, !more),
    }
}

/// Gives `each` every receive instant of `events` received by `end`, in order, and returns
/// the source (for its stream's counts). The first error, from the source or from `each`,
/// ends the run.
pub(super) fn instants<'a>(
    events: Events<'a>,
    end: Option<i64>,
    mut each: impl FnMut(&[Event]) -> Result<(), BacktestError>,
) -> Result<Events<'a>, BacktestError> {
    let reader = match events {
        Events::Memory(m) => {
            let mut split = Instants::default();
            let parts = m.parts();
            for (i, part) in parts.iter().enumerate() {
                let (evs, last) = upto(part, end, i + 1 < parts.len());
                split.feed(evs, last, &mut each)?;
                if last {
                    break;
                }
            }
            return Ok(events);
        }
        Events::Captures(s) => Reader::Captures(s),
        Events::Cache(c) => Reader::Cache(c),
    };
    let (full_tx, full) = mpsc::sync_channel::<Result<(Vec<Event>, bool), BacktestError>>(AHEAD);
    let (empty_tx, empty) = mpsc::channel::<Vec<Event>>();
    std::thread::scope(|scope| {
        let read = std::thread::Builder::new()
            .name("altsim-events".into())
            .spawn_scoped(scope, move || {
                let mut reader = reader;
                loop {
                    let mut batch = empty
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    batch.clear();
                    let r = reader.fill(&mut batch, end);
                    let go_on = matches!(r, Ok(true));
                    // A closed channel: the run has stopped, and reads no more.
                    if full_tx.send(r.map(|more| (batch, more))).is_err() || !go_on {
                        return reader;
                    }
                }
            })
            .map_err(BacktestError::Reader)?;
        let run = (|| {
            let mut split = Instants::default();
            // The reader ends every stream with a batch saying so, or an error.
            while let Ok(msg) = full.recv() {
                let (batch, more) = msg?;
                let (evs, last) = upto(&batch, end, more);
                split.feed(evs, last, &mut each)?;
                if last {
                    break;
                }
                let _ = empty_tx.send(batch);
            }
            Ok(())
        })();
        drop(full);
        let reader = read.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        run.map(|()| match reader {
            Reader::Captures(s) => Events::Captures(s),
            Reader::Cache(c) => Events::Cache(c),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tape::{EventKind, MarketId};

    fn ev(t: i64) -> Event {
        Event {
            recv_ns: t,
            market: MarketId(0),
            kind: EventKind::Tick,
        }
    }

    /// The instants seen when `times` come in batches of `size`.
    fn split(times: &[i64], size: usize) -> Vec<Vec<i64>> {
        let evs: Vec<Event> = times.iter().map(|&t| ev(t)).collect();
        let mut out = Vec::new();
        let mut s = Instants::default();
        let chunks: Vec<&[Event]> = evs.chunks(size).collect();
        for (i, c) in chunks.iter().enumerate() {
            s.feed(c, i + 1 == chunks.len(), &mut |i: &[Event]| {
                out.push(i.iter().map(|e| e.recv_ns).collect());
                Ok(())
            })
            .unwrap();
        }
        out
    }

    #[test]
    fn instants_do_not_depend_on_where_batches_end() {
        let times = [1, 1, 2, 3, 3, 3, 3, 3, 3, 4, 5, 5];
        let whole = split(&times, times.len());
        assert_eq!(
            whole,
            vec![
                vec![1, 1],
                vec![2],
                vec![3, 3, 3, 3, 3, 3],
                vec![4],
                vec![5, 5]
            ]
        );
        for size in 1..times.len() {
            assert_eq!(split(&times, size), whole, "batches of {size}");
        }
    }

    #[test]
    fn a_window_ends_at_the_first_later_event() {
        let evs: Vec<Event> = [1, 2, 2, 3].iter().map(|&t| ev(t)).collect();
        assert_eq!(upto(&evs, Some(2), true).0.len(), 3);
        assert!(upto(&evs, Some(2), true).1);
        assert_eq!(upto(&evs, Some(9), true), (&evs[..], false));
        assert_eq!(upto(&evs, None, false), (&evs[..], true));
    }
}
