//! Writing captures, plain or compressed, with explicit flushes so that a crash loses at most
//! what was written since the last one.

use super::format::{frame_payload, Header, Session};
use super::reader::Compression;
use std::io::{self, Write};

enum Sink<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

/// Writes one capture file.
pub struct CaptureWriter<W: Write> {
    sink: Sink<W>,
    line: String,
    bytes_in: u64,
}

impl<W: Write> CaptureWriter<W> {
    /// Starts a file, writing `header` first when given.
    pub fn new(inner: W, compression: Compression, header: Option<&Header>) -> io::Result<Self> {
        let sink = match compression {
            Compression::None => Sink::Plain(inner),
            Compression::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::fast(),
            )),
            Compression::Zstd => Sink::Zstd(zstd::stream::write::Encoder::new(inner, 3)?),
        };
        let mut w = CaptureWriter {
            sink,
            line: String::with_capacity(4096),
            bytes_in: 0,
        };
        if let Some(h) = header {
            w.write_line(&h.to_line())?;
        }
        Ok(w)
    }

    fn write_line(&mut self, line: &str) -> io::Result<()> {
        self.bytes_in += line.len() as u64;
        let b = line.as_bytes();
        match &mut self.sink {
            Sink::Plain(w) => w.write_all(b),
            Sink::Gzip(w) => w.write_all(b),
            Sink::Zstd(w) => w.write_all(b),
        }
    }

    /// Writes a received frame verbatim.
    pub fn write_frame(&mut self, recv_ns: i64, frame: &[u8]) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.push_str(&recv_ns.to_string());
        line.push(' ');
        match std::str::from_utf8(frame) {
            Ok(t) if !t.starts_with('!') && !t.contains(['\n', '\r']) => line.push_str(t),
            _ => line.push_str(&frame_payload(frame)),
        }
        line.push('\n');
        let r = self.write_line(&line);
        self.line = line;
        r
    }

    /// Writes a session record.
    pub fn write_session(&mut self, recv_ns: i64, s: &Session) -> io::Result<()> {
        self.write_line(&format!("{recv_ns} {}\n", s.to_payload()))
    }

    /// Uncompressed bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_in
    }

    /// Pushes everything written so far to the file as complete, readable data.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }

    /// Ends the file properly and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        let mut inner = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
            Sink::Zstd(w) => w.finish()?,
        };
        inner.flush()?;
        Ok(inner)
    }
}
