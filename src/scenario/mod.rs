//! Scenario files: the TOML a user writes to describe one backtest, read into a run
//! configuration with errors that name the file, the key and the line.

pub use crate::config::ConfigError;

use crate::sim::{FeeMode, FeeSchedule, Latencies, Latency, QueueModel, Rates, Tier};
use crate::strategy::StrategyConfig;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[run]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// Capture files or `*` patterns in their last component, relative to the scenario file
    /// (not read when the scenario trades live).
    #[serde(default)]
    pub captures: Vec<String>,
    /// Market rules for captures without a header [default: markets.json beside the first].
    pub markets: Option<String>,
    /// Sim time range, UTC (`2024-08-08T23:55:00Z`); the book is built from before `start`.
    pub start: Option<String>,
    pub end: Option<String>,
    #[serde(default)]
    pub seed: i64,
    /// Result folder, relative to the scenario file.
    pub out: String,
    /// Seconds between rows of `equity.csv`.
    #[serde(default = "one")]
    pub equity_interval_secs: f64,
}

fn one() -> f64 {
    1.0
}

/// `[fees]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    #[serde(default = "quarter_pct")]
    pub maker: Decimal,
    #[serde(default = "quarter_pct")]
    pub taker: Decimal,
    /// `received` (Peatio) or `quote` (Hummingbot's paper trade).
    #[serde(default)]
    pub mode: Option<toml::Value>,
    /// Per-market rates.
    #[serde(default)]
    pub markets: BTreeMap<String, RatePair>,
    /// 30-day volume tiers (volume in quote).
    #[serde(default)]
    pub tiers: Vec<TierSpec>,
}

fn quarter_pct() -> Decimal {
    Decimal::new(25, 4)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePair {
    pub maker: Decimal,
    pub taker: Decimal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    pub min_volume: Decimal,
    pub maker: Decimal,
    pub taker: Decimal,
}

/// `[latency]`, in milliseconds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    #[serde(default)]
    pub entry_ms: f64,
    /// Entry latency is uniform in `entry_ms ..= entry_ms + entry_jitter_ms`.
    #[serde(default)]
    pub entry_jitter_ms: f64,
    #[serde(default)]
    pub response_ms: f64,
    #[serde(default)]
    pub response_jitter_ms: f64,
    #[serde(default)]
    pub feed_ms: f64,
}

/// `[queue]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    pub model: String,
    #[serde(default = "two")]
    pub n: u32,
}

fn two() -> u32 {
    2
}

/// `[report]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// Horizons of the fills' markouts, in seconds.
    #[serde(default = "default_markouts")]
    pub markout_secs: Vec<f64>,
}

/// The markout horizons of a scenario that names none, seconds.
pub const DEFAULT_MARKOUT_SECS: [f64; 7] = [0.0, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0];

fn default_markouts() -> Vec<f64> {
    DEFAULT_MARKOUT_SECS.to_vec()
}

/// Most markout horizons a scenario may ask for.
pub const MAX_MARKOUTS: usize = 32;
/// Longest markout horizon, in seconds: one day.
pub const MAX_MARKOUT_SECS: f64 = 86_400.0;

/// The markout horizons in ns: each from 0 to a day, in ascending order, at most
/// [`MAX_MARKOUTS`] of them, each a whole number of milliseconds.
fn markout_horizons(secs: &[f64]) -> Result<Vec<i64>, String> {
    if secs.len() > MAX_MARKOUTS {
        return Err(format!(
            "{} horizons is more than {MAX_MARKOUTS}",
            secs.len()
        ));
    }
    let mut out: Vec<i64> = Vec::with_capacity(secs.len());
    for &s in secs {
        if !(0.0..=MAX_MARKOUT_SECS).contains(&s) {
            return Err(format!(
                "{s:?} is not a number of seconds from 0 to {MAX_MARKOUT_SECS} (a day)"
            ));
        }
        let ms = s * 1e3;
        if ms.fract() != 0.0 {
            return Err(format!("{s:?} is not a whole number of milliseconds"));
        }
        let ns = ms as i64 * 1_000_000;
        if out.last().is_some_and(|&l| l >= ns) {
            return Err("horizons must be in ascending order, each once".into());
        }
        out.push(ns);
    }
    Ok(out)
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub run: Run,
    /// Initial balances by currency.
    pub balances: BTreeMap<String, Decimal>,
    pub fees: Option<Fees>,
    pub latency: Option<LatencySpec>,
    pub queue: Option<QueueSpec>,
    pub report: Option<ReportSpec>,
    pub strategy: toml::Table,
}

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub captures: Vec<PathBuf>,
    pub markets: Option<PathBuf>,
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
    pub out: PathBuf,
    pub equity_interval_ns: i64,
    pub balances: BTreeMap<String, Decimal>,
    /// Fees, latency, queue model and seed: how the paper exchange behaves.
    pub exchange: ExchangeConfig,
    pub strategy: StrategyConfig,
    /// Markout horizons, ns, ascending.
    pub markouts_ns: Vec<i64>,
}

