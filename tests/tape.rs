//! Captures: the shipped sample, the altsim format, compression, crash recovery and the
//! errors and events bad input produces.

mod folders;

use altsim::inspect::inspect;
use altsim::tape::{
    CaptureReader, CaptureWriter, Compression, EventKind, EventStream, GapReason, Header, Session,
};
use altsim::venue::market::default_markets;
use altsim::venue::market::load_markets;
use altsim::venue::MarketRules;
use std::io::Write;
use std::path::{Path, PathBuf};

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn markets() -> Vec<MarketRules> {
    load_markets(Path::new("data/markets.json")).unwrap()
}

/// A file `name` in this run's scratch folder.
fn tmp(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| folders::tmp("tape", "files")).join(name)
}

fn write_plain(name: &str, text: &str) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SNAP: &str =
    r#"{"btcusdt.ob-snap":{"asks":[["101.0","1.0"]],"bids":[["100.0","2.0"]],"sequence":10}}"#;

fn inc(side: &str, price: &str, vol: &str, seq: u64) -> String {
    format!(r#"{{"btcusdt.ob-inc":{{"{side}":["{price}","{vol}"],"sequence":{seq}}}}}"#)
}

fn events(path: &Path) -> Vec<EventKind> {
    EventStream::open(vec![path.to_path_buf()], markets())
        .unwrap()
        .map(|e| e.unwrap().kind)
        .collect()
}

#[test]
fn shipped_sample_matches_independent_reading() {
    let files = vec![PathBuf::from(SAMPLE)];
    let rules = default_markets(None, &files).unwrap();
    let r = inspect(files, rules).unwrap();
    let f = |k| r.stats.frames_of(k);
    use altsim::venue::FrameKind::*;
    assert_eq!(r.stats.total_frames(), 288_081);
    assert_eq!((f(Snapshot), f(Increment), f(Trades)), (1, 268_176, 19_903));
    assert!(r.gaps.is_empty());
    let m = &r.markets[0];
    assert_eq!(m.rules.id, "btcusdt");
    assert_eq!(altsim::fixed::format(m.base_volume, 6), "437.89552");
    assert_eq!(altsim::fixed::format(m.quote_volume, 8), "27005692.8384348");
    assert_eq!((m.taker_buys, m.taker_sells), (9_093, 10_810));
    assert_eq!(m.best_bid, Some((6_160_201, 1_671_770)));
    assert_eq!(m.best_ask, Some((6_160_202, 2_667_950)));
    assert_eq!((m.bid_levels, m.ask_levels), (1_971, 2_649));
    assert!(m.book_valid && !m.crossed);
    assert!(r.stats.warnings.is_empty());
}

#[test]
fn altsim_format_round_trips_in_every_compression() {
    let header = Header {
        version: 1,
        venue: "altmarkets".into(),
        source: "ws://127.0.0.1:9/api/v2/ranger/public".into(),
        markets: markets().into_iter().map(|m| m.json).collect(),
        started_ns: 5,
    };
    for (name, c) in [
        ("rt.cap", Compression::None),
        ("rt.cap.gz", Compression::Gzip),
        ("rt.cap.zst", Compression::Zstd),
    ] {
        let p = tmp(name);
        let mut w =
            CaptureWriter::new(std::fs::File::create(&p).unwrap(), c, Some(&header)).unwrap();
        w.write_session(
            1,
            &Session::Connect {
                url: header.source.clone(),
            },
        )
        .unwrap();
        w.write_frame(2, SNAP.as_bytes()).unwrap();
        w.write_frame(3, inc("bids", "100.5", "1.0", 11).as_bytes())
            .unwrap();
        w.write_frame(4, b"!odd\nframe").unwrap();
        w.write_frame(5, &[0xff, 0x00]).unwrap();
        w.write_session(
            6,
            &Session::Disconnect {
                reason: "bye".into(),
            },
        )
        .unwrap();
        w.finish().unwrap();
        assert_eq!(
            Compression::sniff(&std::fs::read(&p).unwrap()[..4]),
            c,
            "{name}"
        );
        let mut r = CaptureReader::open(&p).unwrap();
        assert_eq!(r.header(), Some(&header));
        let mut bodies = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            bodies.push((rec.recv_ns, format!("{:?}", rec.body)));
        }
        assert_eq!(bodies.len(), 6, "{name}");
        assert!(bodies[3].1.contains(r#"!odd\nframe"#), "{:?}", bodies[3]);
        assert!(bodies[4].1.contains("Binary([255, 0])"), "{:?}", bodies[4]);
        assert!(r.warning().is_none());
        // The header's rules are enough: no markets file needed.
        let mut stream = EventStream::open(vec![p.clone()], vec![]).unwrap();
        let ev: Vec<_> = stream.by_ref().map(|e| e.unwrap().kind).collect();
        assert_eq!(stream.stats().malformed_frames, 1);
        assert_eq!(stream.stats().binary_frames, 1);
        assert_eq!(ev.first(), Some(&EventKind::Connect));
        assert_eq!(ev.last(), Some(&EventKind::Disconnect));
    }
}

#[test]
fn truncated_gzip_keeps_the_intact_prefix_with_a_warning() {
    let full = std::fs::read(SAMPLE).unwrap();
    let p = tmp("cut.ranger.gz");
    std::fs::write(&p, &full[..full.len() / 2]).unwrap();
    let files = vec![p.clone()];
    let r = inspect(files, markets()).unwrap();
    let frames = r.stats.total_frames();
    assert!(frames > 100_000 && frames < 288_081, "{frames}");
    assert_eq!(r.stats.warnings.len(), 1);
    assert!(
        r.stats.warnings[0].contains("cut.ranger.gz"),
        "{}",
        r.stats.warnings[0]
    );
}

#[test]
fn crash_cut_zstd_capture_reads_up_to_the_last_flush() {
    let p = tmp("crash.cap.zst");
    let mut w =
        CaptureWriter::new(std::fs::File::create(&p).unwrap(), Compression::Zstd, None).unwrap();
    w.write_frame(1, SNAP.as_bytes()).unwrap();
    for i in 0..1000u64 {
        w.write_frame(2 + i as i64, inc("asks", "101.0", "1.5", 11 + i).as_bytes())
            .unwrap();
    }
    w.flush().unwrap();
    let flushed = std::fs::metadata(&p).unwrap().len();
    for i in 1000..2000u64 {
        w.write_frame(2 + i as i64, inc("asks", "101.0", "1.5", 11 + i).as_bytes())
            .unwrap();
    }
    std::mem::forget(w); // as a SIGKILL would: no finish
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..flushed as usize]).unwrap();
    let mut r = CaptureReader::open(&p).unwrap();
    let mut n = 0;
    while r.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 1001);
    let w = r.warning().expect("a cut file is reported");
    assert!(w.contains("crash.cap.zst") && w.contains("1001"), "{w}");
}

