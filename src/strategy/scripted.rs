//! `scripted`: orders at given times, from the scenario or a CSV file, for exact tests and for
//! replaying what a real bot did.

use super::{Ctx, Strategy};
use crate::sim::{NewOrder, OrdType, OrderId};
use crate::venue::Side;
use rust_decimal::Decimal;
use serde::Deserialize;
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

impl ScriptedConfig {
    pub fn check(&self) -> Result<(), (String, String)> {
        if self.orders.is_empty() && self.csv.is_none() {
            return Err(("orders".into(), "give orders or a csv file".into()));
        }
        for (i, o) in self.orders.iter().enumerate() {
            if !(o.at_secs >= 0.0 && o.at_secs.is_finite()) {
                return Err((
                    format!("orders[{i}].at_secs"),
                    "must be a number of seconds".into(),
                ));
            }
        }
        Ok(())
    }
}

pub struct Scripted {
    orders: Vec<ScriptedOrder>,
    next: usize,
    start: i64,
    /// (time to cancel, order)
    cancels: Vec<(i64, OrderId)>,
}

impl Scripted {
    pub fn new(cfg: ScriptedConfig, base: &Path) -> Result<Self, String> {
        let mut orders = cfg.orders;
        if let Some(csv) = &cfg.csv {
            let path = base.join(csv);
            let mut r =
                csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for (i, row) in r.deserialize::<ScriptedOrder>().enumerate() {
                orders.push(row.map_err(|e| format!("{}: row {}: {e}", path.display(), i + 2))?);
            }
        }
        orders.sort_by(|a, b| a.at_secs.total_cmp(&b.at_secs));
        Ok(Scripted {
            orders,
            next: 0,
            start: 0,
            cancels: Vec::new(),
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
            if now < self.start + (o.at_secs * 1e9).round() as i64 {
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
                self.cancels.push((now + (after * 1e9).round() as i64, id));
            }
        }
        let due: Vec<OrderId> = self
            .cancels
            .iter()
            .filter(|(t, _)| *t <= now)
            .map(|(_, id)| *id)
            .collect();
        self.cancels.retain(|(t, _)| *t > now);
        for id in due {
            ctx.cancel(id);
        }
    }
}
