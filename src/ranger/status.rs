//! What the recorder shows while it runs: a status line on a terminal, log lines otherwise.

use super::Summary;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Status {
    enabled: bool,
    terminal: bool,
    last: Instant,
    last_frames: BTreeMap<String, u64>,
    last_log: Instant,
}

impl Status {
    pub fn new(enabled: bool) -> Self {
        Status {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            last: Instant::now(),
            last_frames: BTreeMap::new(),
            last_log: Instant::now(),
        }
    }

    /// A notable event (connect, gap, …), as a log line.
    pub fn note(&self, now_ns: i64, what: &str) {
        if !self.enabled {
            return;
        }
        let clear = if self.terminal { "\r\x1b[2K" } else { "" };
        crate::log!("{clear}{} {what}", crate::utc::utc(now_ns));
    }

    /// Called about once a second.
    pub fn tick(&mut self, now_ns: i64, s: &Summary, file_bytes: u64) {
        if !self.enabled {
            return;
        }
        let secs = self.last.elapsed().as_secs_f64().max(1e-3);
        let rates: Vec<String> = s
            .frames
            .iter()
            .filter(|(m, _)| m.as_str() != "-")
            .map(|(m, n)| {
                let before = self.last_frames.get(m).copied().unwrap_or(0);
                format!("{m} {:.0}/s", (n - before) as f64 / secs)
            })
            .collect();
        self.last = Instant::now();
        self.last_frames = s.frames.clone();
        let line = format!(
            "{} | gaps {} | reconnects {} | file {:.1} MB | total {:.1} MB",
            rates.join(", "),
            s.gaps,
            s.reconnects,
            file_bytes as f64 / 1e6,
            s.bytes as f64 / 1e6
        );
        if self.terminal {
            crate::console::status(format_args!("\r\x1b[2K{line}"));
        } else if self.last_log.elapsed() >= Duration::from_secs(60) {
            self.last_log = Instant::now();
            crate::log!("{} {line}", crate::utc::utc(now_ns));
        }
    }

    pub fn finish(&self) {
        if self.enabled && self.terminal {
            crate::log!("");
        }
    }
}
