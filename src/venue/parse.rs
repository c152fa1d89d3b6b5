//! Parsing of the public market-data frames: a fast path for the one-level increment ranger
//! prints, and a borrowing scanner for the rest.

use super::frame::{
    bad, Frame, FrameError, IncLevels, Increment, Level, PublicTrade, Side, Snapshot, Trades,
};
use super::scan::Scanner;
use serde::Deserialize;
use std::borrow::Cow;

/// The one-level increment exactly as ranger prints it, read without the general scanner:
/// `{"<m>.ob-inc":{"asks":["p","v"],"sequence":S}}`. Anything else goes the general way.
#[inline]
pub(super) fn fast_increment(text: &str) -> Option<Increment<'_>> {
    fn quoted(b: &[u8], from: usize) -> Option<usize> {
        let end = from + memchr::memchr(b'"', b.get(from..)?)?;
        b[from..end]
            .iter()
            .all(|&c| c != b'\\' && c >= 0x20)
            .then_some(end)
    }
    let b = text.as_bytes();
    if !b.starts_with(b"{\"") {
        return None;
    }
    let key_end = quoted(b, 2)?;
    let market = text[2..key_end].strip_suffix(".ob-inc")?;
    let mut i = key_end;
    let rest = b.get(i..)?;
    let asks = if rest.starts_with(b"\":{\"asks\":[\"") {
        true
    } else if rest.starts_with(b"\":{\"bids\":[\"") {
        false
    } else {
        return None;
    };
    i += 12;
    let price_end = quoted(b, i)?;
    let price = &text[i..price_end];
    i = price_end;
    if !b.get(i..)?.starts_with(b"\",\"") {
        return None;
    }
    i += 3;
    let vol_end = quoted(b, i)?;
    let volume = &text[i..vol_end];
    i = vol_end;
    if !b.get(i..)?.starts_with(b"\"],\"sequence\":") {
        return None;
    }
    i += 14;
    let digits_end = i + b[i..].iter().position(|c| !c.is_ascii_digit())?;
    if &b[digits_end..] != b"}}" || digits_end == i || digits_end - i > 19 {
        return None;
    }
    let sequence = crate::fixed::parse_u64(&b[i..digits_end])?;
    let level = Some(IncLevels::Flat(Level { price, volume }));
    let (asks, bids) = if asks { (level, None) } else { (None, level) };
    Some(Increment {
        market,
        asks,
        bids,
        sequence: Some(sequence),
    })
}

pub(super) fn from_raw<T: for<'de> Deserialize<'de>>(
    raw: &str,
    what: &str,
) -> Result<T, FrameError> {
    serde_json::from_str(raw).map_err(|e| bad(format!("{what} frame: {e}")))
}

pub(super) fn plain<'a>(s: Cow<'a, str>, what: &str) -> Result<&'a str, FrameError> {
    match s {
        Cow::Borrowed(b) => Ok(b),
        Cow::Owned(_) => Err(bad(format!("{what} must not contain escapes"))),
    }
}

/// A number sent as a string (Peatio's style) or as a bare number.
fn num_text<'a>(s: &mut Scanner<'a>, what: &str) -> Result<&'a str, FrameError> {
    if s.peek() == Some(b'"') {
        plain(s.string()?, what)
    } else {
        Ok(s.number()?)
    }
}

fn parse_level<'a>(s: &mut Scanner<'a>) -> Result<Level<'a>, FrameError> {
    s.expect(b'[', "'[' opening a level")?;
    let price = num_text(s, "price")?;
    s.expect(b',', "',' between price and volume")?;
    let volume = num_text(s, "volume")?;
    s.expect(b']', "']' closing a level")?;
    Ok(Level { price, volume })
}

fn parse_level_list<'a>(s: &mut Scanner<'a>) -> Result<Vec<Level<'a>>, FrameError> {
    s.expect(b'[', "'[' opening a level list")?;
    let mut out = Vec::new();
    if s.eat(b']') {
        return Ok(out);
    }
    loop {
        out.push(parse_level(s)?);
        if !s.next_item(b']')? {
            return Ok(out);
        }
    }
}

pub(super) fn parse_snapshot<'a>(
    s: &mut Scanner<'a>,
    market: &'a str,
) -> Result<Snapshot<'a>, FrameError> {
    let mut snap = Snapshot {
        market,
        asks: Vec::new(),
        bids: Vec::new(),
        sequence: None,
    };
    s.expect(b'{', "'{' opening ob-snap")?;
    if s.eat(b'}') {
        return Ok(snap);
    }
    loop {
        let key = s.string()?;
        s.expect(b':', "':'")?;
        match key.as_ref() {
            "asks" => snap.asks = parse_level_list(s)?,
            "bids" => snap.bids = parse_level_list(s)?,
            "sequence" => snap.sequence = Some(s.uint()?),
            other => return Err(bad(format!("ob-snap: unknown field {other:?}"))),
        }
        if !s.next_item(b'}')? {
            return Ok(snap);
        }
    }
}

