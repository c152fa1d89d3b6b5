//! Market rules from `GET public/markets`: precision, minimums and state.

use crate::fixed;
use crate::value::{Amount, Price};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// A market's trading state; only `enabled` trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarketState {
    Enabled,
    Disabled,
    Hidden,
    Locked,
    Sale,
    Presale,
}

/// The market object as Peatio serves it (numbers as strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketJson {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub name: String,
    pub base_unit: String,
    pub quote_unit: String,
    pub min_price: String,
    pub max_price: String,
    pub min_amount: String,
    pub amount_precision: u32,
    pub price_precision: u32,
    pub state: MarketState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maker_fee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taker_fee: Option<String>,
}

/// A market's rules with limits held as fixed-point integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketRules {
    pub id: String,
    pub name: String,
    pub base_unit: String,
    pub quote_unit: String,
    /// At `price_precision`.
    pub min_price: Price,
    /// At `price_precision`; `None` where the market's `max_price` is 0 (no maximum).
    pub max_price: Option<Price>,
    /// At `amount_precision`.
    pub min_amount: Amount,
    pub amount_precision: u32,
    pub price_precision: u32,
    pub state: MarketState,
    /// The market object as received, kept for headers and the REST emulator.
    pub json: MarketJson,
}

/// A market object that breaks Peatio's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    pub market: String,
    pub field: &'static str,
    pub reason: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "market {:?}: field {}: {}",
            self.market, self.field, self.reason
        )
    }
}

impl std::error::Error for RulesError {}

/// Most decimals of a trade's total, `price_precision + amount_precision`: balances are held
/// at 16.
pub const MAX_TOTAL_SCALE: u32 = 16;

impl MarketRules {
    pub fn from_json(json: MarketJson) -> Result<MarketRules, RulesError> {
        let err = |field: &'static str, reason: String| RulesError {
            market: json.id.clone(),
            field,
            reason,
        };
        if json.amount_precision > 12 || json.price_precision > 12 {
            let field = if json.price_precision > 12 {
                "price_precision"
            } else {
                "amount_precision"
            };
            return Err(err(field, "precisions above 12 are not supported".into()));
        }
        if json.amount_precision + json.price_precision > MAX_TOTAL_SCALE {
            return Err(err(
                "price_precision",
                format!(
                    "{} + amount_precision {} is more than {MAX_TOTAL_SCALE}: a trade's total \
                     (price × amount) must fit the 16 decimals balances are held at",
                    json.price_precision, json.amount_precision
                ),
            ));
        }
        let num = |field: &'static str, text: &str, scale: u32| {
            fixed::parse_str(text, scale).map_err(|e| err(field, format!("{text:?}: {e}")))
        };
        let rules = MarketRules {
            id: json.id.clone(),
            name: json.name.clone(),
            base_unit: json.base_unit.clone(),
            quote_unit: json.quote_unit.clone(),
            min_price: Price::new(
                num("min_price", &json.min_price, json.price_precision)?,
                json.price_precision,
            ),
            max_price: match num("max_price", &json.max_price, json.price_precision)? {
                0 => None,
                p => Some(Price::new(p, json.price_precision)),
            },
            min_amount: Amount::new(
                num("min_amount", &json.min_amount, json.amount_precision)?,
                json.amount_precision,
            ),
            amount_precision: json.amount_precision,
            price_precision: json.price_precision,
            state: json.state,
            json,
        };
        Ok(rules)
    }

    /// Decimals of a quote total (price × amount).
    pub fn total_scale(&self) -> u32 {
        self.price_precision + self.amount_precision
    }

    /// A count of price units of this market as a [`Price`].
    #[inline]
    pub fn price(&self, units: i64) -> Price {
        Price::new(units, self.price_precision)
    }

    /// A count of amount units of this market as an [`Amount`].
    #[inline]
    pub fn amount(&self, units: i64) -> Amount {
        Amount::new(units, self.amount_precision)
    }
}

