//! The event cache: the normalized events of a list of captures in a binary file of
//! fixed-width records, so that a run reads them back without inflating or parsing anything.
//! The file is keyed by a SHA-256 of the format version, the capture paths as given, their
//! bytes and the market rules; a file whose key does not match is rebuilt, never trusted.
//! The format is written down in docs/event-cache.md.

use super::normalize::{BookSide, Event, EventKind, GapReason, MarketId};
use super::stream::{EventStream, StreamStats};
use crate::venue::{MarketJson, MarketRules, Side};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The first bytes of every cache file.
pub const MAGIC: &[u8; 8] = b"ALTSIMEV";
/// Bumped whenever the records, the trailer or the normalizer's output change.
pub const VERSION: u32 = 1;
/// Bytes per event record.
pub const RECORD: usize = 48;
/// Bytes before the first record: magic, version, reserved, key.
pub const HEADER: usize = 8 + 4 + 4 + 32;
/// The folder, beside the first capture, that holds cache files.
pub const DIR: &str = ".altsim-cache";

/// What the trailer holds: everything a run needs besides the events.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Trailer {
    events: u64,
    /// The markets known once the first capture was opened (a later capture's header may
    /// add more as the stream goes).
    markets: Vec<MarketJson>,
    stats: StreamStats,
}

/// The cache key of `paths` (as given, in order) read with `rules`.
pub fn key(paths: &[PathBuf], rules: &[MarketRules]) -> Result<[u8; 32], String> {
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    h.update(MAGIC);
    h.update(&VERSION.to_le_bytes());
    for p in paths {
        let s = p.to_string_lossy();
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
        let mut f = File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            let k = f
                .read(&mut buf)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            if k == 0 {
                break;
            }
            n += k as u64;
            h.update(&buf[..k]);
        }
        h.update(&n.to_le_bytes());
    }
    let rules: Vec<&MarketJson> = rules.iter().map(|r| &r.json).collect();
    h.update(
        serde_json::to_string(&rules)
            .expect("rules serialize")
            .as_bytes(),
    );
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    Ok(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Where the cache of `paths` with `key` lives.
pub fn path_for(paths: &[PathBuf], key: &[u8; 32]) -> PathBuf {
    let dir = paths
        .first()
        .and_then(|p| p.parent())
        .unwrap_or(Path::new("."));
    dir.join(DIR).join(format!("{}.events", &hex(key)[..32]))
}

fn encode(ev: &Event, out: &mut [u8; RECORD]) {
    let (tag, flag, x, y, z, w): (u8, u8, i64, i64, u64, i64) = match ev.kind {
        EventKind::SnapshotStart { sequence } => (
            0,
            u8::from(sequence.is_some()),
            0,
            0,
            sequence.unwrap_or(0),
            0,
        ),
        EventKind::SnapshotLevel {
            side,
            price,
            amount,
        } => (1, side as u8, price, amount, 0, 0),
        EventKind::SnapshotEnd => (2, 0, 0, 0, 0, 0),
        EventKind::Level {
            side,
            price,
            amount,
            sequence,
        } => (
            3,
            side as u8 | (u8::from(sequence.is_some()) << 1),
            price,
            amount,
            sequence.unwrap_or(0),
            0,
        ),
        EventKind::Trade {
            id,
            taker,
            price,
            amount,
            exch_ns,
        } => (4, taker as u8, price, amount, id, exch_ns),
        EventKind::Gap {
            reason,
            expected,
            got,
        } => (5, reason as u8, 0, 0, expected, got as i64),
        EventKind::Connect => (6, 0, 0, 0, 0, 0),
        EventKind::Disconnect => (7, 0, 0, 0, 0, 0),
        EventKind::Resync => (8, 0, 0, 0, 0, 0),
        EventKind::Tick => (9, 0, 0, 0, 0, 0),
    };
    out[0..8].copy_from_slice(&ev.recv_ns.to_le_bytes());
    out[8..10].copy_from_slice(&ev.market.0.to_le_bytes());
    out[10] = tag;
    out[11] = flag;
    out[12..16].copy_from_slice(&[0; 4]);
    out[16..24].copy_from_slice(&x.to_le_bytes());
    out[24..32].copy_from_slice(&y.to_le_bytes());
    out[32..40].copy_from_slice(&z.to_le_bytes());
    out[40..48].copy_from_slice(&w.to_le_bytes());
}

fn decode(b: &[u8; RECORD]) -> Option<Event> {
    let i = |r: std::ops::Range<usize>| i64::from_le_bytes(b[r].try_into().expect("8 bytes"));
    let (x, y, z, w) = (i(16..24), i(24..32), i(32..40) as u64, i(40..48));
    let flag = b[11];
    let side = |f: u8| {
        if f & 1 == 0 {
            BookSide::Bid
        } else {
            BookSide::Ask
        }
    };
    let kind = match b[10] {
        0 => EventKind::SnapshotStart {
            sequence: (flag & 1 == 1).then_some(z),
        },
        1 => EventKind::SnapshotLevel {
            side: side(flag),
            price: x,
            amount: y,
        },
        2 => EventKind::SnapshotEnd,
        3 => EventKind::Level {
            side: side(flag),
            price: x,
            amount: y,
            sequence: (flag & 2 == 2).then_some(z),
        },
        4 => EventKind::Trade {
            id: z,
            taker: if flag == 0 { Side::Buy } else { Side::Sell },
            price: x,
            amount: y,
            exch_ns: w,
        },
        5 => EventKind::Gap {
            reason: match flag {
                0 => GapReason::Jump,
                1 => GapReason::Reset,
                2 => GapReason::NoSnapshot,
                _ => return None,
            },
            expected: z,
            got: w as u64,
        },
        6 => EventKind::Connect,
        7 => EventKind::Disconnect,
        8 => EventKind::Resync,
        9 => EventKind::Tick,
        _ => return None,
    };
    Some(Event {
        recv_ns: i(0..8),
        market: MarketId(u16::from_le_bytes([b[8], b[9]])),
        kind,
    })
}

/// Reads `paths` through the normalizer once and writes their cache to `to` (through a
/// temporary file renamed into place, so a reader never sees half a cache).
pub fn build(
    paths: &[PathBuf],
    rules: Vec<MarketRules>,
    key: &[u8; 32],
    to: &Path,
) -> Result<u64, String> {
    let io = |e: std::io::Error| format!("{}: {e}", to.display());
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = to.with_extension(format!("partial-{}", std::process::id()));
    let mut w = BufWriter::new(File::create(&tmp).map_err(io)?);
    w.write_all(MAGIC).map_err(io)?;
    w.write_all(&VERSION.to_le_bytes()).map_err(io)?;
    w.write_all(&[0; 4]).map_err(io)?;
    w.write_all(key).map_err(io)?;
    let mut stream = EventStream::open(paths.to_vec(), rules).map_err(|e| e.to_string())?;
    let markets = stream
        .normalizer()
        .markets()
        .iter()
        .map(|r| r.json.clone())
        .collect();
    let mut rec = [0u8; RECORD];
    let mut n = 0u64;
    while let Some(ev) = stream.next_event().map_err(|e| e.to_string())? {
        encode(&ev, &mut rec);
        w.write_all(&rec).map_err(io)?;
        n += 1;
    }
    let trailer = Trailer {
        events: n,
        markets,
        stats: stream.stats().clone(),
    };
    let t = serde_json::to_vec(&trailer).expect("trailer serializes");
    w.write_all(&t).map_err(io)?;
    w.write_all(&(t.len() as u64).to_le_bytes()).map_err(io)?;
    w.write_all(MAGIC).map_err(io)?;
    w.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&tmp, to).map_err(io)?;
    Ok(n)
}

