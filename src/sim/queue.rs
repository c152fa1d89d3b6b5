//! Queue position models: how much resting volume stands ahead of our order at its price.
//!
//! Both models advance the queue by trades at our price. They differ on what a fall in the
//! level's volume that no trade explains (cancellations) does:
//! - [`QueueModel::Conservative`]: nothing, except that the queue ahead can never exceed the
//!   level's volume;
//! - [`QueueModel::PowerProb`]: part of the fall is taken as cancellations ahead of us, in
//!   proportion `front^n / (front^n + back^n)` (hftbacktest's power-law queue model), computed
//!   in integers so every machine gets the same answer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueueModel {
    #[default]
    Conservative,
    PowerProb {
        n: u32,
    },
}

impl QueueModel {
    /// The new queue ahead after the level went from `prev` to `new` with no trade explaining
    /// the change.
    pub fn on_level_change(self, front: i64, prev: i64, new: i64) -> i64 {
        let front = front.min(prev).max(0);
        if new >= prev {
            return front.min(new);
        }
        match self {
            QueueModel::Conservative => front.min(new),
            QueueModel::PowerProb { n } => {
                let fall = i128::from(prev - new);
                let back = i128::from(prev - front);
                let (f, b) = scaled_powers(i128::from(front), back, n.clamp(1, 3));
                let share_ahead = if f + b == 0 { 0 } else { fall * f / (f + b) };
                let est = i128::from(front) - share_ahead;
                (est.max(0) as i64).min(new)
            }
        }
    }
}

/// `front^n` and `back^n` after scaling both down together so the powers fit.
fn scaled_powers(mut front: i128, mut back: i128, n: u32) -> (i128, i128) {
    while front.max(back) > (1 << 30) {
        front >>= 1;
        back >>= 1;
    }
    (front.pow(n), back.pow(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conservative_caps_only() {
        let q = QueueModel::Conservative;
        assert_eq!(q.on_level_change(50, 100, 80), 50);
        assert_eq!(q.on_level_change(50, 100, 30), 30);
        assert_eq!(q.on_level_change(50, 100, 120), 50);
    }

    #[test]
    fn power_prob_moves_us_up_by_a_share_of_cancels() {
        let q = QueueModel::PowerProb { n: 2 };
        // front 50, back 50: half of a fall of 20 is ahead of us.
        assert_eq!(q.on_level_change(50, 100, 80), 40);
        // At the back of the queue (front 90, back 10): most cancels are ahead.
        assert_eq!(q.on_level_change(90, 100, 90), 90 - 10 * 8100 / 8200);
        // At the front: nothing to gain.
        assert_eq!(q.on_level_change(0, 100, 50), 0);
    }
}
