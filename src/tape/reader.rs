//! Reading captures: plain, gzip or zstd (told by content), in constant memory, one record at
//! a time, across several files as one stream.

use super::format::{Header, Session, FORMAT_VERSION, HEADER_MARK};
use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// A capture that could not be read, with the file and line.
#[derive(Debug)]
pub struct TapeError {
    pub path: PathBuf,
    /// 1-based line, 0 when the problem is not tied to a line.
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.reason)
        } else {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
        }
    }
}

impl std::error::Error for TapeError {}

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// A received text frame, verbatim.
    Frame(Cow<'a, str>),
    /// A received binary frame.
    Binary(Vec<u8>),
    /// A session record.
    Session(Session),
}

/// One record: the local receive time and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub recv_ns: i64,
    pub body: Body<'a>,
}

/// The compression of a file, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Opens any readable byte source as a decompressed stream.
pub fn decompress<'r, R: Read + 'r>(inner: R) -> io::Result<Box<dyn BufRead + 'r>> {
    const BUF: usize = 1 << 18;
    let mut raw = BufReader::with_capacity(BUF, inner);
    let kind = Compression::sniff(raw.fill_buf()?);
    Ok(match kind {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUF,
            flate2::bufread::MultiGzDecoder::new(raw),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            BUF,
            zstd::stream::read::Decoder::with_buffer(raw)?,
        )),
    })
}

/// Reads one capture file record by record.
pub struct CaptureReader<'r> {
    path: PathBuf,
    input: Box<dyn BufRead + 'r>,
    buf: Vec<u8>,
    line: u64,
    header: Option<Header>,
    warning: Option<String>,
    done: bool,
}

impl CaptureReader<'static> {
    pub fn open(path: &Path) -> Result<Self, TapeError> {
        let err = |reason: String| TapeError {
            path: path.to_path_buf(),
            line: 0,
            reason,
        };
        let file = File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
        let input = decompress(file).map_err(|e| err(format!("cannot read: {e}")))?;
        CaptureReader::new(path, input)
    }
}

impl<'r> CaptureReader<'r> {
    /// Reads from an already decompressed stream; `path` names it in messages.
    pub fn new(path: &Path, input: Box<dyn BufRead + 'r>) -> Result<Self, TapeError> {
        let mut r = CaptureReader {
            path: path.to_path_buf(),
            input,
            buf: Vec::with_capacity(1 << 16),
            line: 0,
            header: None,
            warning: None,
            done: false,
        };
        r.read_header()?;
        Ok(r)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header, when the file has one.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The line of the last record returned.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Set when the file ended early (a crash or a cut download): where and why reading stopped.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    fn error(&self, reason: impl Into<String>) -> TapeError {
        TapeError {
            path: self.path.clone(),
            line: self.line,
            reason: reason.into(),
        }
    }

    fn read_header(&mut self) -> Result<(), TapeError> {
        let head = match self.input.fill_buf() {
            Ok(h) => h,
            Err(e) => {
                self.stop_early(&e);
                return Ok(());
            }
        };
        if !head.starts_with(b"#") {
            return Ok(());
        }
        if !self.fill_line() {
            return Err(self.error("capture header is cut off"));
        }
        let text = std::str::from_utf8(&self.buf)
            .map_err(|_| self.error("header is not UTF-8"))?
            .trim_end();
        let json = text
            .strip_prefix(HEADER_MARK)
            .ok_or_else(|| self.error(format!("expected a header starting {HEADER_MARK:?}")))?;
        let header: Header = serde_json::from_str(json)
            .map_err(|e| self.error(format!("bad capture header: {e}")))?;
        if header.version != FORMAT_VERSION {
            return Err(self.error(format!(
                "capture format version {} is not supported (this build reads {FORMAT_VERSION})",
                header.version
            )));
        }
        self.header = Some(header);
        Ok(())
    }

    fn stop_early(&mut self, e: &io::Error) {
        self.done = true;
        self.warning = Some(format!(
            "{}: stopped after line {}: {e}; the intact records before it were read",
            self.path.display(),
            self.line
        ));
    }

    /// Reads the next whole line into `buf` (without its end of line); false at the end.
    fn fill_line(&mut self) -> bool {
        if self.done {
            return false;
        }
        self.buf.clear();
        match self.input.read_until(b'\n', &mut self.buf) {
            Ok(0) => {
                self.done = true;
                false
            }
            Ok(_) if self.buf.last() == Some(&b'\n') => {
                self.line += 1;
                self.buf.pop();
                if self.buf.last() == Some(&b'\r') {
                    self.buf.pop();
                }
                true
            }
            Ok(_) => {
                self.done = true;
                self.warning = Some(format!(
                    "{}: line {} is cut off ({} bytes without an end of line); the records before it were read",
                    self.path.display(),
                    self.line + 1,
                    self.buf.len()
                ));
                false
            }
            Err(e) => {
                self.stop_early(&e);
                false
            }
        }
    }

    /// The next record, `None` at the end (see [`warning`](Self::warning) for an early end).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, TapeError> {
        loop {
            if !self.fill_line() {
                return Ok(None);
            }
            if !self.buf.is_empty() {
                break;
            }
        }
        let line = std::str::from_utf8(&self.buf).map_err(|e| TapeError {
            path: self.path.clone(),
            line: self.line,
            reason: format!("record is not UTF-8 (byte {})", e.valid_up_to()),
        })?;
        parse_record(line).map_err(|reason| TapeError {
            path: self.path.clone(),
            line: self.line,
            reason,
        })
        .map(Some)
    }
}

/// Parses `<ns> <payload>`.
pub fn parse_record(line: &str) -> Result<Record<'_>, String> {
    let (ns, payload) = line
        .split_once(' ')
        .ok_or("expected \"<receive ns> <frame>\"")?;
    let recv_ns: i64 = ns
        .parse()
        .map_err(|_| format!("receive time {:?} is not an integer", truncate(ns)))?;
    let body = match payload.strip_prefix('!') {
        None => Body::Frame(Cow::Borrowed(payload)),
        Some(rest) => {
            let (name, json) = rest.split_once(' ').unwrap_or((rest, "{}"));
            match name {
                "text" => Body::Frame(Cow::Owned(
                    serde_json::from_str::<String>(json).map_err(|e| format!("!text record: {e}"))?,
                )),
                "binary" => Body::Binary(parse_hex(json)?),
                _ => Body::Session(Session::parse_payload(name, json)?),
            }
        }
    };
    Ok(Record { recv_ns, body })
}

fn parse_hex(json: &str) -> Result<Vec<u8>, String> {
    let hex: String = serde_json::from_str(json).map_err(|e| format!("!binary record: {e}"))?;
    if hex.len() % 2 != 0 {
        return Err("!binary record: odd number of hex digits".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| "!binary record: not hex".into())
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
