//! Scenario files: the TOML a user writes to describe one backtest, read into a run
//! configuration with errors that name the file, the key and the line.

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
    /// Capture files or `*` patterns in their last component, relative to the scenario file.
    pub captures: Vec<String>,
    /// Market rules for captures without a header [default: markets.json beside the first].
    pub markets: Option<String>,
    /// Sim time range, UTC (`2024-08-08T23:55:00Z`); the book is built from before `start`.
    pub start: Option<String>,
    pub end: Option<String>,
    #[serde(default)]
    pub seed: u64,
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
    #[serde(default)]
    pub mode: FeeMode,
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
    pub seed: u64,
    pub out: PathBuf,
    pub equity_interval_ns: i64,
    pub balances: BTreeMap<String, Decimal>,
    pub fees: FeeSchedule,
    pub latencies: Latencies,
    pub queue: QueueModel,
    pub strategy: StrategyConfig,
}

/// Line (1-based) where `section.key = …` is written, looking under `[section]` first.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let (section, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    let section = section.split('.').next().unwrap_or("");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("[{section}]"))
        .unwrap_or(0);
    let is_key = |l: &&str| {
        l.trim_start()
            .strip_prefix(leaf)
            .is_some_and(|r| r.trim_start().starts_with('='))
    };
    lines[start..]
        .iter()
        .position(is_key)
        .map(|i| start + i + 1)
        .or_else(|| lines.iter().position(is_key).map(|i| i + 1))
}

/// Line (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(path, &text)
}

/// Parses scenario text; `path` names it in errors and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, String> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| format!(" line {}:", line_of(text, s.start)))
            .unwrap_or_default();
        let msg = e.message().replace('\n', " ");
        format!("{}:{line} {msg}", path.display())
    })?;
    let err = |key: &str, why: String| match key_line(text, key) {
        Some(n) => format!("{}: line {n}: {key}: {why}", path.display()),
        None => format!("{}: {key}: {why}", path.display()),
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut captures = Vec::new();
    for c in &file.run.captures {
        let found = expand(&base.join(c)).map_err(|e| err("run.captures", e))?;
        if found.is_empty() {
            return Err(err("run.captures", format!("{c:?} matches no file")));
        }
        captures.extend(found);
    }
    if captures.is_empty() {
        return Err(err("run.captures", "no capture given".into()));
    }
    let markets = file.run.markets.as_ref().map(|m| base.join(m));
    if let Some(m) = &markets {
        if !m.is_file() {
            return Err(err("run.markets", format!("{} is not a file", m.display())));
        }
    }
    let time = |key: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_utc(s).map_err(|e| err(key, e)))
            .transpose()
    };
    let start_ns = time("run.start", &file.run.start)?;
    let end_ns = time("run.end", &file.run.end)?;
    if let (Some(s), Some(e)) = (start_ns, end_ns) {
        if e <= s {
            return Err(err("run.end", "must be after run.start".into()));
        }
    }
    if !(file.run.equity_interval_secs > 0.0 && file.run.equity_interval_secs.is_finite()) {
        return Err(err(
            "run.equity_interval_secs",
            "must be a positive number of seconds".into(),
        ));
    }
    for (c, v) in &file.balances {
        if v.is_sign_negative() {
            return Err(err(&format!("balances.{c}"), "must not be negative".into()));
        }
    }
    let fees = match &file.fees {
        None => FeeSchedule::default(),
        Some(f) => fee_schedule(f).map_err(|(k, e)| err(&k, e))?,
    };
    let ms = |key: &str, v: f64| {
        if v >= 0.0 && v.is_finite() {
            Ok((v * 1e6).round() as i64)
        } else {
            Err(err(
                key,
                format!("{v} is not a non-negative number of milliseconds"),
            ))
        }
    };
    let lat = file.latency.clone().unwrap_or_default();
    let model = |key: &str, base: f64, jitter: f64| -> Result<Latency, String> {
        let (b, j) = (ms(key, base)?, ms(key, jitter)?);
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
        entry: model("latency.entry_ms", lat.entry_ms, lat.entry_jitter_ms)?,
        response: model(
            "latency.response_ms",
            lat.response_ms,
            lat.response_jitter_ms,
        )?,
        feed_ns: ms("latency.feed_ms", lat.feed_ms)?,
    };
    let queue = match &file.queue {
        None => QueueModel::Conservative,
        Some(q) => match q.model.as_str() {
            "conservative" => QueueModel::Conservative,
            "power_prob" if (1..=3).contains(&q.n) => QueueModel::PowerProb { n: q.n },
            "power_prob" => return Err(err("queue.n", format!("{} is not 1, 2 or 3", q.n))),
            other => {
                return Err(err(
                    "queue.model",
                    format!("{other:?} is not \"conservative\" or \"power_prob\""),
                ))
            }
        },
    };
    let strategy = StrategyConfig::from_table(file.strategy.clone())
        .and_then(|s| s.check().map(|_| s))
        .map_err(|(k, e)| err(&format!("strategy.{k}"), e))?;
    Ok(Scenario {
        path: path.to_path_buf(),
        captures,
        markets,
        start_ns,
        end_ns,
        seed: file.run.seed,
        out: base.join(&file.run.out),
        equity_interval_ns: (file.run.equity_interval_secs * 1e9).round() as i64,
        balances: file.balances,
        fees,
        latencies,
        queue,
        strategy,
    })
}

fn rate(key: &str, d: Decimal) -> Result<i64, (String, String)> {
    if d.is_sign_negative() || d >= Decimal::ONE {
        return Err((key.into(), format!("{d} is not a rate between 0 and 1")));
    }
    crate::fixed::parse_str(&d.to_string(), crate::sim::fees::RATE_SCALE)
        .map_err(|e| (key.into(), format!("{d}: {e}")))
}

fn fee_schedule(f: &Fees) -> Result<FeeSchedule, (String, String)> {
    let mut s = FeeSchedule {
        default: Rates {
            maker: rate("fees.maker", f.maker)?,
            taker: rate("fees.taker", f.taker)?,
        },
        mode: f.mode,
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
        let min_volume =
            crate::fixed::parse_wide(&t.min_volume.to_string(), crate::sim::BALANCE_SCALE)
                .map_err(|e| (format!("{key}.min_volume"), e.to_string()))?;
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

/// `2024-08-08T23:55:00Z` (optionally with `.fff` and `+00:00`) → Unix ns.
pub fn parse_utc(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a UTC time like 2024-08-08T23:55:00Z");
    let body = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix("+00:00"))
        .ok_or_else(bad)?;
    let (date, time) = body.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3
        || t.len() != 3
        || !(1..=12).contains(&d[1])
        || !(1..=31).contains(&d[2])
        || t[0] > 23
        || t[1] > 59
        || t[2] > 60
    {
        return Err(bad());
    }
    let nanos: i64 = if frac.is_empty() {
        0
    } else if frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    } else {
        return Err(bad());
    };
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1_000_000_000) + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_globs() {
        assert_eq!(
            parse_utc("2024-08-08T23:54:14.206Z").unwrap(),
            1_723_161_254_206_000_000
        );
        assert_eq!(parse_utc("1970-01-01T00:00:00+00:00").unwrap(), 0);
        assert!(parse_utc("2024-13-01T00:00:00Z").is_err());
        assert!(parse_utc("yesterday").is_err());
        assert!(matches("btc*.gz", "btcusdt-1.ranger.gz"));
        assert!(!matches("btc*.gz", "eth.gz"));
        assert!(matches("*", "x"));
    }
}
