//! A small pull scanner over JSON bytes, for the hot frames: it borrows strings and numbers
//! from the input instead of building a tree.

use std::borrow::Cow;

/// Where and why a frame failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset in the frame.
    pub at: usize,
    /// What was expected.
    pub what: &'static str,
}

pub type ScanResult<T> = Result<T, ScanError>;

/// A JSON scalar as it appears in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar<'a> {
    Str(Cow<'a, str>),
    /// A number, as written.
    Num(&'a str),
    Bool(bool),
    Null,
}

impl<'a> Scalar<'a> {
    /// The text of a string or number (exchanges send both for amounts).
    pub fn text(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            Scalar::Num(n) => Some(n),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct Scanner<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(src: &'a str) -> Self {
        Scanner { src, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn err<T>(&self, what: &'static str) -> ScanResult<T> {
        Err(ScanError { at: self.pos, what })
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    #[inline]
    pub fn skip_ws(&mut self) {
        let b = self.bytes();
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    /// The next non-blank byte, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes().get(self.pos).copied()
    }

    #[inline]
    pub fn expect(&mut self, c: u8, what: &'static str) -> ScanResult<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(what)
        }
    }

    /// Consumes `c` if it is next.
    #[inline]
    pub fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// After a value inside a container: `,` (true) or the closing `close` (false).
    #[inline]
    pub fn next_item(&mut self, close: u8) -> ScanResult<bool> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => self.err("',' or closing bracket"),
        }
    }

    /// Ensures only blanks remain.
    pub fn end(&mut self) -> ScanResult<()> {
        if self.peek().is_none() {
            Ok(())
        } else {
            self.err("end of frame")
        }
    }

    /// A string, borrowed when it has no escapes.
    #[inline]
    pub fn string(&mut self) -> ScanResult<Cow<'a, str>> {
        self.expect(b'"', "a string")?;
        let start = self.pos;
        let b = self.bytes();
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&self.src[start..i]));
                }
                b'\\' => return self.string_escaped(start),
                0..=0x1f => {
                    self.pos = i;
                    return self.err("no control character in a string");
                }
                _ => i += 1,
            }
        }
        self.pos = i;
        self.err("a closing quote")
    }

    fn string_escaped(&mut self, start: usize) -> ScanResult<Cow<'a, str>> {
        // Find the end of the string, then let serde_json decode the escapes.
        let b = self.bytes();
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => {
                    let quoted = &self.src[start - 1..=i];
                    self.pos = i + 1;
                    return serde_json::from_str::<String>(quoted)
                        .map(Cow::Owned)
                        .or_else(|_| self.err("a valid string escape"));
                }
                _ => i += 1,
            }
        }
        self.pos = b.len();
        self.err("a closing quote")
    }

    /// A number's text.
    #[inline]
    pub fn number(&mut self) -> ScanResult<&'a str> {
        self.skip_ws();
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            i += 1;
        }
        if i == start {
            return self.err("a number");
        }
        self.pos = i;
        Ok(&self.src[start..i])
    }

    /// An unsigned integer.
    #[inline]
    pub fn uint(&mut self) -> ScanResult<u64> {
        let at = self.pos;
        let n = self.number()?;
        n.parse().map_err(|_| ScanError {
            at,
            what: "an unsigned integer",
        })
    }

    /// A signed integer.
    pub fn int(&mut self) -> ScanResult<i64> {
        let at = self.pos;
        let n = self.number()?;
        n.parse().map_err(|_| ScanError {
            at,
            what: "an integer",
        })
    }

    fn literal(&mut self, word: &'static str) -> ScanResult<()> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.err(word)
        }
    }

    /// A string, number, boolean or null.
    pub fn scalar(&mut self) -> ScanResult<Scalar<'a>> {
        match self.peek() {
            Some(b'"') => self.string().map(Scalar::Str),
            Some(b't') => self.literal("true").map(|_| Scalar::Bool(true)),
            Some(b'f') => self.literal("false").map(|_| Scalar::Bool(false)),
            Some(b'n') => self.literal("null").map(|_| Scalar::Null),
            _ => self.number().map(Scalar::Num),
        }
    }

    /// Skips one value of any kind and returns its text.
    pub fn raw_value(&mut self) -> ScanResult<&'a str> {
        self.skip_ws();
        let start = self.pos;
        self.skip_value(0)?;
        Ok(&self.src[start..self.pos])
    }

    fn skip_value(&mut self, depth: u32) -> ScanResult<()> {
        if depth > 64 {
            return self.err("nesting no deeper than 64");
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                if self.eat(b'}') {
                    return Ok(());
                }
                loop {
                    self.string()?;
                    self.expect(b':', "':'")?;
                    self.skip_value(depth + 1)?;
                    if !self.next_item(b'}')? {
                        return Ok(());
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                if self.eat(b']') {
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if !self.next_item(b']')? {
                        return Ok(());
                    }
                }
            }
            _ => self.scalar().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_values() {
        let mut s = Scanner::new(r#" {"a" : ["1.5", 2, true, null, {"b":"x\"y"}]} "#);
        assert_eq!(s.raw_value().unwrap().len(), 44);
        s.end().unwrap();
        let mut s = Scanner::new(r#""x\"y""#);
        assert_eq!(s.string().unwrap(), "x\"y");
        let mut s = Scanner::new(r#""open"#);
        assert!(s.string().is_err());
        let mut s = Scanner::new("[1,");
        assert!(s.raw_value().is_err());
    }
}
