//! The event cache: the normalized events of a list of captures, in blocks of varint-coded
//! fields (`codec`), so that a run reads them back without inflating or parsing anything. The file is keyed by a SHA-256 of the format version, the captures' bytes and the
//! market rules (not the spelling of their paths); a file whose key does not match is
//! rebuilt, never trusted. The caches of a folder are kept within a size budget, the least
//! recently used removed first (`gc`). The format is written down in docs/event-cache.md.

mod codec;
pub mod gc;

use super::normalize::Event;
use super::stream::{EventStream, StreamStats};
use crate::venue::{MarketJson, MarketRules};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The first bytes of every cache file.
pub const MAGIC: &[u8; 8] = b"ALTSIMEV";
/// Bumped whenever the blocks, the trailer or the normalizer's output change.
pub const VERSION: u32 = 2;
/// Bytes before the first block: magic, version, reserved, key.
pub const HEADER: usize = 8 + 4 + 4 + 32;
/// Bytes before each block's data: its events and its length.
const BLOCK_HEAD: usize = 8;
/// Largest block a reader accepts (a block of events is far below it).
const MAX_RAW: usize = 64 << 20;
/// The folder, beside the first capture, that holds cache files.
pub const DIR: &str = ".altsim-cache";

/// What the trailer holds: everything a run needs besides the events.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Trailer {
    events: u64,
    blocks: u64,
    /// Bytes of the blocks, their heads included.
    body: u64,
    /// The markets known once the first capture was opened (a later capture's header may
    /// add more as the stream goes).
    markets: Vec<MarketJson>,
    stats: StreamStats,
    /// The captures' paths as the build was given them: warnings name files by these, and a
    /// reader given other spellings of the same files shows its own.
    paths: Vec<String>,
}

