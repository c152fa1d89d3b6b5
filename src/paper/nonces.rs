//! Replayed requests. Barong checks only that a nonce lies within its window of the server's
//! clock, so one signed request sent three times in that window would place three orders. A
//! paper account refuses a state-changing request (an order, a cancel) that it has already
//! taken: the same key, nonce, method, path, query and body. A bot that retries a request
//! whose answer it lost therefore never trades twice.
//!
//! Nonces are not required to increase. Hummingbot's connector signs with the wall clock in
//! milliseconds from concurrent tasks, so two different requests can carry one nonce and
//! arrive in either order; only an exact repeat is a replay.

use crate::venue::auth::NONCE_WINDOW_MS;
use std::collections::BTreeMap;

/// The code a replayed request is refused with (HTTP 401, as Barong's other nonce refusals).
pub const REPLAYED: &str = "authz.nonce_reused";

/// The requests taken within the nonce window, by nonce value and account.
#[derive(Debug, Default)]
pub struct Seen {
    taken: BTreeMap<(i64, usize), Vec<[u8; 32]>>,
}

impl Seen {
    /// Records a request of `account` signed with `nonce` (its value) whose identity is
    /// `request` (raw nonce, method, path, query, body); false when the same one was already
    /// taken. Requests whose nonces have left the window (at `now_ms`) are forgotten: auth
    /// refuses those nonces anyway, so memory holds one window's requests.
    pub fn take(&mut self, account: usize, nonce: i64, request: &[&[u8]], now_ms: i64) -> bool {
        let oldest = now_ms.saturating_sub(NONCE_WINDOW_MS);
        if self
            .taken
            .first_key_value()
            .is_some_and(|(k, _)| k.0 < oldest)
        {
            self.taken = self.taken.split_off(&(oldest, 0));
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in request {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part);
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(ctx.finish().as_ref());
        let seen = self.taken.entry((nonce, account)).or_default();
        if seen.contains(&digest) {
            return false;
        }
        seen.push(digest);
        true
    }

    /// Requests held.
    pub fn len(&self) -> usize {
        self.taken.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.taken.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_repeat_is_refused_and_the_window_bounds_memory() {
        let mut s = Seen::default();
        let now = 1_000_000;
        let order = [&b"1000000"[..], b"POST", b"market/orders", b"", b"{}"];
        assert!(s.take(0, now, &order, now));
        assert!(!s.take(0, now, &order, now), "the same request again");
        // Another body, another key or another nonce under the same one is a new request.
        let other = [&b"1000000"[..], b"POST", b"market/orders", b"", b"{ }"];
        assert!(s.take(0, now, &other, now));
        assert!(s.take(1, now, &order, now));
        let later = [&b"1000001"[..], b"POST", b"market/orders", b"", b"{}"];
        assert!(s.take(0, now + 1, &later, now));
        assert_eq!(s.len(), 4);
        // Once those nonces are out of the window they are forgotten.
        let far = now + NONCE_WINDOW_MS + 2;
        let fresh = [&b"x"[..]];
        assert!(s.take(0, far, &fresh, far));
        assert_eq!(s.len(), 1);
        assert!(!s.is_empty());
    }
}