#[test]
fn a_cut_last_line_is_dropped_with_a_warning() {
    let p = write_plain(
        "cutline.cap",
        &format!("1 {SNAP}\n2 {}", &inc("asks", "1.0", "1.0", 11)[..20]),
    );
    let mut r = CaptureReader::open(&p).unwrap();
    assert!(r.next_record().unwrap().is_some());
    assert!(r.next_record().unwrap().is_none());
    assert!(r.warning().unwrap().contains("line 2 is cut off"));
}

#[test]
fn garbage_names_file_and_line() {
    let p = write_plain("garbage.cap", &format!("1 {SNAP}\n\nhello world\n"));
    let mut s = EventStream::open(vec![p], markets()).unwrap();
    let err = loop {
        match s.next_event() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("garbage accepted"),
            Err(e) => break e,
        }
    };
    let msg = err.to_string();
    assert!(
        msg.contains("garbage.cap:3:") && msg.contains("receive time"),
        "{msg}"
    );

    // A malformed frame was received that way: it is counted and named, and reading goes on.
    let p = write_plain(
        "badframe.cap",
        &format!(
            "1 {SNAP}\n2 {{\"btcusdt.ob-inc\":\n3 {}\n",
            inc("asks", "101.0", "2.0", 12)
        ),
    );
    let r = inspect(vec![p], markets()).unwrap();
    assert_eq!(r.stats.malformed_frames, 1);
    assert!(
        r.stats.warnings[0].contains("badframe.cap:2: bad frame"),
        "{:?}",
        r.stats.warnings
    );
    assert_eq!(r.gaps.len(), 1, "the hidden increment shows as a gap");

    let p = write_plain(
        "toofine.cap",
        &format!("1 {SNAP}\n2 {}\n", inc("asks", "1.001", "1", 11)),
    );
    let err = EventStream::open(vec![p], markets())
        .unwrap()
        .find_map(|e| e.err())
        .unwrap();
    assert!(err.to_string().contains("more than 2 decimals"), "{err}");

    let p = write_plain(
        "nomarket.cap",
        "1 {\"xyzabc.ob-inc\":{\"asks\":[\"1\",\"1\"],\"sequence\":1}}\n",
    );
    let err = EventStream::open(vec![p], markets())
        .unwrap()
        .find_map(|e| e.err())
        .unwrap();
    assert!(
        err.to_string().contains("no rules for market \"xyzabc\""),
        "{err}"
    );
}

