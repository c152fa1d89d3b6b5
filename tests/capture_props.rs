//! Mutated captures never panic the reader, the normalizer, the book or the exchange: every
//! defect ends as a warning, an error or a skipped frame.

mod folders;

use altsim::backtest::{run, Progress};
use altsim::scenario;
use altsim::sim::{Exchange, FeeSchedule, NewOrder, OrdType, QueueModel};
use altsim::tape::{CaptureReader, Normalizer};
use altsim::venue::market::load_markets;
use altsim::venue::{MarketRules, Side};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::io::{BufRead, Cursor};
use std::path::Path;
use std::sync::OnceLock;

/// The first 3,000 lines of the shipped sample: snapshots, increments and trades.
fn sample() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let f = std::fs::File::open("data/btcusdt-20240808T2354Z.ranger.gz").unwrap();
        let mut out = Vec::new();
        for l in std::io::BufReader::new(flate2::read::GzDecoder::new(f))
            .lines()
            .take(3000)
        {
            out.extend_from_slice(l.unwrap().as_bytes());
            out.push(b'\n');
        }
        out
    })
}

fn markets() -> Vec<MarketRules> {
    load_markets(Path::new("data/markets.json")).unwrap()
}

/// Reads a capture through to the exchange, with resting orders of ours on both sides:
/// (events, whether our orders were placed).
fn consume(bytes: Vec<u8>) -> (usize, bool) {
    let markets = markets();
    let Ok(mut reader) = CaptureReader::new(Path::new("mutated"), Box::new(Cursor::new(bytes)))
    else {
        return (0, false);
    };
    let mut norm = Normalizer::new(markets.clone());
    let mut ex = Exchange::new(
        markets,
        FeeSchedule::default(),
        QueueModel::PowerProb { n: 2 },
    );
    ex.deposit("usdt", Decimal::new(1_000_000, 0)).unwrap();
    ex.deposit("btc", Decimal::new(10, 0)).unwrap();
    let mut placed = false;
    let mut events = Vec::new();
    let mut seen = 0;
    while let Ok(Some(rec)) = reader.next_record() {
        events.clear();
        let _ = norm.push(&rec, &mut events);
        seen += events.len();
        for e in &events {
            ex.on_event(e.recv_ns, e);
        }
        if !placed
            && ex
                .books()
                .get(altsim::tape::MarketId(0))
                .is_some_and(|b| b.is_valid())
        {
            placed = true;
            for (side, price) in [(Side::Buy, 61_800), (Side::Sell, 61_840)] {
                let id = ex.reserve_id();
                let order = NewOrder {
                    market: "btcusdt".into(),
                    side,
                    ord_type: OrdType::Limit,
                    volume: Decimal::new(5, 1),
                    price: Some(Decimal::new(price, 0)),
                };
                ex.submit(rec.recv_ns, id, &order);
            }
        }
        let mut out = Vec::new();
        ex.drain(&mut out);
    }
    let _ = reader.warning();
    (seen, placed)
}

#[test]
fn the_unmutated_sample_reaches_the_exchange() {
    let (events, placed) = consume(sample().to_vec());
    assert!(events > 3_000, "{events}");
    assert!(placed);
}

/// Bytes that make numbers, JSON and records go wrong in interesting ways.
const NASTY: &[u8] = b"-.0123456789eE+\"[]{},: \n\r!#x\xff\xc3";

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Delete(usize, usize),
    Insert(usize, u8),
    Repeat(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0usize..1 << 20;
    let byte = prop_oneof![any::<u8>(), (0..NASTY.len()).prop_map(|i| NASTY[i])];
    prop_oneof![
        4 => (at.clone(), byte.clone()).prop_map(|(a, b)| Mutation::Set(a, b)),
        2 => (at.clone(), 1usize..64).prop_map(|(a, n)| Mutation::Delete(a, n)),
        2 => (at.clone(), byte).prop_map(|(a, b)| Mutation::Insert(a, b)),
        1 => (at, 1usize..4096).prop_map(|(a, n)| Mutation::Repeat(a, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Set(a, b) => {
                if let Some(x) = bytes.get_mut(a % len) {
                    *x = b;
                }
            }
            Mutation::Delete(a, n) => {
                let a = a % len;
                let end = (a + n).min(bytes.len());
                bytes.drain(a.min(end)..end);
            }
            Mutation::Insert(a, b) => bytes.insert((a % len).min(bytes.len()), b),
            Mutation::Repeat(a, n) => {
                let a = (a % len).min(bytes.len());
                let end = (a + n).min(bytes.len());
                let copy = bytes[a..end].to_vec();
                bytes.splice(a..a, copy);
            }
        }
    }
    bytes
}

/// Backtests mm-tight on the sample with line `line`'s receive time set to `ns`.
fn backtest_with_receive_time(line: usize, ns: i64) -> Result<(), altsim::backtest::BacktestError> {
    let dir = folders::tmp("capture-props", &format!("recv-{line}-{ns}"));
    let text = String::from_utf8(sample().to_vec()).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let (_, rest) = lines[line - 1].split_once(' ').unwrap();
    lines[line - 1] = format!("{ns} {rest}");
    std::fs::write(dir.join("cap.ranger"), lines.join("\n") + "\n").unwrap();
    let toml = std::fs::read_to_string("scenarios/mm-tight.toml")
        .unwrap()
        .replace("../data/btcusdt-*.ranger.gz", "cap.ranger")
        .replace("../data/markets.json", "../../../../data/markets.json")
        .replace("../results/mm-tight", "out");
    std::fs::write(dir.join("s.toml"), toml).unwrap();
    let s = scenario::load(&dir.join("s.toml")).unwrap();
    let result = run(&s, None, Progress::Quiet).map(|_| ());
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[test]
fn a_receive_time_at_the_clocks_end_is_refused_at_its_line() {
    use altsim::backtest::BacktestError;
    use altsim::tape::{BadRecord, Reason, TapeError};
    let err = backtest_with_receive_time(157, i64::MAX).unwrap_err();
    assert!(
        matches!(
            err,
            BacktestError::Capture(TapeError {
                line: 157,
                reason: Reason::Record(BadRecord::Late(i64::MAX)),
                ..
            })
        ),
        "{err}"
    );
    let err = err.to_string();
    assert!(err.contains("cap.ranger:157:"), "{err}");
    assert!(err.contains("receive time 9223372036854775807"), "{err}");
    // The last time altsim takes runs through, with a warning of the jump.
    backtest_with_receive_time(157, altsim::utc::MAX_TIME_NS).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Receive times from 2200 to the clock's end, on any line: the run ends either way, with
    /// an error at that line past [`altsim::utc::MAX_TIME_NS`].
    #[test]
    fn late_receive_times_end_the_run(
        line in 2usize..3000,
        ns in altsim::utc::MAX_TIME_NS - 1_000_000_000..=i64::MAX,
    ) {
        match backtest_with_receive_time(line, ns) {
            Ok(()) => prop_assert!(ns <= altsim::utc::MAX_TIME_NS),
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.contains(&format!("cap.ranger:{line}:")), "{}", e);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn mutated_captures_never_panic(muts in prop::collection::vec(mutation(), 1..24)) {
        let _ = consume(apply(sample().to_vec(), &muts));
    }

    #[test]
    fn cut_captures_never_panic(cut in 0usize..1 << 20) {
        let s = sample();
        let _ = consume(s[..cut % s.len()].to_vec());
    }
}
