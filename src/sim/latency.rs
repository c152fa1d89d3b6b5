//! Latency models and the seeded generator behind the random ones.

use serde::{Deserialize, Serialize};

/// A small, seeded, portable generator (SplitMix64): the same seed gives the same numbers on
/// every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        lo + (self.next_u64() % span) as i64
    }
}

/// How long something takes, in ns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Latency {
    /// Always the same.
    Constant { ns: i64 },
    /// Uniform between `min_ns` and `max_ns`, drawn from the seeded generator.
    Uniform { min_ns: i64, max_ns: i64 },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Constant { ns: 0 }
    }
}

impl Latency {
    pub fn sample(&self, rng: &mut Rng) -> i64 {
        match *self {
            Latency::Constant { ns } => ns,
            Latency::Uniform { min_ns, max_ns } => rng.range(min_ns, max_ns),
        }
    }
}

/// The three latencies of a simulated connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latencies {
    /// From the strategy's request to the exchange acting on it.
    #[serde(default)]
    pub entry: Latency,
    /// From the exchange's answer (ack, fill, cancel) to the strategy hearing of it.
    #[serde(default)]
    pub response: Latency,
    /// How much later than the exchange the market data reaches us: the exchange acts on an
    /// event at its receive time minus this.
    #[serde(default)]
    pub feed_ns: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_bounded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let l = Latency::Uniform {
            min_ns: 10,
            max_ns: 20,
        };
        for _ in 0..1000 {
            let x = l.sample(&mut a);
            assert_eq!(x, l.sample(&mut b));
            assert!((10..=20).contains(&x));
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
