//! The accounts file: API keys, their secrets and each account's starting balances.

use super::engine::AccountSpec;
use super::error::{AccountReason, AccountsError};
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
pub fn load_accounts(path: &Path) -> Result<Vec<Account>, AccountsError> {
    let text = std::fs::read_to_string(path).map_err(|source| AccountsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: AccountsFile = toml::from_str(&text).map_err(|e| AccountsError::Toml {
        path: path.to_path_buf(),
        line: e
            .span()
            .map(|s| text[..s.start].matches('\n').count() + 1)
            .unwrap_or(0),
        message: e.message().to_string(),
    })?;
    let mut out: Vec<Account> = Vec::new();
    for (i, a) in file.account.into_iter().enumerate() {
        let at = |reason| AccountsError::Account {
            path: path.to_path_buf(),
            index: i + 1,
            key: a.key.clone(),
            reason: Box::new(reason),
        };
        if a.key.is_empty() || a.secret.is_empty() {
            return Err(at(AccountReason::Empty));
        }
        if out.iter().any(|o| o.spec.key == a.key) {
            return Err(at(AccountReason::Twice));
        }
        for (c, v) in &a.balances {
            crate::bounds::balance(*v).map_err(|reason| {
                at(AccountReason::Balance {
                    currency: c.clone(),
                    reason,
                })
            })?;
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
        return Err(AccountsError::NoAccount(path.to_path_buf()));
    }
    Ok(out)
}
