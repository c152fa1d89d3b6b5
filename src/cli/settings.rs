//! The settings each long-running command's arguments describe: files read once, flags
//! checked together, durations converted, before anything starts.

use super::{PaperArgs, RecordArgs, ServeArgs};
use std::path::Path;
use std::time::Duration;

/// Arguments that do not make settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("--{flag}: {value} is not a duration")]
    Duration { flag: &'static str, value: f64 },
    #[error("--speed: {0} must be a positive number")]
    Speed(f64),
    #[error(
        "--speed, --start-offset, --exit-at-end and --market-rules apply to --captures, not to \
         a live feed"
    )]
    CapturesOnly,
    #[error(
        "a live session needs --markets (or --all-markets); give --captures to trade on \
         recorded data"
    )]
    LiveNeedsMarkets,
    #[error("--markets or --all-markets is required")]
    MarketsRequired,
    #[error("{}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Markets(#[from] crate::venue::market::MarketsError),
    #[error(transparent)]
    Accounts(#[from] crate::paper::AccountsError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// A flag's seconds as a duration.
pub fn secs(s: f64, flag: &'static str) -> Result<Duration, SettingsError> {
    Duration::try_from_secs_f64(s).map_err(|_| SettingsError::Duration { flag, value: s })
}

fn read(p: &Path) -> Result<String, SettingsError> {
    std::fs::read_to_string(p).map_err(|source| SettingsError::Read {
        path: p.to_path_buf(),
        source,
    })
}

impl PaperArgs {
    /// The session: its feed, scenario, accounts and exchange settings. The scenario file is
    /// read once; its text goes to the journal as read.
    pub fn config(&self) -> Result<crate::paper::Config, SettingsError> {
        use crate::paper::Source;
        let source = if self.captures.is_empty() {
            if self.speed.is_some()
                || self.start_offset.is_some()
                || self.exit_at_end
                || self.market_rules.is_some()
            {
                return Err(SettingsError::CapturesOnly);
            }
            let markets = self.feed.which().ok_or(SettingsError::LiveNeedsMarkets)?;
            Source::Live {
                ws: self.feed.ws.clone(),
                rest: self.feed.rest.clone(),
                markets,
            }
        } else {
            Source::Captures {
                markets: crate::venue::market::default_markets(
                    self.market_rules.as_deref(),
                    &self.captures,
                )?,
                paths: self.captures.clone(),
                speed: self.speed.unwrap_or(1.0),
                start_offset_ns: secs(self.start_offset.unwrap_or(0.0), "start-offset")?.as_nanos()
                    as i64,
            }
        };
        let accounts = match &self.accounts {
            Some(p) => crate::paper::load_accounts(p)?,
            None => Vec::new(),
        };
        let scenario = match &self.scenario {
            Some(p) => {
                let text = read(p)?;
                let s = crate::scenario::parse_live(p, &text)?;
                Some((p, s, text))
            }
            None => None,
        };
        let (exchange, exchange_source) = match (&self.config, &scenario) {
            (Some(p), _) => {
                let text = read(p)?;
                let cfg = crate::scenario::parse_exchange(p, &text)?;
                (cfg, (p.display().to_string(), text))
            }
            (None, Some((p, s, text))) => {
                (s.exchange.clone(), (p.display().to_string(), text.clone()))
            }
            (None, None) => Default::default(),
        };
        Ok(crate::paper::Config {
            listen: self.listen,
            source,
            scenario: scenario.map(|(_, s, text)| (s, text)),
            accounts,
            exchange,
            exchange_source,
            out: self.out.clone(),
            limits: self.conns.limits(),
        })
    }
}

impl RecordArgs {
    /// The recorder's settings.
    pub fn config(self) -> Result<crate::record::Config, SettingsError> {
        let which = self.feed.which().ok_or(SettingsError::MarketsRequired)?;
        let mut cfg = crate::record::Config::new(self.out, which);
        cfg.rotate = self.rotate;
        cfg.max_bytes = Some(self.max_file_mb.max(1) << 20);
        let link = &mut cfg.link;
        link.ws = self.feed.ws;
        link.rest = self.feed.rest;
        link.depth_every = self
            .depth_every
            .map(|s| secs(s, "depth-every"))
            .transpose()?;
        link.ping_every = secs(self.ping_secs, "ping-secs")?;
        link.silence = secs(self.silence_secs, "silence-secs")?;
        link.backoff_max = secs(self.max_backoff_secs, "max-backoff-secs")?;
        link.progress = !self.quiet;
        Ok(cfg)
    }
}

impl ServeArgs {
    /// The server's settings.
    pub fn config(&self) -> Result<crate::serve::Config, SettingsError> {
        use crate::serve::{Config, Faults, Pace};
        let rules = crate::venue::market::default_markets(self.markets.as_deref(), &self.captures)?;
        let mut cfg = Config::new(self.captures.clone(), rules);
        cfg.listen = self.listen;
        if !(self.speed > 0.0 && self.speed.is_finite()) {
            return Err(SettingsError::Speed(self.speed));
        }
        cfg.pace = if self.max_speed {
            Pace::Max
        } else {
            Pace::Recorded { speed: self.speed }
        };
        cfg.looping = self.looping;
        cfg.start_offset_ns = secs(self.start_offset, "start-offset")?.as_nanos() as i64;
        cfg.wait_clients = self.wait_clients;
        cfg.ping = secs(self.ping_secs, "ping-secs")?;
        cfg.timeout = secs(self.timeout_secs, "timeout-secs")?;
        cfg.limits = self.conns.limits();
        cfg.faults = Faults {
            drop_after_frames: self.drop_every_frames,
            drop_after: self
                .drop_every_secs
                .map(|s| secs(s, "drop-every-secs"))
                .transpose()?,
            skip_seq_every: self.skip_seq_every,
            restart_seq_every: self.restart_seq_every,
            malformed_every: self.malformed_every,
            stall_every: self.stall_every,
            stall_for: self.stall_secs.map(|s| secs(s, "stall-secs")).transpose()?,
        };
        Ok(cfg)
    }
}