#[test]
fn increment_before_snapshot_is_a_gap() {
    let p = write_plain(
        "nosnap.cap",
        &format!(
            "1 {}\n2 {}\n3 {SNAP}\n",
            inc("asks", "1.0", "1.0", 5),
            inc("asks", "1.0", "1.0", 6)
        ),
    );
    let ev = events(&p);
    assert_eq!(
        ev[0],
        EventKind::Gap {
            reason: GapReason::NoSnapshot,
            expected: 0,
            got: 5
        }
    );
    // Reported once, not for every increment until the snapshot.
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, EventKind::Gap { .. }))
            .count(),
        1
    );
}

#[test]
fn a_recorder_resync_counts_its_gap_once() {
    let p = write_plain(
        "resync.cap",
        &format!(
            "1 {SNAP}\n2 {}\n3 {}\n3 !gap {{\"market\":\"btcusdt\",\"expected\":12,\"got\":15}}\n\
             4 !resync {{\"market\":\"btcusdt\"}}\n5 {}\n6 {}\n7 {}\n",
            inc("asks", "101.0", "2.0", 11),
            inc("asks", "101.0", "3.0", 15),
            inc("asks", "101.0", "4.0", 16),
            SNAP.replace("\"sequence\":10", "\"sequence\":20"),
            inc("asks", "101.0", "5.0", 21),
        ),
    );
    let r = inspect(vec![p], markets()).unwrap();
    assert_eq!(r.gaps.len(), 1, "{:?}", r.gaps);
    assert!(r.markets[0].book_valid);
}

#[test]
fn sequence_jump_and_reset_are_gaps() {
    let p = write_plain(
        "gaps.cap",
        &format!(
            "1 {SNAP}\n2 {}\n3 {}\n4 {}\n5 {}\n",
            inc("asks", "101.0", "2.0", 11),
            inc("asks", "101.0", "3.0", 15),
            inc("asks", "101.0", "4.0", 16),
            inc("asks", "101.0", "5.0", 1),
        ),
    );
    let gaps: Vec<_> = events(&p)
        .into_iter()
        .filter(|e| matches!(e, EventKind::Gap { .. }))
        .collect();
    assert_eq!(
        gaps,
        [
            EventKind::Gap {
                reason: GapReason::Jump,
                expected: 12,
                got: 15
            },
            EventKind::Gap {
                reason: GapReason::Reset,
                expected: 17,
                got: 1
            },
        ]
    );
    let r = inspect(vec![p], markets()).unwrap();
    assert_eq!(r.gaps.len(), 2);
    assert!(!r.markets[0].book_valid);
}