/// A cache file being read, event by event.
pub struct CacheReader {
    r: BufReader<File>,
    left: u64,
    markets: Vec<MarketRules>,
    stats: StreamStats,
    path: PathBuf,
}

impl CacheReader {
    /// Opens the cache at `path` if it is whole and its key is `key`; `None` otherwise (a
    /// missing, stale, foreign or cut file).
    pub fn open(path: &Path, key: &[u8; 32]) -> Option<CacheReader> {
        let mut f = File::open(path).ok()?;
        let len = f.metadata().ok()?.len();
        let mut head = [0u8; HEADER];
        f.read_exact(&mut head).ok()?;
        if &head[..8] != MAGIC
            || head[8..12] != VERSION.to_le_bytes()
            || head[16..48] != key[..]
            || len < (HEADER + 16) as u64
        {
            return None;
        }
        let mut end = [0u8; 16];
        f.seek(SeekFrom::End(-16)).ok()?;
        f.read_exact(&mut end).ok()?;
        if &end[8..] != MAGIC {
            return None;
        }
        let tlen = u64::from_le_bytes(end[..8].try_into().ok()?);
        let body = len.checked_sub(HEADER as u64 + 16)?.checked_sub(tlen)?;
        f.seek(SeekFrom::End(-16 - i64::try_from(tlen).ok()?))
            .ok()?;
        let mut t = vec![0u8; usize::try_from(tlen).ok()?];
        f.read_exact(&mut t).ok()?;
        let trailer: Trailer = serde_json::from_slice(&t).ok()?;
        if trailer.events.checked_mul(RECORD as u64)? != body {
            return None;
        }
        let markets = trailer
            .markets
            .into_iter()
            .map(MarketRules::from_json)
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        f.seek(SeekFrom::Start(HEADER as u64)).ok()?;
        Some(CacheReader {
            r: BufReader::with_capacity(1 << 16, f),
            left: trailer.events,
            markets,
            stats: trailer.stats,
            path: path.to_path_buf(),
        })
    }

