//! Writing to the terminal without letting it stop the work.
//!
//! Log and status lines go to stderr and never fail: a closed or full stderr must not stop a
//! recorder or a server. Results go to stdout through [`out`], whose errors the caller sees,
//! so a command piped into `head` can stop quietly.

use std::fmt;
use std::io::{self, Write};

/// Writes a log line to stderr, ignoring any error.
pub fn log(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args);
    let _ = err.write_all(b"\n");
}

/// Writes to stderr without a newline (a status line being redrawn), ignoring any error.
pub fn status(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args);
    let _ = err.flush();
}

/// A status line redrawn in place on a terminal; nothing when stderr is not one.
pub struct Status {
    terminal: bool,
    shown: bool,
}

impl Status {
    pub fn new() -> Self {
        use std::io::IsTerminal;
        Status {
            terminal: io::stderr().is_terminal(),
            shown: false,
        }
    }

    /// Replaces the line with `line`.
    pub fn show(&mut self, line: &str) {
        if self.terminal {
            status(format_args!("\r\x1b[2K{line}"));
            self.shown = true;
        }
    }

    /// Clears the line, so that log lines start on a clean one.
    pub fn clear(&mut self) {
        if self.shown {
            status(format_args!("\r\x1b[2K"));
            self.shown = false;
        }
    }
}

impl Default for Status {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes results to stdout and flushes them.
pub fn out(text: &str) -> io::Result<()> {
    let mut o = io::stdout().lock();
    o.write_all(text.as_bytes())?;
    o.flush()
}

/// `eprintln!` that cannot panic.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => { $crate::console::log(format_args!($($arg)*)) };
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Rows of cells as columns padded to their widest cell.
pub fn aligned(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A path as a user would type it: `dir/../x` becomes `x` and `./x` becomes `x`, where that
/// names the same file (a `..` after a symbolic link is kept, since it leaves the link's
/// target, not its folder).
pub fn shown(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::{Component, PathBuf};
    let mut out = PathBuf::new();
    // Components of `out` that may be taken back by a `..`.
    let mut normal = 0usize;
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if normal > 0 && !std::fs::symlink_metadata(&out).is_ok_and(|m| m.is_symlink()) =>
            {
                out.pop();
                normal -= 1;
            }
            Component::Normal(_) => {
                out.push(c);
                normal += 1;
            }
            _ => {
                out.push(c);
                normal = 0;
            }
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::shown;
    use std::path::Path;

    #[test]
    fn paths_are_shown_as_typed() {
        for (given, want) in [
            ("scenarios/../results/mm-tight", "results/mm-tight"),
            ("./results/./x", "results/x"),
            ("../a/b/../c", "../a/c"),
            ("a/..", "."),
            ("/tmp/../x", "/x"),
            ("results", "results"),
        ] {
            assert_eq!(shown(Path::new(given)), Path::new(want), "{given}");
        }
    }
}