fn parse_inc_levels<'a>(s: &mut Scanner<'a>) -> Result<IncLevels<'a>, FrameError> {
    // Flat `["p","v"]` or nested `[["p","v"],…]`: look past the opening bracket.
    let mut look = s.clone();
    look.expect(b'[', "'[' opening levels")?;
    if look.peek() == Some(b'[') || look.peek() == Some(b']') {
        Ok(IncLevels::Nested(parse_level_list(s)?))
    } else {
        Ok(IncLevels::Flat(parse_level(s)?))
    }
}

pub(super) fn parse_increment<'a>(
    s: &mut Scanner<'a>,
    market: &'a str,
) -> Result<Increment<'a>, FrameError> {
    let mut inc = Increment {
        market,
        asks: None,
        bids: None,
        sequence: None,
    };
    s.expect(b'{', "'{' opening ob-inc")?;
    if s.eat(b'}') {
        return Err(bad("ob-inc with neither asks nor bids"));
    }
    loop {
        let key = s.string()?;
        s.expect(b':', "':'")?;
        match key.as_ref() {
            "asks" => inc.asks = Some(parse_inc_levels(s)?),
            "bids" => inc.bids = Some(parse_inc_levels(s)?),
            "sequence" => inc.sequence = Some(s.uint()?),
            other => return Err(bad(format!("ob-inc: unknown field {other:?}"))),
        }
        if !s.next_item(b'}')? {
            break;
        }
    }
    if inc.asks.is_none() && inc.bids.is_none() {
        return Err(bad("ob-inc with neither asks nor bids"));
    }
    Ok(inc)
}

fn parse_trade<'a>(s: &mut Scanner<'a>) -> Result<PublicTrade<'a>, FrameError> {
    s.expect(b'{', "'{' opening a trade")?;
    let (mut tid, mut side, mut date, mut price, mut amount) = (None, None, None, None, None);
    if !s.eat(b'}') {
        loop {
            let key = s.string()?;
            s.expect(b':', "':'")?;
            match key.as_ref() {
                "tid" => tid = Some(s.uint()?),
                "taker_type" => {
                    side = Some(match s.string()?.as_ref() {
                        "buy" => Side::Buy,
                        "sell" => Side::Sell,
                        other => return Err(bad(format!("trade: taker_type {other:?}"))),
                    })
                }
                "date" | "created_at" => date = Some(s.int()?),
                "price" => price = Some(num_text(s, "price")?),
                "amount" => amount = Some(num_text(s, "amount")?),
                _ => {
                    s.raw_value()?;
                }
            }
            if !s.next_item(b'}')? {
                break;
            }
        }
    }
    let missing = |f: &str| bad(format!("trade: missing field {f:?}"));
    Ok(PublicTrade {
        tid: tid.ok_or_else(|| missing("tid"))?,
        taker_type: side.ok_or_else(|| missing("taker_type"))?,
        date: date.ok_or_else(|| missing("date"))?,
        price: price.ok_or_else(|| missing("price"))?,
        amount: amount.ok_or_else(|| missing("amount"))?,
    })
}

pub(super) fn parse_trades<'a>(
    s: &mut Scanner<'a>,
    market: &'a str,
) -> Result<Trades<'a>, FrameError> {
    let mut out = Trades {
        market,
        trades: Vec::with_capacity(1),
    };
    s.expect(b'{', "'{' opening trades")?;
    let key = s.string()?;
    if key != "trades" {
        return Err(bad(format!("trades: unknown field {key:?}")));
    }
    s.expect(b':', "':'")?;
    s.expect(b'[', "'[' opening the trade list")?;
    if !s.eat(b']') {
        loop {
            out.trades.push(parse_trade(s)?);
            if !s.next_item(b']')? {
                break;
            }
        }
    }
    s.expect(b'}', "'}' closing trades")?;
    Ok(out)
}

pub(super) fn parse_success<'a>(s: &mut Scanner<'a>) -> Result<Frame<'a>, FrameError> {
    let (mut message, mut streams) = (None, Vec::new());
    s.expect(b'{', "'{' opening success")?;
    if !s.eat(b'}') {
        loop {
            let key = s.string()?;
            s.expect(b':', "':'")?;
            match key.as_ref() {
                "message" => message = Some(s.string()?),
                "streams" => {
                    s.expect(b'[', "'[' opening streams")?;
                    if !s.eat(b']') {
                        loop {
                            streams.push(s.string()?);
                            if !s.next_item(b']')? {
                                break;
                            }
                        }
                    }
                }
                other => return Err(bad(format!("success: unknown field {other:?}"))),
            }
            if !s.next_item(b'}')? {
                break;
            }
        }
    }
    Ok(Frame::Success {
        message: message.ok_or_else(|| bad("success: missing message"))?,
        streams,
    })
}
