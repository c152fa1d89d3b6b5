//! Reading captures: plain, gzip or zstd (told by content), in constant memory, one record at
//! a time, across several files as one stream.

use super::format::{Header, Session, FORMAT_VERSION, HEADER_MARK};
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// A capture that could not be read, with the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {reason}", path.display(), if *line == 0 { String::new() } else { format!(":{line}") })]
pub struct TapeError {
    pub path: PathBuf,
    /// 1-based line, 0 when the problem is not tied to a line.
    pub line: u64,
    pub reason: Reason,
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Reason {
    #[error("cannot open: {0}")]
    Open(io::Error),
    #[error("cannot read: {0}")]
    Read(io::Error),
    #[error("capture header is cut off")]
    HeaderCut,
    #[error("header is not UTF-8")]
    HeaderNotUtf8,
    #[error("expected a header starting {HEADER_MARK:?}")]
    NoHeader,
    #[error("bad capture header: {0}")]
    HeaderJson(serde_json::Error),
    #[error("capture format version {0} is not supported (this build reads {FORMAT_VERSION})")]
    Version(u32),
    #[error("header: {0}")]
    HeaderRules(crate::venue::market::RulesError),
    #[error("record is not UTF-8 (byte {0})")]
    NotUtf8(usize),
    #[error(transparent)]
    Record(#[from] BadRecord),
    #[error(transparent)]
    OffRules(#[from] super::normalize::OffRules),
}

/// A line that is not a record.
#[derive(Debug, thiserror::Error)]
pub enum BadRecord {
    #[error("expected \"<receive ns> <frame>\"")]
    NoTime,
    #[error("receive time {0:?} is not an integer")]
    Time(String),
    #[error(
        "receive time {0} is after {max} (2200-01-01), the latest altsim's clock works with",
        max = crate::utc::MAX_TIME_NS
    )]
    Late(i64),
    #[error("!text record: {0}")]
    Text(serde_json::Error),
    #[error("!binary record: {0}")]
    Binary(serde_json::Error),
    #[error("!binary record: not hex")]
    NotHex,
    #[error("!binary record: odd number of hex digits")]
    OddHex,
    #[error("!{name} record: {source}")]
    Session {
        name: String,
        source: serde_json::Error,
    },
    #[error("!{0} record: not a JSON object")]
    NotObject(String),
}

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
pub fn decompress<'r, R: Read + Send + 'r>(inner: R) -> io::Result<Box<dyn BufRead + Send + 'r>> {
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

/// Whole lines out of a buffered stream, borrowed from its buffer where possible.
struct Lines<'r> {
    input: Box<dyn BufRead + Send + 'r>,
    /// Holds a line that straddles two reads of the input.
    buf: Vec<u8>,
    /// Bytes of the input's buffer handed out and not yet consumed.
    pending: usize,
    line: u64,
    done: bool,
    /// Why reading stopped early.
    stopped: Option<String>,
}

impl<'r> Lines<'r> {
    fn stop(&mut self, why: String) {
        self.done = true;
        self.stopped = Some(why);
    }

    /// The next non-empty line without its end of line, with its number; `None` at the end.
    fn next_line(&mut self) -> Option<(u64, &[u8])> {
        loop {
            if self.done {
                return None;
            }
            self.input.consume(std::mem::take(&mut self.pending));
            let found = match self.input.fill_buf() {
                Ok([]) => {
                    self.done = true;
                    return None;
                }
                Ok(avail) => {
                    memchr::memchr(b'\n', avail).map(|i| (i, trim_cr(&avail[..i]).is_empty()))
                }
                Err(e) => {
                    self.stop(format!("stopped after line {}: {e}", self.line));
                    return None;
                }
            };
            if let Some((i, empty)) = found {
                self.line += 1;
                self.pending = i + 1;
                if empty {
                    continue;
                }
                let avail = self.input.fill_buf().ok()?;
                return Some((self.line, trim_cr(&avail[..i])));
            }
            self.buf.clear();
            let limited = &mut Read::take(&mut self.input, MAX_LINE as u64 + 1);
            match limited.read_until(b'\n', &mut self.buf) {
                Ok(_) if self.buf.len() > MAX_LINE => {
                    let why = format!(
                        "line {} is longer than {MAX_LINE} bytes: not a capture",
                        self.line + 1
                    );
                    self.stop(why);
                    return None;
                }
                Ok(_) if self.buf.last() == Some(&b'\n') => {
                    self.line += 1;
                    self.buf.pop();
                    if trim_cr(&self.buf).is_empty() {
                        continue;
                    }
                    return Some((self.line, trim_cr(&self.buf)));
                }
                Ok(_) => {
                    let why = format!(
                        "line {} is cut off ({} bytes without an end of line)",
                        self.line + 1,
                        self.buf.len()
                    );
                    self.stop(why);
                    return None;
                }
                Err(e) => {
                    self.stop(format!("stopped after line {}: {e}", self.line));
                    return None;
                }
            }
        }
    }
}