    /// The markets as the stream knew them once its first capture was opened.
    pub fn markets(&self) -> &[MarketRules] {
        &self.markets
    }

    /// The stream's counts and warnings, as a read of the captures makes them.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    pub fn next_event(&mut self) -> Result<Option<Event>, String> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut b = [0u8; RECORD];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        self.left -= 1;
        self.decode(&b).map(Some)
    }

    fn decode(&self, b: &[u8; RECORD]) -> Result<Event, String> {
        decode(b).ok_or_else(|| format!("{}: a record that is not an event", self.path.display()))
    }

    /// Appends the next `n` events (fewer at the end) to `out`; returns how many. Records are
    /// read and decoded a block at a time, not one call each.
    pub fn read_into(&mut self, out: &mut Vec<Event>, n: usize) -> Result<usize, String> {
        let n = n.min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let mut block = [0u8; RECORD * 256];
        let mut done = 0;
        while done < n {
            let k = (n - done).min(256);
            let bytes = &mut block[..k * RECORD];
            self.r
                .read_exact(bytes)
                .map_err(|e| format!("{}: {e}", self.path.display()))?;
            for rec in bytes.chunks_exact(RECORD) {
                out.push(self.decode(rec.try_into().expect("RECORD bytes"))?);
            }
            done += k;
            self.left -= k as u64;
        }
        Ok(n)
    }
}

/// The cache of `paths` read with `rules`: opened if valid, built first otherwise. Returns
/// the reader and whether it was built.
pub fn open_or_build(
    paths: &[PathBuf],
    rules: Vec<MarketRules>,
) -> Result<(CacheReader, bool), String> {
    let key = key(paths, &rules)?;
    let at = path_for(paths, &key);
    if let Some(r) = CacheReader::open(&at, &key) {
        return Ok((r, false));
    }
    build(paths, rules, &key, &at)?;
    CacheReader::open(&at, &key)
        .map(|r| (r, true))
        .ok_or_else(|| {
            format!(
                "{}: the cache just written does not read back",
                at.display()
            )
        })
}

/// The events of a cache held in memory, read once and shared read-only by many runs (a
/// sweep's). About 56 bytes an event: 16 MB for the shipped sample.
pub struct EventStore {
    paths: Vec<PathBuf>,
    rules: Vec<MarketRules>,
    events: Vec<Event>,
    markets: Vec<MarketRules>,
    stats: StreamStats,
}

impl EventStore {
    /// Reads the cache of `paths` with `rules` (built first if missing or stale), unless it
    /// holds more than `max_events`: then `None`, and the cache file is there to stream.
    pub fn load(
        paths: &[PathBuf],
        rules: Vec<MarketRules>,
        max_events: u64,
    ) -> Result<Option<EventStore>, String> {
        let (mut r, _) = open_or_build(paths, rules.clone())?;
        if r.left > max_events {
            return Ok(None);
        }
        let n = usize::try_from(r.left).unwrap_or(0);
        let mut events = Vec::with_capacity(n);
        r.read_into(&mut events, n)?;
        Ok(Some(EventStore {
            paths: paths.to_vec(),
            rules,
            events,
            markets: r.markets,
            stats: r.stats,
        }))
    }

    /// Whether this store holds the events of `paths` read with `rules`.
    pub fn holds(&self, paths: &[PathBuf], rules: &[MarketRules]) -> bool {
        self.paths == paths && self.rules == rules
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// As [`CacheReader::markets`].
    pub fn markets(&self) -> &[MarketRules] {
        &self.markets
    }

    /// As [`CacheReader::stats`].
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let kinds = [
            EventKind::SnapshotStart { sequence: None },
            EventKind::SnapshotStart { sequence: Some(7) },
            EventKind::SnapshotLevel {
                side: BookSide::Ask,
                price: 123,
                amount: 4,
            },
            EventKind::SnapshotEnd,
            EventKind::Level {
                side: BookSide::Bid,
                price: i64::MAX,
                amount: 0,
                sequence: Some(u64::MAX),
            },
            EventKind::Level {
                side: BookSide::Ask,
                price: 1,
                amount: 2,
                sequence: None,
            },
            EventKind::Trade {
                id: 9,
                taker: Side::Sell,
                price: 5,
                amount: 6,
                exch_ns: -1,
            },
            EventKind::Gap {
                reason: GapReason::NoSnapshot,
                expected: 3,
                got: u64::MAX,
            },
            EventKind::Connect,
            EventKind::Disconnect,
            EventKind::Resync,
            EventKind::Tick,
        ];
        let mut b = [0u8; RECORD];
        for (i, kind) in kinds.into_iter().enumerate() {
            let ev = Event {
                recv_ns: i as i64 - 3,
                market: MarketId(i as u16),
                kind,
            };
            encode(&ev, &mut b);
            assert_eq!(decode(&b), Some(ev));
        }
        b[10] = 200;
        assert_eq!(decode(&b), None);
    }
}