/// A markets list that cannot be read: the file (when there is one) and why.
#[derive(Debug, thiserror::Error)]
pub enum MarketsError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{source}", file_prefix(path.as_deref()))]
    Json {
        path: Option<PathBuf>,
        source: serde_json::Error,
    },
    #[error("{}{source}", file_prefix(path.as_deref()))]
    Rules {
        path: Option<PathBuf>,
        source: RulesError,
    },
}

fn file_prefix(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

impl MarketsError {
    /// The same error, naming the file it was read from.
    fn in_file(self, file: &Path) -> MarketsError {
        let file = Some(file.to_path_buf());
        match self {
            MarketsError::Json { source, .. } => MarketsError::Json { path: file, source },
            MarketsError::Rules { source, .. } => MarketsError::Rules { path: file, source },
            read => read,
        }
    }
}

/// Reads a `public/markets` answer (a JSON array of market objects).
pub fn parse_markets(text: &str) -> Result<Vec<MarketRules>, MarketsError> {
    let list: Vec<MarketJson> =
        serde_json::from_str(text).map_err(|source| MarketsError::Json { path: None, source })?;
    list.into_iter()
        .map(|m| {
            MarketRules::from_json(m).map_err(|source| MarketsError::Rules { path: None, source })
        })
        .collect()
}

/// Reads a markets file, naming it in any error.
pub fn load_markets(path: &Path) -> Result<Vec<MarketRules>, MarketsError> {
    let text = std::fs::read_to_string(path).map_err(|source| MarketsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_markets(&text).map_err(|e| e.in_file(path))
}

/// Markets for captures without a header: the file given, or a `markets.json` beside the
/// first capture, or none.
pub fn default_markets(
    explicit: Option<&Path>,
    captures: &[PathBuf],
) -> Result<Vec<MarketRules>, MarketsError> {
    if let Some(p) = explicit {
        return load_markets(p);
    }
    let beside = captures
        .first()
        .and_then(|c| c.parent())
        .map(|d| d.join("markets.json"));
    match beside {
        Some(p) if p.is_file() => load_markets(&p),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_shipped_markets() {
        let text = include_str!("../../data/markets.json");
        let m = parse_markets(text).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].id, "btcusdt");
        assert_eq!(m[0].min_amount, m[0].amount(10));
        assert_eq!(m[0].max_price, Some(m[0].price(100_000_000)));
        assert_eq!(m[2].min_amount, m[2].amount(100));
        assert_eq!(m[2].max_price, None);
        assert_eq!(m[2].min_price, m[2].price(1));
    }

    #[test]
    fn rejects_limits_finer_than_precision() {
        let text = r#"[{"id":"x","name":"X","base_unit":"a","quote_unit":"b","min_price":"0.001",
            "max_price":"0","min_amount":"1","amount_precision":2,"price_precision":2,"state":"enabled"}]"#;
        let e = parse_markets(text).unwrap_err();
        assert_eq!(field(&e), Some("min_price"), "{e}");
    }

    #[test]
    fn precisions_must_leave_totals_within_balance_decimals() {
        let market = |pp: u32, ap: u32| {
            format!(
                r#"[{{"id":"x","name":"X","base_unit":"a","quote_unit":"b","min_price":"1",
                "max_price":"0","min_amount":"1","amount_precision":{ap},"price_precision":{pp},
                "state":"enabled"}}]"#
            )
        };
        assert!(parse_markets(&market(8, 8)).is_ok());
        let e = parse_markets(&market(12, 6)).unwrap_err();
        assert!(e.to_string().contains("more than 16"), "{e}");
        let e = parse_markets(&market(2, 13)).unwrap_err();
        assert_eq!(field(&e), Some("amount_precision"), "{e}");
    }

    fn field(e: &MarketsError) -> Option<&'static str> {
        match e {
            MarketsError::Rules { source, .. } => Some(source.field),
            _ => None,
        }
    }
}