/// A cache that could not be built or read, naming its file.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {what}; delete the file and it is built again", path.display())]
    Corrupt { path: PathBuf, what: &'static str },
    #[error("{}: the cache just written does not read back", .0.display())]
    Unreadable(PathBuf),
    #[error(transparent)]
    Capture(#[from] crate::tape::TapeError),
    #[error(transparent)]
    Budget(#[from] gc::BudgetError),
}

/// An I/O error at `path`.
fn io_at(path: &Path) -> impl Fn(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The cache key of the captures at `paths` (their bytes, in order) read with `rules`.
pub fn key(paths: &[PathBuf], rules: &[MarketRules]) -> Result<[u8; 32], CacheError> {
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    h.update(MAGIC);
    h.update(&VERSION.to_le_bytes());
    for p in paths {
        let mut f = File::open(p).map_err(io_at(p))?;
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf).map_err(io_at(p))?;
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

/// Reads `paths` through the normalizer once and writes their cache to `to` (through a
/// temporary file renamed into place, so a reader never sees half a cache). Returns the
/// events written.
pub fn build(
    paths: &[PathBuf],
    rules: Vec<MarketRules>,
    key: &[u8; 32],
    to: &Path,
) -> Result<u64, CacheError> {
    let io = io_at(to);
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(&io)?;
    }
    let tmp = to.with_extension(format!("partial-{}", std::process::id()));
    let written = write(paths, rules, key, &tmp, &io);
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let n = written?;
    std::fs::rename(&tmp, to).map_err(&io)?;
    Ok(n)
}

fn write(
    paths: &[PathBuf],
    rules: Vec<MarketRules>,
    key: &[u8; 32],
    tmp: &Path,
    io: &dyn Fn(std::io::Error) -> CacheError,
) -> Result<u64, CacheError> {
    let mut w = BufWriter::new(File::create(tmp).map_err(io)?);
    w.write_all(MAGIC).map_err(io)?;
    w.write_all(&VERSION.to_le_bytes()).map_err(io)?;
    w.write_all(&[0; 4]).map_err(io)?;
    w.write_all(key).map_err(io)?;
    let mut stream = EventStream::open(paths.to_vec(), rules)?;
    let markets = stream
        .normalizer()
        .markets()
        .iter()
        .map(|r| r.json.clone())
        .collect();
    let mut enc = codec::Encoder::default();
    let (mut n, mut blocks, mut body) = (0u64, 0u64, 0u64);
    let mut flush = |enc: &mut codec::Encoder, w: &mut BufWriter<File>| -> Result<(), CacheError> {
        if enc.events == 0 {
            return Ok(());
        }
        let len =
            |v: usize| u32::try_from(v).map_err(|_| io(std::io::ErrorKind::InvalidData.into()));
        w.write_all(&len(enc.events)?.to_le_bytes()).map_err(io)?;
        w.write_all(&len(enc.raw.len())?.to_le_bytes())
            .map_err(io)?;
        w.write_all(&enc.raw).map_err(io)?;
        blocks += 1;
        body += (BLOCK_HEAD + enc.raw.len()) as u64;
        enc.clear();
        Ok(())
    };
    while let Some(ev) = stream.next_event()? {
        enc.push(&ev);
        n += 1;
        if enc.events == codec::BLOCK {
            flush(&mut enc, &mut w)?;
        }
    }
    flush(&mut enc, &mut w)?;
    let trailer = Trailer {
        events: n,
        blocks,
        body,
        markets,
        stats: stream.stats().clone(),
        paths: paths.iter().map(|p| p.display().to_string()).collect(),
    };
    let t = serde_json::to_vec(&trailer).expect("trailer serializes");
    w.write_all(&t).map_err(io)?;
    w.write_all(&(t.len() as u64).to_le_bytes()).map_err(io)?;
    w.write_all(MAGIC).map_err(io)?;
    w.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    Ok(n)
}

/// A cache file being read, a block at a time.
pub struct CacheReader {
    r: BufReader<File>,
    /// Events not yet handed out (those of `block[at..]` included).
    left: u64,
    blocks_left: u64,
    markets: Vec<MarketRules>,
    stats: StreamStats,
    path: PathBuf,
    raw: Vec<u8>,
    block: Vec<Event>,
    at: usize,
}

impl CacheReader {
    /// Opens the cache at `path` if it is whole and its key is `key`; `None` otherwise (a
    /// missing, stale, foreign or cut file). `paths` are the captures as this run names them:
    /// the warnings come back naming them so.
    pub fn open(path: &Path, key: &[u8; 32], paths: &[PathBuf]) -> Option<CacheReader> {
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
        let (trailer, tlen) = read_trailer(&mut f)?;
        let body = len.checked_sub(HEADER as u64 + 16)?.checked_sub(tlen)?;
        if trailer.body != body {
            return None;
        }
        let markets = trailer
            .markets
            .into_iter()
            .map(MarketRules::from_json)
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        let mut stats = trailer.stats;
        rename_paths(&mut stats, &trailer.paths, paths);
        f.seek(SeekFrom::Start(HEADER as u64)).ok()?;
        gc::touch(&f);
        Some(CacheReader {
            r: BufReader::with_capacity(1 << 16, f),
            left: trailer.events,
            blocks_left: trailer.blocks,
            markets,
            stats,
            path: path.to_path_buf(),
            raw: Vec::new(),
            block: Vec::new(),
            at: 0,
        })
    }

    /// Events not yet read.
    pub fn len(&self) -> u64 {
        self.left
    }

    pub fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// The markets as the stream knew them once its first capture was opened.
    pub fn markets(&self) -> &[MarketRules] {
        &self.markets
    }

    /// The stream's counts and warnings, as a read of the captures makes them.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    fn corrupt(&self, what: &'static str) -> CacheError {
        CacheError::Corrupt {
            path: self.path.clone(),
            what,
        }
    }

    /// Reads the next block's head: its events and its length in bytes.
    fn block_head(&mut self, left: u64) -> Result<(usize, usize), CacheError> {
        if self.blocks_left == 0 {
            return Err(self.corrupt("fewer events than its trailer counts"));
        }
        let mut head = [0u8; BLOCK_HEAD];
        self.r.read_exact(&mut head).map_err(io_at(&self.path))?;
        let word =
            |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes")) as usize;
        let (n, len) = (word(0), word(4));
        if n == 0 || n as u64 > left || len > MAX_RAW {
            return Err(self.corrupt("a block that is not one"));
        }
        self.blocks_left -= 1;
        Ok((n, len))
    }

    /// Reads and decodes the next block, appending its events to `out`.
    fn next_block(&mut self, out: &mut Vec<Event>) -> Result<usize, CacheError> {
        let (n, len) = self.block_head(self.left)?;
        self.raw.resize(len, 0);
        self.r
            .read_exact(&mut self.raw)
            .map_err(io_at(&self.path))?;
        codec::decode(&self.raw, n, out)
            .map_err(|_| self.corrupt("a block that does not decode"))?;
        Ok(n)
    }

    /// Every event not yet read, in consecutive parts, one for each thread of the current
    /// rayon pool: the blocks are read in turn and each part's are decoded on a thread of
    /// its own, into memory of its own (a copy into one buffer would cost as much as the
    /// decoding saves).
    pub fn read_parts(&mut self) -> Result<Vec<Vec<Event>>, CacheError> {
        let mut first = Vec::new();
        if self.at < self.block.len() {
            let buffered = self.block.len() - self.at;
            self.read_into(&mut first, buffered)?;
        }
        let mut raw = Vec::new();
        // Each block: its events, and where its bytes start in `raw`.
        let mut blocks = Vec::new();
        let mut left = self.left;
        while left > 0 {
            let (n, len) = self.block_head(left)?;
            let at = raw.len();
            raw.resize(at + len, 0);
            self.r
                .read_exact(&mut raw[at..])
                .map_err(io_at(&self.path))?;
            blocks.push((n, at));
            left -= n as u64;
        }
        let count = blocks.len();
        blocks.push((0, raw.len()));
        let parts = rayon::current_num_threads().clamp(1, count.max(1));
        let per = count.div_ceil(parts);
        let decoded: Vec<Result<Vec<Event>, codec::Corrupt>> = (0..parts)
            .into_par_iter()
            .map(|k| {
                let (from, to) = ((k * per).min(count), ((k + 1) * per).min(count));
                let events = blocks[from..to].iter().map(|b| b.0).sum();
                let mut out = Vec::with_capacity(events);
                for w in blocks[from..=to].windows(2) {
                    let ((n, a), (_, b)) = (w[0], w[1]);
                    codec::decode(&raw[a..b], n, &mut out)?;
                }
                Ok(out)
            })
            .collect();
        let mut out = Vec::with_capacity(parts + 1);
        if !first.is_empty() {
            out.push(first);
        }
        for part in decoded {
            let part = part.map_err(|_| self.corrupt("a block that does not decode"))?;
            if !part.is_empty() {
                out.push(part);
            }
        }
        self.left = 0;
        Ok(out)
    }

    pub fn next_event(&mut self) -> Result<Option<Event>, CacheError> {
        if self.left == 0 {
            return Ok(None);
        }
        if self.at == self.block.len() {
            let mut block = std::mem::take(&mut self.block);
            block.clear();
            self.at = 0;
            let r = self.next_block(&mut block);
            self.block = block;
            r?;
        }
        self.at += 1;
        self.left -= 1;
        Ok(Some(self.block[self.at - 1]))
    }

    /// Appends the next `n` events (fewer at the end) to `out`; returns how many. Whole
    /// blocks are decoded straight into `out`.
    pub fn read_into(&mut self, out: &mut Vec<Event>, n: usize) -> Result<usize, CacheError> {
        let n = n.min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let mut done = 0;
        while done < n {
            let buffered = self.block.len() - self.at;
            if buffered > 0 {
                let k = buffered.min(n - done);
                out.extend_from_slice(&self.block[self.at..self.at + k]);
                self.at += k;
                done += k;
                self.left -= k as u64;
                continue;
            }
            let before = out.len();
            let got = self.next_block(out)?;
            if got <= n - done {
                done += got;
                self.left -= got as u64;
            } else {
                // More than asked for: the rest waits in the block buffer.
                let keep = n - done;
                self.block.clear();
                self.block.extend_from_slice(&out[before + keep..]);
                self.at = 0;
                out.truncate(before + keep);
                done += keep;
                self.left -= keep as u64;
            }
        }
        Ok(n)
    }
}

/// What a cache file says of itself, unchecked against any key: its events and the captures
/// it was built from (as the build named them). `None` for a file that is not a whole cache.
pub fn describe(path: &Path) -> Option<(u64, Vec<String>)> {
    let (trailer, _) = read_trailer(&mut File::open(path).ok()?)?;
    Some((trailer.events, trailer.paths))
}

/// The trailer at the end of a cache file, and its length.
fn read_trailer(f: &mut File) -> Option<(Trailer, u64)> {
    let mut end = [0u8; 16];
    f.seek(SeekFrom::End(-16)).ok()?;
    f.read_exact(&mut end).ok()?;
    if &end[8..] != MAGIC {
        return None;
    }
    let tlen = u64::from_le_bytes(end[..8].try_into().ok()?);
    f.seek(SeekFrom::End(-16 - i64::try_from(tlen).ok()?))
        .ok()?;
    let mut t = vec![0u8; usize::try_from(tlen).ok().filter(|n| *n < MAX_RAW)?];
    f.read_exact(&mut t).ok()?;
    Some((serde_json::from_slice(&t).ok()?, tlen))
}

/// Rewrites the warnings that name a capture by the spelling the cache was built with to
/// the spelling of this run.
fn rename_paths(stats: &mut StreamStats, built: &[String], now: &[PathBuf]) {
    for (old, new) in built.iter().zip(now) {
        let new = new.display().to_string();
        if *old == new {
            continue;
        }
        for w in &mut stats.warnings {
            if let Some(rest) = w.strip_prefix(old.as_str()) {
                if rest.starts_with(':') {
                    *w = format!("{new}{rest}");
                }
            }
        }
    }
}

/// The cache of `paths` read with `rules`: opened if valid, built first otherwise. Returns
/// the reader and whether it was built.
pub fn open_or_build(
    paths: &[PathBuf],
    rules: Vec<MarketRules>,
) -> Result<(CacheReader, bool), CacheError> {
    let key = key(paths, &rules)?;
    let at = path_for(paths, &key);
    if let Some(r) = CacheReader::open(&at, &key, paths) {
        return Ok((r, false));
    }
    build(paths, rules, &key, &at)?;
    if let Some(dir) = at.parent() {
        // Keeps the folder within its budget; the cache just built is the newest.
        let _ = gc::collect(dir, gc::budget(None)?);
    }
    CacheReader::open(&at, &key, paths)
        .map(|r| (r, true))
        .ok_or(CacheError::Unreadable(at))
}

/// The events of a cache held in memory, read once and shared read-only by many runs (a
/// sweep's). About 56 bytes an event: 16 MB for the shipped sample.
pub struct EventStore {
    paths: Vec<PathBuf>,
    rules: Vec<MarketRules>,
    /// The events in order, in the parts they were decoded in.
    parts: Vec<Vec<Event>>,
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
    ) -> Result<Option<EventStore>, CacheError> {
        let (mut r, _) = open_or_build(paths, rules.clone())?;
        if r.len() > max_events {
            return Ok(None);
        }
        let parts = r.read_parts()?;
        Ok(Some(EventStore {
            paths: paths.to_vec(),
            rules,
            parts,
            markets: r.markets,
            stats: r.stats,
        }))
    }

    /// Whether this store holds the events of `paths` read with `rules`.
    pub fn holds(&self, paths: &[PathBuf], rules: &[MarketRules]) -> bool {
        self.paths == paths && self.rules == rules
    }

    /// The events, in order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.parts.iter().flatten()
    }

    /// The events, in order, in consecutive parts.
    pub fn parts(&self) -> &[Vec<Event>] {
        &self.parts
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
