//! The recorder against the project's own emulated exchange.

mod folders;

use altsim::book::Book;
use altsim::ranger::{Markets, Summary};
use altsim::record;
use altsim::serve::{Config as ServeConfig, Faults, Pace, Server};
use altsim::tape::{Body, BookSide, CaptureReader, EventKind, EventStream};
use altsim::venue::market::load_markets;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn out_dir(name: &str) -> PathBuf {
    folders::tmp("record", name)
}

fn serve_config(pace: Pace, faults: Faults) -> ServeConfig {
    let mut c = ServeConfig::new(
        vec![PathBuf::from(SAMPLE)],
        load_markets(Path::new("data/markets.json")).unwrap(),
    );
    c.pace = pace;
    c.faults = faults;
    c.wait_clients = 1;
    c
}

fn record_config(server: &Server, out: &Path) -> record::Config {
    let mut c = record::Config::new(out.to_path_buf(), Markets::List(vec!["btcusdt".into()]));
    c.link.ws = server.ws_url();
    c.link.rest = format!("{}/api/v2/peatio", server.base_url());
    c.link.backoff_min = Duration::from_millis(20);
    c.link.backoff_max = Duration::from_millis(100);
    c.link.flush_every = Duration::from_millis(200);
    c
}

/// Waits, by counts, until playback is over, the recorder is connected and every frame queued
/// for it has been sent; with `all_sent`, also until it has written every frame sent.
async fn delivered(server: &Server, written: &AtomicU64, all_sent: bool) {
    for _ in 0..6000 {
        let s = server.stats();
        // Connected and subscribed (not between a drop and the reconnect: the subscription's
        // answer and snapshot were queued), with nothing in flight.
        let idle = s.clients.iter().any(|c| !c.closed && c.frames_queued >= 2)
            && s.clients
                .iter()
                .all(|c| c.closed || c.frames_sent == c.frames_queued);
        let sent: u64 = s
            .clients
            .iter()
            .map(|c| c.frames_sent + c.malformed_sent)
            .sum();
        if s.playback_done && idle && (!all_sent || written.load(Ordering::Relaxed) >= sent) {
            return;
        }
        // Polling counters, not waiting out a quiet spell: the bound only ends a broken run.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "frames still in flight: {:?}, {} written",
        server.stats().clients,
        written.load(Ordering::Relaxed)
    );
}

/// Frames readable so far in the files of `dir` (an open file reads up to its last flush).
fn frames_on_disk(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut n = 0;
    for f in files {
        let Ok(mut r) = CaptureReader::open(&f) else {
            continue;
        };
        while let Ok(Some(rec)) = r.next_record() {
            n += u64::from(matches!(rec.body, Body::Frame(_)));
        }
    }
    n
}

/// Records until the server has played everything and gone quiet, then stops the recorder;
/// with `all_sent`, first waits until the files hold every frame the server sent.
async fn record_until_quiet(server: &Server, mut cfg: record::Config, all_sent: bool) -> Summary {
    let written = Arc::new(AtomicU64::new(0));
    cfg.link.frames_written = Some(written.clone());
    let (stop, stop_rx) = watch::channel(false);
    let rec = tokio::spawn(record::run(cfg, stop_rx));
    delivered(server, &written, all_sent).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), rec)
        .await
        .expect("the recorder stops in time")
        .unwrap()
        .unwrap()
}

/// Every frame in the capture files, in order.
fn frames_in(files: &[PathBuf]) -> (Vec<String>, Vec<String>) {
    let mut frames = Vec::new();
    let mut sessions = Vec::new();
    for f in files {
        let mut r = CaptureReader::open(f).unwrap();
        assert!(r.header().is_some());
        while let Some(rec) = r.next_record().unwrap() {
            match rec.body {
                Body::Frame(t) => frames.push(t.into_owned()),
                Body::Session(s) => sessions.push(s.name().to_string()),
                Body::Binary(_) => panic!("no binary frames here"),
            }
        }
        assert!(r.warning().is_none(), "{:?}", r.warning());
    }
    (frames, sessions)
}

async fn record_with(
    pace: Pace,
    faults: Faults,
    silence: Duration,
    name: &str,
) -> (Summary, Server, Vec<String>, Vec<String>) {
    let server = Server::start(serve_config(pace, faults)).await.unwrap();
    let out = out_dir(name);
    let mut cfg = record_config(&server, &out);
    cfg.link.silence = silence;
    let summary = record_until_quiet(&server, cfg, true).await;
    let (frames, sessions) = frames_in(&summary.files);
    (summary, server, frames, sessions)
}

/// The book a capture replays to, and what its client could know of the server's book.
struct Replayed {
    book: Book,
    /// The worst bid and ask of the last snapshot: a client knows nothing beyond them, except
    /// what changed since.
    snapshot_edge: [Option<i64>; 2],
    /// (side, price) of every level an increment set after the last snapshot.
    changed: BTreeSet<(BookSide, i64)>,
}

