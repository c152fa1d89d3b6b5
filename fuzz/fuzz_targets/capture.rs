//! The capture reader and the normalizer on arbitrary bytes, into a book: records, warnings
//! and errors, never a panic.
#![no_main]

use altsim::book::Book;
use altsim::tape::{CaptureReader, Normalizer};
use altsim::venue::market::parse_markets;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

fn markets() -> &'static Vec<altsim::venue::MarketRules> {
    static M: OnceLock<Vec<altsim::venue::MarketRules>> = OnceLock::new();
    M.get_or_init(|| parse_markets(include_str!("../../data/markets.json")).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let input = Box::new(Cursor::new(data.to_vec()));
    let Ok(mut reader) = CaptureReader::new(Path::new("fuzz"), input) else {
        return;
    };
    let mut norm = Normalizer::new(markets().clone());
    let mut book = Book::new();
    let mut events = Vec::new();
    while let Ok(Some(rec)) = reader.next_record() {
        events.clear();
        let _ = norm.push(&rec, &mut events);
        for e in &events {
            if e.market.0 == 0 {
                book.apply(e);
            }
        }
    }
    let _ = reader.warning();
});
