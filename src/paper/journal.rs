//! A paper session's folder: the journal (every record the engine applied, in the capture
//! format), the session file (accounts without secrets, the exchange configuration), and the
//! results (the private streams as delivered, and the final orders, fills and balances).
//! Replaying the journal through a fresh engine writes the same results, byte for byte.

use super::engine::{AccountSpec, Engine, Output};
use super::error::{at, PaperError};
use crate::scenario::ExchangeConfig;
use crate::tape::reader::{CaptureReader, Record};
use crate::tape::{Compression, Header};
use crate::venue::MarketRules;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The journal's file name in a session folder.
pub const JOURNAL: &str = "journal.ranger";
/// The session file's name.
pub const SESSION: &str = "session.json";

/// `session.json`: what a replay needs besides the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    pub version: u32,
    /// Where the feed came from.
    pub source: String,
    pub accounts: Vec<AccountSpec>,
    /// The exchange configuration's file name and text (empty for the defaults).
    pub config_name: String,
    pub config: String,
}

impl SessionFile {
    pub fn exchange(&self) -> Result<ExchangeConfig, crate::config::ConfigError> {
        if self.config.is_empty() {
            return Ok(ExchangeConfig::default());
        }
        crate::scenario::parse_exchange(Path::new(&self.config_name), &self.config)
    }
}

/// The journal being written.
pub struct Journal {
    w: crate::tape::CaptureWriter<BufWriter<File>>,
    path: PathBuf,
}

impl Journal {
    /// Creates the session folder's journal and session file.
    pub fn create(
        dir: &Path,
        rules: &[MarketRules],
        session: &SessionFile,
        started_ns: i64,
    ) -> Result<Journal, PaperError> {
        std::fs::create_dir_all(dir).map_err(at(dir))?;
        let s = serde_json::to_string_pretty(session).expect("session serializes");
        let sp = dir.join(SESSION);
        std::fs::write(&sp, s + "\n").map_err(at(&sp))?;
        let path = dir.join(JOURNAL);
        let f = File::create(&path).map_err(at(&path))?;
        let header = Header {
            version: crate::tape::format::FORMAT_VERSION,
            venue: "altmarkets".into(),
            source: session.source.clone(),
            markets: rules.iter().map(|r| r.json.clone()).collect(),
            started_ns,
        };
        let w =
            crate::tape::CaptureWriter::new(BufWriter::new(f), Compression::None, Some(&header))
                .map_err(at(&path))?;
        Ok(Journal { w, path })
    }

    pub fn write(&mut self, rec: &Record<'_>) -> Result<(), PaperError> {
        use crate::tape::reader::Body;
        let r = match &rec.body {
            Body::Frame(f) => self.w.write_frame(rec.recv_ns, f.as_bytes()),
            Body::Binary(b) => self.w.write_frame(rec.recv_ns, b),
            Body::Session(s) => self.w.write_session(rec.recv_ns, s),
        };
        r.map_err(at(&self.path))
    }

    pub fn flush(&mut self) -> Result<(), PaperError> {
        self.w.flush().map_err(at(&self.path))
    }
}

/// The results of a session (or of its replay) as they are made.
pub struct Results {
    dir: PathBuf,
    private: BufWriter<File>,
}

impl Results {
    /// Creates `dir` and its private stream log, `private.log`.
    pub fn create(dir: &Path) -> Result<Results, PaperError> {
        std::fs::create_dir_all(dir).map_err(at(dir))?;
        let p = dir.join("private.log");
        let f = File::create(&p).map_err(at(&p))?;
        Ok(Results {
            dir: dir.to_path_buf(),
            private: BufWriter::new(f),
        })
    }

