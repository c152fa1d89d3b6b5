//! The accounts file: API keys, their secrets and each account's starting balances.

use super::engine::AccountSpec;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One account of the accounts file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    key: String,
    secret: String,
    #[serde(default)]
    balances: BTreeMap<String, Decimal>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsFile {
    account: Vec<AccountEntry>,
}

/// An API key, its secret and its account.
#[derive(Clone)]
pub struct Account {
    pub spec: AccountSpec,
    pub secret: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("spec", &self.spec)
            .field("secret", &"…")
            .finish()
    }
}

/// Reads an accounts file: `[[account]]` tables of `key`, `secret` and `[account.balances]`.
pub fn load_accounts(path: &Path) -> Result<Vec<Account>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: AccountsFile = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start].matches('\n').count() + 1)
            .unwrap_or(0);
        format!("{}: line {line}: {}", path.display(), e.message())
    })?;
    let mut out: Vec<Account> = Vec::new();
    for (i, a) in file.account.into_iter().enumerate() {
        let at = format!("{}: account {} ({:?})", path.display(), i + 1, a.key);
        if a.key.is_empty() || a.secret.is_empty() {
            return Err(format!("{at}: key and secret must not be empty"));
        }
        if out.iter().any(|o| o.spec.key == a.key) {
            return Err(format!("{at}: the key is listed twice"));
        }
        for (c, v) in &a.balances {
            crate::bounds::balance(*v).map_err(|e| format!("{at}: balances.{c}: {e}"))?;
        }
        out.push(Account {
            spec: AccountSpec {
                key: a.key,
                balances: a.balances,
            },
            secret: a.secret,
        });
    }
    if out.is_empty() {
        return Err(format!("{}: no [[account]]", path.display()));
    }
    Ok(out)
}
