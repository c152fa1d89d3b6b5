//! `scripted`: orders at given times, from the scenario or a CSV file, for exact tests and for
//! replaying what a real bot did.

use super::{Ctx, Strategy};
use crate::config::ConfigError;
use crate::sim::{NewOrder, OrdType, OrderId};
use crate::venue::Side;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

/// One scripted order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedOrder {
    /// Seconds after the start of the run.
    pub at_secs: f64,
    pub market: String,
    pub side: Side,
    pub ord_type: OrdType,
    pub volume: Decimal,
    #[serde(default)]
    pub price: Option<Decimal>,
    /// Cancel it this many seconds after placing it, if still open.
    #[serde(default)]
    pub cancel_after_secs: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedConfig {
    #[serde(default)]
    pub orders: Vec<ScriptedOrder>,
    /// A CSV with the columns `at_secs,market,side,ord_type,volume,price,cancel_after_secs`
    /// (the last two may be empty), relative to the scenario file.
    #[serde(default)]
    pub csv: Option<String>,
}

impl ScriptedOrder {
    /// (field, reason) of the first value out of range.
    fn check(&self) -> Result<(), (&'static str, String)> {
        crate::utc::secs_ns(self.at_secs).map_err(|e| ("at_secs", e.to_string()))?;
        if let Some(c) = self.cancel_after_secs {
            crate::utc::secs_ns(c).map_err(|e| ("cancel_after_secs", e.to_string()))?;
        }
        super::amount(self.volume).map_err(|e| ("volume", e.to_string()))?;
        if let Some(p) = self.price {
            super::amount(p).map_err(|e| ("price", e.to_string()))?;
        }
        Ok(())
    }
}

impl ScriptedConfig {
    /// Reads the `[strategy]` table of a scripted scenario, one order at a time, so that an
    /// error names the order: `orders[2].volume`.
    pub fn from_table(mut t: toml::Table) -> Result<Self, (String, String)> {
        let orders = t.remove("orders");
        let mut cfg: ScriptedConfig = super::parameters(t)?;
        let Some(orders) = orders else {
            return Ok(cfg);
        };
        let toml::Value::Array(list) = orders else {
            return Err(("orders".into(), "must be an array of orders".into()));
        };
        for (i, o) in list.into_iter().enumerate() {
            let at = format!("orders[{i}]");
            let toml::Value::Table(t) = o else {
                return Err((at, "must be a table of at_secs, market, side, …".into()));
            };
            let order = super::parameters(t).map_err(|(k, e)| match k.is_empty() {
                true => (at.clone(), e),
                false => (format!("{at}.{k}"), e),
            })?;
            cfg.orders.push(order);
        }
        Ok(cfg)
    }

    pub fn check(&self) -> Result<(), (String, String)> {
        if self.orders.is_empty() && self.csv.is_none() {
            return Err(("orders".into(), "give orders or a csv file".into()));
        }
        for (i, o) in self.orders.iter().enumerate() {
            o.check()
                .map_err(|(k, e)| (format!("orders[{i}].{k}"), e))?;
        }
        Ok(())
    }

    /// Reads the `csv` file's orders (relative to `base`) into `orders`, checking each row;
    /// errors name the file, the line and the column.
    pub fn load_csv(&mut self, base: &Path) -> Result<(), ConfigError> {
        let Some(csv) = self.csv.take() else {
            return Ok(());
        };
        let path = base.join(&csv);
        let bad = |line: Option<u64>, key: &str, why: String| ConfigError {
            file: path.clone(),
            line: line.map(|l| l as usize),
            key: key.to_string(),
            reason: why,
        };
        let mut r = csv::Reader::from_path(&path).map_err(|e| bad(None, "", e.to_string()))?;
        let headers = r
            .headers()
            .map_err(|e| bad(Some(1), "", e.to_string()))?
            .clone();
        for rec in r.records() {
            let rec = rec.map_err(|e| bad(e.position().map(|p| p.line()), "", e.to_string()))?;
            let line = rec.position().map(|p| p.line());
            let o: ScriptedOrder = rec.deserialize(Some(&headers)).map_err(|e| {
                let (key, why) = match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => (
                        err.field()
                            .and_then(|f| headers.get(f as usize))
                            .unwrap_or(""),
                        err.kind().to_string(),
                    ),
                    _ => ("", e.to_string()),
                };
                bad(line, key, why)
            })?;
            o.check().map_err(|(k, e)| bad(line, k, e))?;
            self.orders.push(o);
        }
        if self.orders.is_empty() {
            return Err(bad(None, "", "no orders".into()));
        }
        Ok(())
    }

    /// The market of the first order, in time.
    pub fn market(&self) -> Option<&str> {
        self.orders
            .iter()
            .min_by(|a, b| a.at_secs.total_cmp(&b.at_secs))
            .map(|o| o.market.as_str())
    }
}

pub struct Scripted {
    orders: Vec<ScriptedOrder>,
    next: usize,
    start: i64,
    /// (time to cancel, order), soonest first; orders are placed in id order, so cancels due
    /// at one time go out in the order their orders were placed.
    cancels: BinaryHeap<Reverse<(i64, OrderId)>>,
    due: Vec<(OrderId, i64)>,
}

impl Scripted {
    /// A strategy of the config's orders; a `csv` not yet read is read from `base`.
    pub fn new(mut cfg: ScriptedConfig, base: &Path) -> Result<Self, ConfigError> {
        cfg.load_csv(base)?;
        let mut orders = cfg.orders;
        orders.sort_by(|a, b| a.at_secs.total_cmp(&b.at_secs));
        Ok(Scripted {
            orders,
            next: 0,
            start: 0,
            cancels: BinaryHeap::new(),
            due: Vec::new(),
        })
    }
}

impl Strategy for Scripted {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.start = ctx.now();
    }

    fn timer_ns(&self) -> Option<i64> {
        Some(1_000_000)
    }

    fn on_timer(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        while let Some(o) = self.orders.get(self.next) {
            let at = crate::utc::secs_ns(o.at_secs).unwrap_or(0);
            if now < self.start.saturating_add(at) {
                break;
            }
            self.next += 1;
            let order = NewOrder {
                market: o.market.clone(),
                side: o.side,
                ord_type: o.ord_type,
                volume: o.volume,
                price: o.price,
            };
            let id = ctx.place(order);
            if let Some(after) = o.cancel_after_secs {
                let after = crate::utc::secs_ns(after).unwrap_or(0);
                self.cancels.push(Reverse((now.saturating_add(after), id)));
            }
        }
        // Cancels that fell due together (after a pause in the data) go out in the order
        // their orders were placed.
        while let Some(Reverse((t, id))) = self.cancels.peek().copied() {
            if t > now {
                break;
            }
            self.cancels.pop();
            self.due.push((id, t));
        }
        self.due.sort_unstable();
        for (id, _) in self.due.drain(..) {
            ctx.cancel(id);
        }
    }
}