pub use crate::bounds::MAX_BALANCE;
/// Largest latency, in milliseconds: one day.
pub const MAX_LATENCY_MS: f64 = 86_400_000.0;
/// Shortest interval between rows of `equity.csv`, in seconds.
pub const MIN_EQUITY_INTERVAL_SECS: f64 = 0.001;

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::at_line(path, None, e.to_string()))?;
    parse(path, &text)
}

/// Parses scenario text; `path` names it in errors and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ConfigError> {
    parse_with(path, text, true)
}

/// Reads a scenario to run against a live feed: everything but its captures, which are not
/// read (they need not exist).
pub fn load_live(path: &Path) -> Result<Scenario, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::at_line(path, None, e.to_string()))?;
    parse_with(path, &text, false)
}

/// Parses scenario text to run against a live feed; see [`load_live`].
pub fn parse_live(path: &Path, text: &str) -> Result<Scenario, ConfigError> {
    parse_with(path, text, false)
}

fn parse_with(path: &Path, text: &str, read_captures: bool) -> Result<Scenario, ConfigError> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let err = |key: &str, why: String| ConfigError::at_key(path, text, key, why);
    let base = path.parent().unwrap_or(Path::new("."));
    let mut captures = Vec::new();
    for c in file.run.captures.iter().filter(|_| read_captures) {
        let found = expand(&base.join(c)).map_err(|e| err("run.captures", e))?;
        if found.is_empty() {
            return Err(err("run.captures", format!("{c:?} matches no file")));
        }
        captures.extend(found);
    }
    if captures.is_empty() && read_captures {
        return Err(err("run.captures", "no capture given".into()));
    }
    let markets = file
        .run
        .markets
        .as_ref()
        .filter(|_| read_captures)
        .map(|m| base.join(m));
    if let Some(m) = &markets {
        if !m.is_file() {
            return Err(err("run.markets", format!("{} is not a file", m.display())));
        }
    }
    let time = |key: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| crate::utc::parse_utc(s).map_err(|e| err(key, e.to_string())))
            .transpose()
    };
    let start_ns = time("run.start", &file.run.start)?;
    let end_ns = time("run.end", &file.run.end)?;
    if let (Some(s), Some(e)) = (start_ns, end_ns) {
        if e <= s {
            return Err(err("run.end", "must be after run.start".into()));
        }
    }
    let interval = file.run.equity_interval_secs;
    let equity_interval_ns = crate::utc::secs_ns(interval)
        .ok()
        .filter(|_| interval >= MIN_EQUITY_INTERVAL_SECS)
        .ok_or_else(|| {
            err(
                "run.equity_interval_secs",
                format!(
                    "{interval:?} is not a number of seconds from {MIN_EQUITY_INTERVAL_SECS} to {}",
                    crate::utc::MAX_SECS
                ),
            )
        })?;
    let seed = seed(file.run.seed).map_err(|e| err("run.seed", e))?;
    for (c, v) in &file.balances {
        crate::bounds::balance(*v).map_err(|e| err(&format!("balances.{c}"), e.to_string()))?;
    }
    let (fees, latencies, queue) = exchange_tables(&file.fees, &file.latency, &file.queue, &err)?;
    let mut strategy = StrategyConfig::from_table(file.strategy.clone())
        .and_then(|s| s.check().map(|_| s))
        .map_err(|(k, e)| err(&format!("strategy.{k}"), e))?;
    if let StrategyConfig::Scripted(c) = &mut strategy {
        c.load_csv(base)?;
    }
    let markouts_ns = match &file.report {
        Some(r) => markout_horizons(&r.markout_secs).map_err(|e| err("report.markout_secs", e))?,
        None => markout_horizons(&default_markouts()).expect("the default horizons are valid"),
    };
    Ok(Scenario {
        path: path.to_path_buf(),
        captures,
        markets,
        start_ns,
        end_ns,
        out: base.join(&file.run.out),
        equity_interval_ns,
        balances: file.balances,
        exchange: ExchangeConfig {
            fees,
            latencies,
            queue,
            seed,
        },
        strategy,
        markouts_ns,
    })
}

