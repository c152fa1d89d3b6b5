//! Errors in configuration files (scenarios, the CSV files they name, accounts) that name the
//! file, the line and the key. Below the strategies, which read their own files.

use std::path::{Path, PathBuf};

/// A bad value in a scenario (or a file it names): where it is and why it is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}{} {reason}", file.display(), line.map(|n| format!(" line {n}:")).unwrap_or_default(), if key.is_empty() { String::new() } else { format!(" {key}:") })]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based, when the key could be found in the text.
    pub line: Option<usize>,
    /// Dotted path of the key (`latency.entry_ms`, `strategy.orders[2].at_secs`).
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    /// An error about `key`, located in `text`.
    pub fn at_key(file: &Path, text: &str, key: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: key_line(text, key),
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    /// An error about the file as a whole, or at a known line.
    pub fn at_line(file: &Path, line: Option<usize>, reason: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line,
            key: String::new(),
            reason: reason.into(),
        }
    }
}

/// A refusal at `key`, as configuration checks hand it up (the key and why), for `map_err`.
pub fn keyed<E: std::fmt::Display>(key: &str) -> impl FnOnce(E) -> (String, String) + '_ {
    move |e| (key.to_string(), e.to_string())
}

/// The table a header line opens: `[fees]` → `fees`, `[[strategy.orders]]` → `strategy.orders`.
fn header(line: &str) -> Option<&str> {
    let l = line.trim();
    let l = l.split('#').next().unwrap_or(l).trim();
    l.strip_prefix("[[")
        .and_then(|r| r.strip_suffix("]]"))
        .or_else(|| l.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
        .map(str::trim)
}

/// The key written on a `key = value` line, if any.
fn key_of(line: &str) -> Option<&str> {
    let (k, _) = line.split_once('=')?;
    let k = k.trim().trim_matches('"');
    (!k.is_empty() && !k.starts_with('#') && !k.contains(['{', '[', ' '])).then_some(k)
}

/// Line (1-based) where a dotted key is written. `a.b[i].c` looks under the i-th `[[a.b]]`.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    let (table, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let (table, index) = match table.split_once('[') {
        Some((t, rest)) => (t, rest.trim_end_matches(']').parse::<usize>().ok()),
        None => (table, None),
    };
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    let lines: Vec<&str> = text.lines().collect();
    // Where the table starts: its header (the index-th for arrays of tables), else the top.
    let mut seen = 0;
    let start = lines.iter().position(|l| {
        header(l) == Some(table) && {
            seen += 1;
            index.is_none_or(|i| seen == i + 1)
        }
    });
    let found = |from: usize| {
        lines[from..]
            .iter()
            .enumerate()
            .take_while(|(i, l)| *i == 0 || header(l).is_none())
            .find(|(_, l)| key_of(l) == Some(leaf))
            .map(|(i, _)| from + i + 1)
    };
    match start {
        Some(s) => found(s).or(Some(s + 1)),
        None if table.is_empty() => found(0),
        None => {
            // An inline or dotted table: the first line that writes the leaf.
            let dotted = format!("{table}.{leaf}");
            lines
                .iter()
                .position(|l| key_of(l) == Some(leaf) || key_of(l) == Some(dotted.as_str()))
                .map(|i| i + 1)
        }
    }
}

/// The dotted key written at a 1-based line: the key before `=` under the nearest header.
pub fn key_at_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let leaf = key_of(lines.get(line.checked_sub(1)?)?)?;
    let table = lines[..line - 1].iter().rev().find_map(|l| header(l));
    Some(match table {
        Some(t) => format!("{t}.{leaf}"),
        None => leaf.to_string(),
    })
}

/// Line (1-based) of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[run]\nseed = 7\n\n[strategy]\nkind = \"scripted\"\n\
                        [[strategy.orders]]\nat_secs = 1\n[[strategy.orders]]\nat_secs = 2\n";

    #[test]
    fn keys_and_lines() {
        assert_eq!(key_line(TEXT, "run.seed"), Some(2));
        assert_eq!(key_line(TEXT, "strategy.kind"), Some(5));
        assert_eq!(key_line(TEXT, "strategy.orders[1].at_secs"), Some(9));
        assert_eq!(key_line(TEXT, "strategy.orders[0].at_secs"), Some(7));
        assert_eq!(key_at_line(TEXT, 2).as_deref(), Some("run.seed"));
        assert_eq!(
            key_at_line(TEXT, 9).as_deref(),
            Some("strategy.orders.at_secs")
        );
        let e = ConfigError::at_key(Path::new("s.toml"), TEXT, "run.seed", "bad");
        assert_eq!(e.to_string(), "s.toml: line 2: run.seed: bad");
    }
}
