//! Balances per currency, available and locked, at Peatio's 16 decimals.

use crate::value::Funds;
use std::collections::BTreeMap;
use std::fmt;

/// Decimals every balance is held at (Peatio stores `decimal(32,16)`).
pub const BALANCE_SCALE: u32 = crate::bounds::BALANCE_DECIMALS;

/// One currency's balance, at 16 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub available: Funds,
    pub locked: Funds,
}

impl Default for Balance {
    fn default() -> Self {
        Held::default().into()
    }
}

impl Balance {
    /// Available plus locked.
    pub fn total(&self) -> Funds {
        Funds::new(self.available.raw() + self.locked.raw(), BALANCE_SCALE)
    }
}

/// A balance as the accounts hold it: units of 10⁻¹⁶.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Held {
    available: i128,
    locked: i128,
}

impl From<Held> for Balance {
    fn from(h: Held) -> Balance {
        Balance {
            available: Funds::new(h.available, BALANCE_SCALE),
            locked: Funds::new(h.locked, BALANCE_SCALE),
        }
    }
}

/// Why funds could not move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientFunds {
    pub currency: String,
    pub needed: Funds,
    pub available: Funds,
}

impl fmt::Display for InsufficientFunds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: needs {} but {} is available",
            self.currency, self.needed, self.available
        )
    }
}

/// Every currency's balance, with running totals of what left and entered the account, so
/// that conservation can be checked at any step:
/// `initial = available + locked + paid − received` for each currency.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    balances: BTreeMap<String, Held>,
    deposited: BTreeMap<String, i128>,
    paid: BTreeMap<String, i128>,
    received: BTreeMap<String, i128>,
    fees: BTreeMap<String, i128>,
}

impl Accounts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Credits `amount` (at 16 decimals) to the available balance.
    pub fn deposit(&mut self, currency: &str, amount: i128) {
        self.entry(currency).available += amount;
        *self.deposited.entry(currency.to_string()).or_default() += amount;
    }

    fn entry(&mut self, currency: &str) -> &mut Held {
        if !self.balances.contains_key(currency) {
            self.balances.insert(currency.to_string(), Held::default());
        }
        self.balances.get_mut(currency).expect("inserted above")
    }

    pub fn balance(&self, currency: &str) -> Balance {
        self.held(currency).into()
    }

    fn held(&self, currency: &str) -> Held {
        self.balances.get(currency).copied().unwrap_or_default()
    }

    /// The available balance in units of 10⁻¹⁶.
    pub(crate) fn available_units(&self, currency: &str) -> i128 {
        self.held(currency).available
    }

    /// Available plus locked in units of 10⁻¹⁶.
    pub(crate) fn total_units(&self, currency: &str) -> i128 {
        let h = self.held(currency);
        h.available + h.locked
    }

    /// Every currency, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Balance)> {
        self.balances.iter().map(|(c, b)| (c.as_str(), (*b).into()))
    }

    /// Moves `amount` from available to locked.
    pub fn lock(&mut self, currency: &str, amount: i128) -> Result<(), InsufficientFunds> {
        let b = self.entry(currency);
        if amount > b.available {
            return Err(InsufficientFunds {
                currency: currency.to_string(),
                needed: Funds::new(amount, BALANCE_SCALE),
                available: Funds::new(b.available, BALANCE_SCALE),
            });
        }
        b.available -= amount;
        b.locked += amount;
        Ok(())
    }

    /// Moves `amount` from locked back to available.
    pub fn unlock(&mut self, currency: &str, amount: i128) {
        let b = self.entry(currency);
        assert!(amount <= b.locked, "unlock more than locked");
        b.locked -= amount;
        b.available += amount;
    }

    /// Pays `amount` out of the locked balance (to the counterparty).
    pub fn pay_locked(&mut self, currency: &str, amount: i128) {
        let b = self.entry(currency);
        assert!(amount <= b.locked, "pay more than locked");
        b.locked -= amount;
        *self.paid.entry(currency.to_string()).or_default() += amount;
    }

    /// Receives `gross` and is charged `fee` of it: `gross − fee` reaches the available balance.
    pub fn receive(&mut self, currency: &str, gross: i128, fee: i128) {
        self.entry(currency).available += gross - fee;
        *self.received.entry(currency.to_string()).or_default() += gross - fee;
        *self.fees.entry(currency.to_string()).or_default() += fee;
    }

    /// Pays a fee out of the locked balance (the `quote` fee mode).
    pub fn pay_fee_locked(&mut self, currency: &str, fee: i128) {
        let b = self.entry(currency);
        assert!(fee <= b.locked, "fee more than locked");
        b.locked -= fee;
        *self.paid.entry(currency.to_string()).or_default() += fee;
        *self.fees.entry(currency.to_string()).or_default() += fee;
    }

    pub fn deposited(&self, currency: &str) -> i128 {
        self.deposited.get(currency).copied().unwrap_or(0)
    }
    pub fn paid(&self, currency: &str) -> i128 {
        self.paid.get(currency).copied().unwrap_or(0)
    }
    pub fn received(&self, currency: &str) -> i128 {
        self.received.get(currency).copied().unwrap_or(0)
    }
    /// Fees charged in `currency`.
    pub fn fees(&self, currency: &str) -> i128 {
        self.fees.get(currency).copied().unwrap_or(0)
    }
    /// Fees by currency, in name order.
    pub fn fees_by_currency(&self) -> impl Iterator<Item = (&str, i128)> {
        self.fees.iter().map(|(c, f)| (c.as_str(), *f))
    }

    /// Checks `deposited = available + locked + paid − received` and that nothing is negative,
    /// for every currency; the first broken one is returned.
    pub fn check_conservation(&self) -> Result<(), Unconserved> {
        for (c, b) in &self.balances {
            let broken = |accounted| Unconserved {
                currency: c.clone(),
                deposited: self.deposited(c),
                accounted,
                balance: format!("{b:?}"),
            };
            if b.available < 0 || b.locked < 0 {
                return Err(broken(None));
            }
            let rhs = b.available + b.locked + self.paid(c) - self.received(c);
            if self.deposited(c) != rhs {
                return Err(broken(Some(rhs)));
            }
        }
        Ok(())
    }
}

/// A currency whose funds do not add up: a balance below zero, or the deposits not equal to
/// what is held plus paid less received (`accounted`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{currency}: {}", match accounted {
    None => format!("negative balance {balance}"),
    Some(a) => format!("deposited {deposited} ≠ {a} (balance {balance})"),
})]
pub struct Unconserved {
    pub currency: String,
    pub deposited: i128,
    pub accounted: Option<i128>,
    pub balance: String,
}