/// Longest line read: far above any ranger frame or REST snapshot, it keeps a file that is
/// not a capture (`/dev/zero`) from filling memory.
pub const MAX_LINE: usize = 16 << 20;

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads one capture file record by record.
pub struct CaptureReader<'r> {
    path: PathBuf,
    lines: Lines<'r>,
    header: Option<Header>,
}

impl CaptureReader<'static> {
    pub fn open(path: &Path) -> Result<Self, TapeError> {
        let err = |reason| TapeError {
            path: path.to_path_buf(),
            line: 0,
            reason,
        };
        let file = File::open(path).map_err(|e| err(Reason::Open(e)))?;
        let input = decompress(file).map_err(|e| err(Reason::Read(e)))?;
        CaptureReader::new(path, input)
    }
}

impl<'r> CaptureReader<'r> {
    /// Reads from an already decompressed stream; `path` names it in messages.
    pub fn new(path: &Path, input: Box<dyn BufRead + Send + 'r>) -> Result<Self, TapeError> {
        let mut r = CaptureReader {
            path: path.to_path_buf(),
            lines: Lines {
                input,
                buf: Vec::new(),
                pending: 0,
                line: 0,
                done: false,
                stopped: None,
            },
            header: None,
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
        self.lines.line
    }

    /// Set when the file ended early (a crash or a cut download): where and why reading stopped.
    pub fn warning(&self) -> Option<String> {
        self.lines.stopped.as_ref().map(|why| {
            format!(
                "{}: {why}; the intact records before it were read",
                self.path.display()
            )
        })
    }

    fn error(&self, reason: Reason) -> TapeError {
        TapeError {
            path: self.path.clone(),
            line: self.lines.line,
            reason,
        }
    }

    fn read_header(&mut self) -> Result<(), TapeError> {
        match self.lines.input.fill_buf() {
            Ok(head) if head.starts_with(b"#") => {}
            _ => return Ok(()),
        }
        let Some((_, line)) = self.lines.next_line() else {
            return Err(self.error(Reason::HeaderCut));
        };
        let text = std::str::from_utf8(line).map_err(|_| Reason::HeaderNotUtf8);
        let parsed = text.and_then(|text| {
            let json = text.strip_prefix(HEADER_MARK).ok_or(Reason::NoHeader)?;
            serde_json::from_str::<Header>(json).map_err(Reason::HeaderJson)
        });
        let header = parsed.map_err(|e| self.error(e))?;
        if header.version != FORMAT_VERSION {
            return Err(self.error(Reason::Version(header.version)));
        }
        self.header = Some(header);
        Ok(())
    }

    /// The next record, `None` at the end (see [`warning`](Self::warning) for an early end).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, TapeError> {
        let Some((line_no, line)) = self.lines.next_line() else {
            return Ok(None);
        };
        let parsed = match std::str::from_utf8(line) {
            Ok(text) => parse_record(text).map_err(Reason::Record),
            Err(e) => Err(Reason::NotUtf8(e.valid_up_to())),
        };
        parsed.map(Some).map_err(|reason| TapeError {
            path: self.path.clone(),
            line: line_no,
            reason,
        })
    }
}

/// Parses `<ns> <payload>`.
pub fn parse_record(line: &str) -> Result<Record<'_>, BadRecord> {
    let space = memchr::memchr(b' ', line.as_bytes()).ok_or(BadRecord::NoTime)?;
    let (ns, payload) = (&line[..space], &line[space + 1..]);
    let recv_ns = crate::fixed::parse_u64(ns.as_bytes())
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| BadRecord::Time(truncate(ns).to_string()))?;
    if recv_ns > crate::utc::MAX_TIME_NS {
        return Err(BadRecord::Late(recv_ns));
    }
    let body = match payload.strip_prefix('!') {
        None => Body::Frame(Cow::Borrowed(payload)),
        Some(rest) => {
            let (name, json) = rest.split_once(' ').unwrap_or((rest, "{}"));
            match name {
                "text" => Body::Frame(Cow::Owned(
                    serde_json::from_str::<String>(json).map_err(BadRecord::Text)?,
                )),
                "binary" => Body::Binary(parse_hex(json)?),
                _ => Body::Session(Session::parse_payload(name, json)?),
            }
        }
    };
    Ok(Record { recv_ns, body })
}

fn parse_hex(json: &str) -> Result<Vec<u8>, BadRecord> {
    let hex: String = serde_json::from_str(json).map_err(BadRecord::Binary)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BadRecord::NotHex);
    }
    if !hex.len().is_multiple_of(2) {
        return Err(BadRecord::OddHex);
    }
    let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
    Ok(hex
        .as_bytes()
        .chunks(2)
        .map(|p| digit(p[0]) << 4 | digit(p[1]))
        .collect())
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
