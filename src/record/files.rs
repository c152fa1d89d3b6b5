//! Capture files as the recorder writes them: zstd, rotated by UTC hour or day and by size,
//! named so that they sort in time.

use crate::tape::{CaptureWriter, Compression, Header, Session};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const HOUR_NS: i64 = 3_600 * 1_000_000_000;
const DAY_NS: i64 = 24 * HOUR_NS;

/// When a new file starts, besides the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rotate {
    Hour,
    Day,
    Never,
}

impl Rotate {
    fn period(self, ns: i64) -> i64 {
        match self {
            Rotate::Hour => ns.div_euclid(HOUR_NS),
            Rotate::Day => ns.div_euclid(DAY_NS),
            Rotate::Never => 0,
        }
    }
}

/// A file writer that counts the bytes reaching the disk.
struct Counting {
    inner: BufWriter<File>,
    bytes: Arc<AtomicU64>,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct Open {
    writer: CaptureWriter<Counting>,
    bytes: Arc<AtomicU64>,
    period: i64,
}

/// Writes records into a sequence of files.
pub struct RotatingWriter {
    dir: PathBuf,
    prefix: String,
    rotate: Rotate,
    max_bytes: Option<u64>,
    header: Header,
    open: Option<Open>,
    files: Vec<PathBuf>,
    /// Bytes of the files already closed.
    closed_bytes: u64,
}

impl RotatingWriter {
    /// Files go into `dir` (created if missing), each starting with `header`.
    pub fn new(
        dir: &Path,
        prefix: &str,
        rotate: Rotate,
        max_bytes: Option<u64>,
        header: Header,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(RotatingWriter {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            rotate,
            max_bytes,
            header,
            open: None,
            files: Vec::new(),
            closed_bytes: 0,
        })
    }

    /// Every file started so far, oldest first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Compressed bytes written to disk so far.
    pub fn bytes(&self) -> u64 {
        self.closed_bytes
            + self
                .open
                .as_ref()
                .map_or(0, |o| o.bytes.load(Ordering::Relaxed))
    }

    /// Bytes of the file being written.
    pub fn current_bytes(&self) -> u64 {
        self.open
            .as_ref()
            .map_or(0, |o| o.bytes.load(Ordering::Relaxed))
    }

    fn file_for(&mut self, ns: i64) -> io::Result<&mut CaptureWriter<Counting>> {
        let period = self.rotate.period(ns);
        // Compressed bytes reach the disk at each flush, so a file may pass the limit by up
        // to one flush's worth.
        let full = |o: &Open| {
            self.max_bytes
                .is_some_and(|m| o.bytes.load(Ordering::Relaxed) >= m)
        };
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.period != period || full(o))
        {
            self.close()?;
        }
        if self.open.is_none() {
            let name = format!(
                "{}-{}-{:04}.cap.zst",
                self.prefix,
                crate::utc::compact(ns),
                self.files.len()
            );
            let path = self.dir.join(name);
            let file = File::options().write(true).create_new(true).open(&path)?;
            let bytes = Arc::new(AtomicU64::new(0));
            let inner = Counting {
                inner: BufWriter::with_capacity(1 << 16, file),
                bytes: bytes.clone(),
            };
            let mut header = self.header.clone();
            header.started_ns = ns;
            let writer = CaptureWriter::new(inner, Compression::Zstd, Some(&header))?;
            self.files.push(path);
            self.open = Some(Open {
                writer,
                bytes,
                period,
            });
        }
        Ok(&mut self.open.as_mut().expect("opened above").writer)
    }

    pub fn write_frame(&mut self, recv_ns: i64, frame: &[u8]) -> io::Result<()> {
        self.file_for(recv_ns)?.write_frame(recv_ns, frame)
    }

    pub fn write_session(&mut self, recv_ns: i64, s: &Session) -> io::Result<()> {
        self.file_for(recv_ns)?.write_session(recv_ns, s)
    }

    /// Makes everything written so far readable on disk.
    pub fn flush(&mut self) -> io::Result<()> {
        match self.open.as_mut() {
            Some(o) => o.writer.flush(),
            None => Ok(()),
        }
    }

    /// Ends the current file properly.
    pub fn close(&mut self) -> io::Result<()> {
        if let Some(o) = self.open.take() {
            let mut inner = o.writer.finish()?;
            inner.flush()?;
            inner.inner.get_ref().sync_all()?;
            self.closed_bytes += o.bytes.load(Ordering::Relaxed);
        }
        Ok(())
    }
}