    /// Logs a private frame: `<arrival ns> <key> <frame>`.
    pub fn output(&mut self, engine: &Engine, out: &Output) -> Result<(), PaperError> {
        if let Output::Private {
            at, account, frame, ..
        } = out
        {
            writeln!(
                self.private,
                "{at} {} {frame}",
                engine.account_key(*account)
            )
            .map_err(super::error::at(&self.dir.join("private.log")))?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), PaperError> {
        self.private
            .flush()
            .map_err(at(&self.dir.join("private.log")))
    }

    /// Writes every account's final orders, fills and balances.
    pub fn finish(mut self, engine: &Engine) -> Result<(), PaperError> {
        self.flush()?;
        let p = self.dir.join("orders.csv");
        let mut w = csv::Writer::from_path(&p).map_err(at(&p))?;
        w.write_record([
            "key",
            "id",
            "client_id",
            "market",
            "side",
            "ord_type",
            "price",
            "state",
            "origin_volume",
            "remaining_volume",
            "executed_volume",
            "avg_price",
            "trades_count",
            "created_at",
            "updated_at",
        ])
        .map_err(at(&p))?;
        for a in 0..engine.accounts() {
            let v = engine.view(a);
            for k in v.orders() {
                let o = v.rest_order(k);
                w.write_record([
                    engine.account_key(a),
                    &o.id.to_string(),
                    o.client_id.as_deref().unwrap_or(""),
                    &o.market,
                    o.side.as_str(),
                    &o.ord_type,
                    o.price.as_deref().unwrap_or(""),
                    &o.state,
                    &o.origin_volume,
                    &o.remaining_volume,
                    &o.executed_volume,
                    &o.avg_price,
                    &o.trades_count.to_string(),
                    &o.created_at,
                    &o.updated_at,
                ])
                .map_err(at(&p))?;
            }
        }
        w.flush().map_err(at(&p))?;
        let p = self.dir.join("fills.csv");
        let mut w = csv::Writer::from_path(&p).map_err(at(&p))?;
        w.write_record([
            "key",
            "trade_id",
            "order_id",
            "time_ns",
            "market",
            "side",
            "price",
            "amount",
            "total",
            "liquidity",
            "fee_rate",
            "fee",
            "fee_currency",
        ])
        .map_err(at(&p))?;
        for a in 0..engine.accounts() {
            let v = engine.view(a);
            for f in v.fills() {
                let t = v.rest_trade(f);
                w.write_record([
                    engine.account_key(a),
                    &t.id.to_string(),
                    &t.order_id.to_string(),
                    &f.at_ns.to_string(),
                    &t.market,
                    t.side.as_str(),
                    &t.price,
                    &t.amount,
                    &t.total,
                    if f.maker { "maker" } else { "taker" },
                    t.fee.as_deref().unwrap_or(""),
                    t.fee_amount.as_deref().unwrap_or(""),
                    t.fee_currency.as_deref().unwrap_or(""),
                ])
                .map_err(at(&p))?;
            }
        }
        w.flush().map_err(at(&p))?;
        let p = self.dir.join("balances.csv");
        let mut w = csv::Writer::from_path(&p).map_err(at(&p))?;
        w.write_record(["key", "currency", "balance", "locked"])
            .map_err(at(&p))?;
        for a in 0..engine.accounts() {
            for b in engine.view(a).balances() {
                w.write_record([engine.account_key(a), &b.currency, &b.balance, &b.locked])
                    .map_err(at(&p))?;
            }
        }
        w.flush().map_err(at(&p))
    }
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replayed {
    pub records: u64,
    pub requests: u64,
    pub orders: u64,
    pub fills: u64,
    /// The journal ended without a stop record (the session was killed).
    pub cut: bool,
    pub warning: Option<String>,
}

/// Replays the session folder `dir` and writes its results into `out`.
pub fn replay(dir: &Path, out: &Path) -> Result<Replayed, PaperError> {
    let sp = dir.join(SESSION);
    let text = std::fs::read_to_string(&sp).map_err(at(&sp))?;
    let session: SessionFile = serde_json::from_str(&text).map_err(at(&sp))?;
    let cfg = session.exchange()?;
    let jp = dir.join(JOURNAL);
    let mut reader = CaptureReader::open(&jp)?;
    let header = reader
        .header()
        .ok_or_else(|| PaperError::NoHeader(jp.clone()))?;
    let mut rules = Vec::new();
    for m in &header.markets {
        rules.push(
            MarketRules::from_json(m.clone()).map_err(|source| PaperError::Rules {
                from: jp.display().to_string(),
                source,
            })?,
        );
    }
    let mut engine = Engine::new(rules, &cfg, &session.accounts)?;
    let mut results = Results::create(out)?;
    let mut outs = Vec::new();
    let mut st = Replayed::default();
    let mut last = i64::MIN;
    loop {
        let line = reader.line();
        let rec = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => return Err(e.into()),
        };
        st.records += 1;
        last = rec.recv_ns;
        if let crate::tape::reader::Body::Session(
            crate::tape::Session::Place { .. }
            | crate::tape::Session::Cancel { .. }
            | crate::tape::Session::CancelAll { .. },
        ) = &rec.body
        {
            st.requests += 1;
        }
        engine
            .apply(&rec, None)
            .map_err(|source| PaperError::Replay {
                path: jp.clone(),
                line: line + 1,
                source,
            })?;
        engine.drain(&mut outs);
        for o in outs.drain(..) {
            results.output(&engine, &o)?;
        }
    }
    st.warning = reader.warning();
    if !engine.is_stopped() {
        st.cut = true;
        let stop = Record {
            recv_ns: last,
            body: crate::tape::reader::Body::Session(crate::tape::Session::Stop {}),
        };
        engine.apply(&stop, None)?;
        engine.drain(&mut outs);
        for o in outs.drain(..) {
            results.output(&engine, &o)?;
        }
    }
    for a in 0..engine.accounts() {
        st.orders += engine.view(a).orders().count() as u64;
        st.fills += engine.view(a).fills().len() as u64;
    }
    results.finish(&engine)?;
    Ok(st)
}
