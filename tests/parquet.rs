//! The Parquet tables are typed: times `timestamp[ns, UTC]`, money `Decimal128(38, scale)` at
//! each column's scale, no floats; and they hold the CSV tables' values exactly.
#![cfg(feature = "parquet")]

mod folders;

use altsim::backtest::{run, Progress};
use altsim::fixed;
use polars::prelude::*;
use std::path::Path;

fn read(dir: &Path, name: &str) -> DataFrame {
    let f = std::fs::File::open(dir.join(format!("{name}.parquet"))).unwrap();
    ParquetReader::new(f).finish().unwrap()
}

fn csv(dir: &Path, name: &str) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(dir.join(format!("{name}.csv"))).unwrap();
    r.records().map(|r| r.unwrap()).collect()
}

#[test]
fn tables_are_typed_and_exact() {
    let s = altsim::scenario::load(Path::new("scenarios/mm-tight.toml")).unwrap();
    let dir = folders::tmp("parquet", "typed");
    run(&s, Some(&dir), Progress::Quiet).unwrap();
    let utc = DataType::Datetime(TimeUnit::Nanoseconds, Some("UTC".into()));
    let dec = |scale| DataType::Decimal(Some(38), Some(scale));
    // btcusdt: price precision 2, amount precision 6 (the shipped rules); balances 16,
    // fee rates 6, equity 16 + 2 + 1.
    let tables: [(&str, Vec<(&str, DataType)>); 3] = [
        (
            "fills",
            vec![
                ("time_ns", DataType::Int64),
                ("time_utc", utc.clone()),
                ("price", dec(2)),
                ("amount", dec(6)),
                ("total", dec(8)),
                ("fee_rate", dec(6)),
                ("fee", dec(16)),
                ("side", DataType::String),
            ],
        ),
        (
            "orders",
            vec![
                ("time_utc", utc.clone()),
                ("price", dec(2)),
                ("origin_volume", dec(6)),
                ("remaining_volume", dec(6)),
                ("executed_volume", dec(6)),
                ("avg_price", dec(2)),
            ],
        ),
        (
            "equity",
            vec![
                ("time_utc", utc.clone()),
                ("best_bid", dec(2)),
                ("best_ask", dec(2)),
                ("mid", dec(3)),
                ("base", dec(16)),
                ("quote", dec(16)),
                ("equity", dec(19)),
                ("pnl", dec(19)),
            ],
        ),
    ];
    for (name, want) in tables {
        let df = read(&dir, name);
        let rows = csv(&dir, name);
        assert_eq!(df.height(), rows.len(), "{name}: rows");
        assert!(df.height() > 20, "{name}: {} rows", df.height());
        let header: Vec<String> = csv::Reader::from_path(dir.join(format!("{name}.csv")))
            .unwrap()
            .headers()
            .unwrap()
            .iter()
            .map(String::from)
            .collect();
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, header, "{name}: the CSV's columns in its order");
        for c in df.get_columns() {
            assert!(!c.dtype().is_float(), "{name}.{}: a float", c.name());
        }
        for (col, dtype) in want {
            let c = df.column(col).unwrap();
            assert_eq!(c.dtype(), &dtype, "{name}.{col}");
            let at = header.iter().position(|h| h == col).unwrap();
            for (i, row) in rows.iter().enumerate() {
                let text = &row[at];
                let got = c.get(i).unwrap();
                match (&dtype, got) {
                    (DataType::Decimal(_, Some(scale)), AnyValue::Decimal(v, _)) => {
                        let want = fixed::parse_wide(text, *scale as u32).unwrap();
                        assert_eq!(v, want, "{name}.{col} row {i}: {text}");
                    }
                    (DataType::Decimal(..), AnyValue::Null) => {
                        assert_eq!(text, "", "{name}.{col} row {i}")
                    }
                    (DataType::Datetime(..), AnyValue::Datetime(ns, ..)) => {
                        assert_eq!(ns.to_string(), rows[i][0], "{name}.{col} row {i}")
                    }
                    (_, v) => assert_eq!(v.str_value(), text, "{name}.{col} row {i}"),
                }
            }
        }
    }
}