/// Makes the paths a scenario table names (`run.captures`, `run.markets`, `strategy.csv`)
/// absolute against `base`, the scenario file's folder, so the table can be written anywhere.
pub fn absolute_paths(t: &mut toml::Table, base: &Path) -> std::io::Result<()> {
    // The folder of a bare file name (`sweep.toml`) is the empty path: the current one.
    let base = if base.as_os_str().is_empty() {
        std::env::current_dir()?
    } else {
        std::path::absolute(base)?
    };
    let abs = |v: &mut toml::Value| {
        if let Some(s) = v.as_str() {
            *v = toml::Value::String(base.join(s).display().to_string());
        }
    };
    if let Some(run) = t.get_mut("run").and_then(|v| v.as_table_mut()) {
        if let Some(list) = run.get_mut("captures").and_then(|v| v.as_array_mut()) {
            list.iter_mut().for_each(abs);
        }
        if let Some(m) = run.get_mut("markets") {
            abs(m);
        }
    }
    if let Some(csv) = t
        .get_mut("strategy")
        .and_then(|v| v.as_table_mut())
        .and_then(|st| st.get_mut("csv"))
    {
        abs(csv);
    }
    Ok(())
}

/// `[fees]`, `[latency]` and `[queue]` checked, with errors made by `err(key, reason)`.
fn exchange_tables(
    fees: &Option<Fees>,
    latency: &Option<LatencySpec>,
    queue: &Option<QueueSpec>,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(FeeSchedule, Latencies, QueueModel), ConfigError> {
    let fees = match fees {
        None => FeeSchedule::default(),
        Some(f) => fee_schedule(f).map_err(|(k, e)| err(&k, e))?,
    };
    let ms = |key: &str, v: f64| {
        if (0.0..=MAX_LATENCY_MS).contains(&v) {
            Ok((v * 1e6).round() as i64)
        } else {
            Err(err(
                key,
                format!("{v:?} is not a number of milliseconds from 0 to {MAX_LATENCY_MS} (a day)"),
            ))
        }
    };
    let lat = latency.clone().unwrap_or_default();
    let model = |key: &str, base: f64, jitter: f64| -> Result<Latency, ConfigError> {
        let b = ms(&format!("latency.{key}_ms"), base)?;
        let j = ms(&format!("latency.{key}_jitter_ms"), jitter)?;
        Ok(if j == 0 {
            Latency::Constant { ns: b }
        } else {
            Latency::Uniform {
                min_ns: b,
                max_ns: b + j,
            }
        })
    };
    let latencies = Latencies {
        entry: model("entry", lat.entry_ms, lat.entry_jitter_ms)?,
        response: model("response", lat.response_ms, lat.response_jitter_ms)?,
        feed_ns: ms("latency.feed_ms", lat.feed_ms)?,
    };
    let queue = match queue {
        None => QueueModel::Conservative,
        Some(q) => match q.model.as_str() {
            "conservative" => QueueModel::Conservative,
            "power_prob" if (1..=3).contains(&q.n) => QueueModel::PowerProb { n: q.n },
            "power_prob" => return Err(err("queue.n", format!("{} is not from 1 to 3", q.n))),
            other => {
                return Err(err(
                    "queue.model",
                    format!("{other:?} is not \"conservative\" or \"power_prob\""),
                ))
            }
        },
    };
    Ok((fees, latencies, queue))
}

pub use crate::sim::ExchangeConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeFile {
    #[serde(default)]
    seed: i64,
    fees: Option<Fees>,
    latency: Option<LatencySpec>,
    queue: Option<QueueSpec>,
}

/// Parses an exchange configuration (see [`ExchangeConfig`]); `path` names it in errors.
pub fn parse_exchange(path: &Path, text: &str) -> Result<ExchangeConfig, ConfigError> {
    // A scenario has a `[run]` table, however it is written (`[run] # note`, `run = {…}`).
    let is_scenario = toml::from_str::<toml::Table>(text).is_ok_and(|t| t.contains_key("run"));
    if is_scenario {
        return Ok(parse(path, text)?.exchange);
    }
    let file: ExchangeFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let err = |key: &str, why: String| ConfigError::at_key(path, text, key, why);
    let (fees, latencies, queue) = exchange_tables(&file.fees, &file.latency, &file.queue, &err)?;
    let seed = seed(file.seed).map_err(|e| err("seed", e))?;
    Ok(ExchangeConfig {
        fees,
        latencies,
        queue,
        seed,
    })
}

/// A seed as written (TOML integers are signed): from 0 up.
fn seed(v: i64) -> Result<u64, String> {
    u64::try_from(v).map_err(|_| format!("{v} is not from 0 to {}", i64::MAX))
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let line = e.span().map(|s| crate::config::line_of(text, s.start));
    let msg = e.message().replace('\n', " ");
    let key = line.and_then(|n| crate::config::key_at_line(text, n));
    ConfigError {
        file: path.to_path_buf(),
        line,
        key: key.unwrap_or_default(),
        reason: msg,
    }
}

fn rate(key: &str, d: Decimal) -> Result<i64, (String, String)> {
    crate::bounds::rate(d).map_err(crate::config::keyed(key))?;
    crate::value::Rate::from_decimal(d)
        .map(crate::value::Rate::millionths)
        .map_err(|e| (key.into(), format!("{d}: {e}")))
}

fn fee_schedule(f: &Fees) -> Result<FeeSchedule, (String, String)> {
    let mut s = FeeSchedule {
        default: Rates {
            maker: rate("fees.maker", f.maker)?,
            taker: rate("fees.taker", f.taker)?,
        },
        mode: match &f.mode {
            None => FeeMode::Received,
            Some(toml::Value::String(m)) if m == "received" => FeeMode::Received,
            Some(toml::Value::String(m)) if m == "quote" => FeeMode::Quote,
            Some(other) => {
                let got = match other {
                    toml::Value::String(s) => format!("{s:?}"),
                    v => v.type_str().to_string(),
                };
                return Err((
                    "fees.mode".into(),
                    format!("{got} is not \"received\" or \"quote\""),
                ));
            }
        },
        ..FeeSchedule::default()
    };
    for (m, r) in &f.markets {
        let rates = Rates {
            maker: rate(&format!("fees.markets.{m}.maker"), r.maker)?,
            taker: rate(&format!("fees.markets.{m}.taker"), r.taker)?,
        };
        s.markets.insert(m.clone(), rates);
    }
    for (i, t) in f.tiers.iter().enumerate() {
        let key = format!("fees.tiers[{i}]");
        crate::bounds::from_to(t.min_volume, Decimal::ZERO, Decimal::from(MAX_BALANCE), "")
            .map_err(crate::config::keyed(&format!("{key}.min_volume")))?;
        let min_volume = crate::value::Funds::from_decimal(t.min_volume, crate::sim::BALANCE_SCALE)
            .map_err(|e| (format!("{key}.min_volume"), e.to_string()))?
            .raw();
        s.tiers.push(Tier {
            min_volume,
            rates: Rates {
                maker: rate(&format!("{key}.maker"), t.maker)?,
                taker: rate(&format!("{key}.taker"), t.taker)?,
            },
        });
    }
    s.tiers.sort_by_key(|t| t.min_volume);
    Ok(s)
}

/// A path, or the files matching a `*` pattern in its last component, sorted.
fn expand(p: &Path) -> Result<Vec<PathBuf>, String> {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !name.contains('*') {
        return Ok(if p.is_file() {
            vec![p.to_path_buf()]
        } else {
            Vec::new()
        });
    }
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|n| matches(name, n)))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    Ok(out)
}

/// `*` matches any run of characters.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && matches(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(matches("btc*.gz", "btcusdt-1.ranger.gz"));
        assert!(!matches("btc*.gz", "eth.gz"));
        assert!(matches("*", "x"));
    }

    #[test]
    fn a_scenario_is_told_by_its_run_table_however_written() {
        let text = std::fs::read_to_string("scenarios/mm-tight.toml")
            .unwrap()
            .replace("\n[run]\n", "\n[run] # where and when\n");
        assert!(text.contains("[run] # where"));
        let cfg = parse_exchange(Path::new("scenarios/x.toml"), &text).unwrap();
        assert_eq!(cfg.seed, 7);
        // A plain exchange file still reads as one.
        let cfg = parse_exchange(Path::new("x.toml"), "seed = 3\n[fees]\nmaker = 0.001\n").unwrap();
        assert_eq!(cfg.seed, 3);
    }
}
