//! The paper exchange replaying the shipped sample while a strategy keeps ten orders resting
//! near the top of the book (five a side), re-quoting when the market moves away.

use altsim::sim::{Exchange, FeeSchedule, Latencies, Latency, NewOrder, QueueModel, Sim, SimEvent};
use altsim::tape::{Event, EventStream, MarketId};
use altsim::venue::market::load_markets;
use altsim::venue::Side;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn replay(events: &[Event], markets: &[altsim::venue::MarketRules]) -> usize {
    let mut ex = Exchange::new(
        markets.to_vec(),
        FeeSchedule::default(),
        QueueModel::PowerProb { n: 2 },
    );
    ex.deposit("usdt", Decimal::new(10_000_000, 0)).unwrap();
    ex.deposit("btc", Decimal::new(100, 0)).unwrap();
    let lat = Latencies {
        entry: Latency::Uniform {
            min_ns: 2_000_000,
            max_ns: 8_000_000,
        },
        response: Latency::Constant { ns: 3_000_000 },
        feed_ns: 1_000_000,
    };
    let mut sim = Sim::new(ex, lat, 42);
    let mut open: BTreeMap<u64, (Side, i64)> = BTreeMap::new();
    let mut answers = Vec::new();
    let mut fills = 0;
    for (i, ev) in events.iter().enumerate() {
        sim.on_event(ev);
        sim.poll(&mut answers);
        for (_, a) in answers.drain(..) {
            match a {
                SimEvent::Fill(_) => fills += 1,
                SimEvent::Order(o) if !o.state.is_open() => {
                    open.remove(&o.id);
                }
                SimEvent::Rejected { order_id, .. } => {
                    open.remove(&order_id);
                }
                _ => {}
            }
        }
        if i % 50 != 0 {
            continue;
        }
        let book = sim.exchange_mut().book(MarketId(0));
        let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) else {
            continue;
        };
        if !book.is_valid() {
            continue;
        }
        let stale: Vec<u64> = open
            .iter()
            .filter(|(_, (side, p))| match side {
                Side::Buy => bid.price - p > 10,
                Side::Sell => p - ask.price > 10,
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            sim.cancel(id);
            open.remove(&id);
        }
        for side in [Side::Buy, Side::Sell] {
            let have = open.values().filter(|(s, _)| *s == side).count() as i64;
            for k in have..5 {
                let price = match side {
                    Side::Buy => bid.price - k,
                    Side::Sell => ask.price + k,
                };
                let o =
                    NewOrder::limit("btcusdt", side, Decimal::new(1, 3), Decimal::new(price, 2));
                let id = sim.place(o);
                open.insert(id, (side, price));
            }
        }
    }
    fills
}

fn bench(c: &mut Criterion) {
    let markets = load_markets(Path::new("data/markets.json")).unwrap();
    let events: Vec<Event> = EventStream::open(
        vec![PathBuf::from("data/btcusdt-20240808T2354Z.ranger.gz")],
        markets.clone(),
    )
    .unwrap()
    .map(|e| e.unwrap())
    .collect();
    eprintln!("fills in one replay: {}", replay(&events, &markets));
    let mut g = c.benchmark_group("sim");
    g.sample_size(20);
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("ten resting orders over the sample", |b| {
        b.iter(|| replay(&events, &markets))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
