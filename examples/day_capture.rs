//! Writes a long capture made of the shipped sample repeated: `COPIES` copies (133, about a
//! day of BTC/USDT, by default) one after another, each with its receive times, trade times,
//! sequences and trade ids moved past the copy before. Each copy starts with the sample's
//! snapshot, so the book is whole at every join. For measuring how altsim scales with a
//! capture's length (`benches/day-scale.sh`).
//!
//!     cargo run --release --example day_capture -- OUT.ranger.zst [COPIES]

use std::io::{BufRead, Write};

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

/// The digits after `key` in `line`, as (start, end, value).
fn number_after(line: &str, key: &str) -> Option<(usize, usize, u64)> {
    let start = line.find(key)? + key.len();
    let len = line[start..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(line.len() - start);
    let v = line[start..start + len].parse().ok()?;
    Some((start, start + len, v))
}

/// `line` with every number after `key` moved by `by`.
fn shift(line: &str, key: &str, by: u64) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    while let Some((s, e, v)) = number_after(rest, key) {
        out.push_str(&rest[..s]);
        out.push_str(&(v + by).to_string());
        rest = &rest[e..];
    }
    out.push_str(rest);
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: day_capture OUT.ranger.zst [COPIES]")?;
    let copies: u64 = args.next().map_or(Ok(133), |c| c.parse())?;
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(SAMPLE)?);
    let lines: Vec<String> = std::io::BufReader::new(gz)
        .lines()
        .collect::<Result<_, _>>()?;
    let time = |l: &str| l.split_once(' ').and_then(|(t, _)| t.parse::<i64>().ok());
    let first = lines
        .iter()
        .find_map(|l| time(l))
        .ok_or("an empty sample")?;
    let last = lines
        .iter()
        .rev()
        .find_map(|l| time(l))
        .ok_or("an empty sample")?;
    // A copy's length in whole seconds, so trade times (in seconds) move with receive times.
    let span_s = ((last - first) / 1_000_000_000 + 1) as u64;
    let seqs: Vec<u64> = lines
        .iter()
        .filter_map(|l| number_after(l, "\"sequence\":").map(|x| x.2))
        .collect();
    let (lo, hi) = (
        seqs.iter().min().ok_or("no sequence")?,
        seqs.iter().max().ok_or("no sequence")?,
    );
    // The next copy's snapshot comes right after this copy's last increment.
    let seq_step = hi - lo + 1;
    let tids: Vec<u64> = lines
        .iter()
        .filter_map(|l| number_after(l, "\"tid\":").map(|x| x.2))
        .collect();
    let tid_step = tids.iter().max().unwrap_or(&0) - tids.iter().min().unwrap_or(&0) + 1;
    let file = std::fs::File::create(&out)?;
    let mut w = zstd::stream::write::Encoder::new(std::io::BufWriter::new(file), 3)?;
    for k in 0..copies {
        let dt = k * span_s;
        for (i, l) in lines.iter().enumerate() {
            // The subscription answer once, at the start.
            if k > 0 && i == 0 && l.contains("\"success\"") {
                continue;
            }
            let Some((t, body)) = l.split_once(' ') else {
                continue;
            };
            let t: i64 = t.parse()?;
            let mut body = shift(body, "\"sequence\":", k * seq_step);
            if body.contains("\"tid\":") {
                body = shift(&shift(&body, "\"tid\":", k * tid_step), "\"date\":", dt);
            }
            writeln!(w, "{} {body}", t + (dt * 1_000_000_000) as i64)?;
        }
    }
    w.finish()?.flush()?;
    eprintln!(
        "{out}: {copies} copies of {} records, {} s each",
        lines.len(),
        span_s
    );
    Ok(())
}