fn side_index(side: BookSide) -> usize {
    usize::from(side == BookSide::Ask)
}

fn replayed(files: &[PathBuf]) -> Replayed {
    let mut s = EventStream::open(files.to_vec(), vec![]).unwrap();
    let mut r = Replayed {
        book: Book::new(),
        snapshot_edge: [None, None],
        changed: BTreeSet::new(),
    };
    while let Some(ev) = s.next_event().unwrap() {
        if ev.market.0 != 0 && ev.market != altsim::tape::MarketId::ALL {
            continue;
        }
        r.book.apply(&ev);
        match ev.kind {
            EventKind::SnapshotStart { .. } => {
                r.snapshot_edge = [None, None];
                r.changed.clear();
            }
            EventKind::SnapshotLevel { side, price, .. } => {
                let edge = &mut r.snapshot_edge[side_index(side)];
                *edge = Some(match (side, *edge) {
                    (_, None) => price,
                    (BookSide::Bid, Some(e)) => e.min(price),
                    (BookSide::Ask, Some(e)) => e.max(price),
                });
            }
            EventKind::Level { side, price, .. } => {
                r.changed.insert((side, price));
            }
            _ => {}
        }
    }
    r
}

/// The replayed book is the server's, exactly, but for what no ranger client can know: a
/// level beyond the depth of the client's last snapshot that no increment touched since.
/// (Such a level can rise into view as the book thins, so no fixed depth is safe to compare.)
fn assert_same_book(r: &Replayed, server: &Book) {
    for side in [BookSide::Bid, BookSide::Ask] {
        for l in r.book.levels(side) {
            assert_eq!(
                server.level(side, l.price),
                l.amount,
                "{side:?} {}: a level the server does not have",
                l.price
            );
        }
        let beyond = |p: i64| match (side, r.snapshot_edge[side_index(side)]) {
            (_, None) => true,
            (BookSide::Bid, Some(e)) => p < e,
            (BookSide::Ask, Some(e)) => p > e,
        };
        for l in server.levels(side) {
            if r.book.level(side, l.price) != l.amount {
                assert!(
                    beyond(l.price) && !r.changed.contains(&(side, l.price)),
                    "{side:?} {}: the server has {} that the client should know",
                    l.price,
                    l.amount
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_loss_under_every_fault() {
    // Every case plays at full speed but `drop-secs`: its drop comes after a time, so its
    // playback is paced to last far longer than that time however busy the machine is.
    let cases: Vec<(&str, Faults, Duration)> = vec![
        ("none", Faults::default(), Duration::from_secs(60)),
        (
            "drop-frames",
            Faults {
                drop_after_frames: Some(60_000),
                ..Faults::default()
            },
            Duration::from_secs(60),
        ),
        (
            "drop-secs",
            Faults {
                drop_after: Some(Duration::from_millis(250)),
                ..Faults::default()
            },
            Duration::from_secs(60),
        ),
        (
            "skip-seq",
            Faults {
                skip_seq_every: Some(50_000),
                ..Faults::default()
            },
            Duration::from_secs(60),
        ),
        (
            "restart-seq",
            Faults {
                restart_seq_every: Some(70_000),
                ..Faults::default()
            },
            Duration::from_secs(60),
        ),
        (
            "malformed",
            Faults {
                malformed_every: Some(10_000),
                ..Faults::default()
            },
            Duration::from_secs(60),
        ),
        (
            "stall",
            Faults {
                stall_every: Some(100_000),
                stall_for: Some(Duration::from_millis(1500)),
                ..Faults::default()
            },
            Duration::from_secs(5),
        ),
    ];
    for (name, faults, silence) in cases {
        let pace = if faults.drop_after.is_some() {
            Pace::Recorded { speed: 400.0 }
        } else {
            Pace::Max
        };
        let (summary, server, frames, sessions) = record_with(pace, faults, silence, name).await;
        let stats = server.stats();
        let sent: u64 = stats
            .clients
            .iter()
            .map(|c| c.frames_sent + c.malformed_sent)
            .sum();
        assert_eq!(
            frames.len() as u64,
            sent,
            "{name}: every frame sent is in the capture"
        );
        assert_eq!(summary.total_frames(), sent, "{name}");
        let connects = sessions.iter().filter(|s| *s == "connect").count();
        let disconnects = sessions.iter().filter(|s| *s == "disconnect").count();
        assert_eq!(connects, stats.clients.len(), "{name}");
        assert_eq!(disconnects, connects, "{name}");
        assert_eq!(summary.reconnects as usize, connects - 1, "{name}");
        match name {
            "none" | "malformed" | "stall" => assert_eq!(connects, 1, "{name}"),
            "skip-seq" | "restart-seq" => {
                assert!(
                    summary.gaps >= 2 && summary.resyncs == summary.gaps,
                    "{name}: {summary:?}"
                );
                assert_eq!(
                    sessions.iter().filter(|s| *s == "gap").count() as u64,
                    summary.gaps
                );
            }
            _ => assert!(connects >= 2, "{name}: {connects} connections"),
        }
        if name == "malformed" {
            assert!(
                frames
                    .iter()
                    .filter(|f| f.starts_with("{\"malformed\""))
                    .count()
                    >= 20
            );
        }
        let book = server.book("btcusdt").unwrap();
        eprintln!("{name}: {} connections, {} gaps", connects, summary.gaps);
        assert_same_book(&replayed(&summary.files), &book);
        if connects == 1 && summary.gaps == 0 {
            // One connection, no gap: every increment in order, sequence +1 each.
            let seqs: Vec<u64> = frames
                .iter()
                .filter_map(|f| match altsim::venue::Frame::parse(f) {
                    Ok(altsim::venue::Frame::Increment(inc)) => inc.sequence,
                    _ => None,
                })
                .collect();
            assert_eq!(seqs.len(), 268_176, "{name}");
            assert!(
                seqs.windows(2).all(|w| w[1] == w[0] + 1),
                "{name}: out of order"
            );
        }
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_dropped_and_replaced() {
    let faults = Faults {
        stall_every: Some(100_000),
        stall_for: Some(Duration::from_secs(2)),
        ..Faults::default()
    };
    let server = Server::start(serve_config(Pace::Max, faults))
        .await
        .unwrap();
    let out = out_dir("silence");
    let mut cfg = record_config(&server, &out);
    cfg.link.silence = Duration::from_millis(500);
    let summary = record_until_quiet(&server, cfg, false).await;
    assert!(summary.reconnects >= 1, "{summary:?}");
    let (frames, sessions) = frames_in(&summary.files);
    assert!(sessions.iter().filter(|s| *s == "disconnect").count() >= 2);
    // What the server wrote after the recorder gave up on the connection is lost with it;
    // everything before is there.
    let first = server.stats().clients[0].frames_sent;
    assert!(frames.len() as u64 >= 100_000 && first >= 100_000);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_by_size_reads_back_as_one_stream() {
    let server = Server::start(serve_config(Pace::Max, Faults::default()))
        .await
        .unwrap();
    let out = out_dir("rotation");
    let mut cfg = record_config(&server, &out);
    cfg.max_bytes = Some(150_000);
    cfg.link.flush_every = Duration::from_millis(20);
    let summary = record_until_quiet(&server, cfg, true).await;
    assert!(summary.files.len() >= 4, "{} files", summary.files.len());
    let mut sorted = summary.files.clone();
    sorted.sort();
    assert_eq!(sorted, summary.files, "names sort in time");
    let report = altsim::inspect::inspect(summary.files.clone(), vec![]).unwrap();
    assert_eq!(report.stats.total_frames(), 288_081);
    assert!(report.gaps.is_empty());
    assert_eq!(report.markets[0].trades, 19_903);
    assert_same_book(&replayed(&summary.files), &server.book("btcusdt").unwrap());
    server.stop().await;
}

/// kill -9 keeps every flushed frame readable, and a log that went away (stderr a closed pipe,
/// as in `altsim record … 2>&1 | head -1`) never stops the recorder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_keeps_what_was_flushed_and_a_closed_log_stops_nothing() {
    let server = Server::start(serve_config(
        Pace::Recorded { speed: 10.0 },
        Faults {
            drop_after_frames: Some(2_000),
            ..Faults::default()
        },
    ))
    .await
    .unwrap();
    let out = out_dir("crash");
    let (log_reader, log_writer) = std::io::pipe().unwrap();
    drop(log_reader);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_altsim"))
        .args(["record", "--markets", "btcusdt", "--out"])
        .arg(&out)
        .args([
            "--ws",
            &server.ws_url(),
            "--rest",
            &format!("{}/api/v2/peatio", server.base_url()),
        ])
        .stderr(log_writer)
        .spawn()
        .unwrap();
    // Every 2,000 frames the server drops the connection and the recorder logs its reconnect
    // to the closed stderr; it must go on recording past several of them.
    let mut seen = 0;
    for _ in 0..1200 {
        seen = frames_on_disk(&out);
        if seen >= 7_000 || child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the recorder stopped when its log went away"
    );
    assert!(seen >= 7_000, "only {seen} frames were flushed");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let sent = server
        .stats()
        .clients
        .iter()
        .map(|c| c.frames_sent)
        .sum::<u64>();
    let connections = server.stats().clients.len();
    assert!(connections >= 4, "{connections} connections");
    let files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let mut r = CaptureReader::open(&files[0]).unwrap();
    let mut frames = 0u64;
    while let Some(rec) = r.next_record().unwrap() {
        if matches!(rec.body, Body::Frame(_)) {
            frames += 1;
        }
    }
    assert!(
        frames >= seen,
        "{frames} frames after the kill, {seen} before"
    );
    assert!(frames <= sent, "{frames} > {sent}");
    let w = r
        .warning()
        .expect("the reader says where the cut file stopped");
    assert!(w.contains("stopped after line"), "{w}");
    server.stop().await;
}