#[test]
fn several_files_read_as_one_stream() {
    let a = write_plain(
        "part1.cap",
        &format!("1 {SNAP}\n2 {}\n", inc("bids", "100.0", "3.0", 11)),
    );
    let b = write_plain(
        "part2.cap",
        &format!("3 {}\n", inc("bids", "100.0", "4.0", 12)),
    );
    let r = inspect(vec![a, b], markets()).unwrap();
    assert!(r.gaps.is_empty());
    assert_eq!(r.stats.total_frames(), 3);
    assert_eq!(r.markets[0].best_bid, Some((10_000, 4_000_000)));
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = EventStream::open(vec![PathBuf::from("no/such.cap")], vec![])
        .err()
        .unwrap();
    assert!(
        err.to_string().starts_with("no/such.cap: cannot open"),
        "{err}"
    );
    let mut f = std::fs::File::create(tmp("empty.cap")).unwrap();
    f.flush().unwrap();
    let r = inspect(vec![tmp("empty.cap")], vec![]).unwrap();
    assert_eq!(r.stats.total_frames(), 0);
}

#[test]
fn impossible_prices_and_amounts_name_file_and_line() {
    let trade = |price: &str, amount: &str| {
        format!(
            r#"{{"btcusdt.trades":{{"trades":[{{"tid":1,"taker_type":"sell","date":1,"price":"{price}","amount":"{amount}"}}]}}}}"#
        )
    };
    for (name, line, want) in [
        (
            "negprice.cap",
            trade("-1", "0.5"),
            "trade price \"-1\" is not positive",
        ),
        (
            "negamount.cap",
            trade("100.0", "-5"),
            "trade amount \"-5\" is not positive",
        ),
        (
            "zeroamount.cap",
            trade("100.0", "0"),
            "trade amount \"0\" is not positive",
        ),
        (
            "zerolevel.cap",
            inc("bids", "0", "1.0", 11),
            "price \"0\" is not positive",
        ),
    ] {
        let p = write_plain(name, &format!("1 {SNAP}\n2 {line}\n"));
        let err = EventStream::open(vec![p], markets())
            .unwrap()
            .find_map(|e| e.err())
            .unwrap_or_else(|| panic!("{name} accepted"))
            .to_string();
        assert!(
            err.contains(&format!("{name}:2:")) && err.contains(want),
            "{err}"
        );
    }
}

#[test]
fn a_crossing_update_wins_and_is_reported() {
    // A bid at 105 over the ask at 101: the newer level wins, the ask goes.
    let p = write_plain(
        "crossing.cap",
        &format!("1 {SNAP}\n2 {}\n", inc("bids", "105.0", "1.0", 11)),
    );
    let r = inspect(vec![p], markets()).unwrap();
    let m = &r.markets[0];
    assert_eq!(
        (m.best_bid, m.best_ask, m.crossed),
        (Some((10_500, 1_000_000)), None, false)
    );
    assert_eq!(m.crossings, 1);
    assert!(
        r.to_string()
            .contains("1 feed updates crossed the opposite side"),
        "{r}"
    );
}

#[test]
fn endless_lines_and_bad_hex_are_errors_not_panics() {
    let mut r = CaptureReader::open(Path::new("/dev/zero")).unwrap();
    assert!(r.next_record().unwrap().is_none());
    let w = r.warning().unwrap();
    assert!(w.contains("line 1 is longer than"), "{w}");
    let p = write_plain("hex.cap", "1 !binary \"a\u{e9}b\"\n2 !binary \"0g\"\n");
    let mut r = CaptureReader::open(&p).unwrap();
    let e = r.next_record().unwrap_err().to_string();
    assert!(e.contains(":1:") && e.contains("not hex"), "{e}");
}
