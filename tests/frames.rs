//! Every frame shape of docs/protocol.md §3 parses and prints back to the same JSON.

use altsim::venue::{ClientRequest, Frame, FrameKind};

fn round_trip(text: &str, kind: FrameKind) {
    let frame = Frame::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(frame.kind(), kind, "{text}");
    assert_eq!(frame.to_json(), text);
    if text != "pong" {
        let a: serde_json::Value = serde_json::from_str(text).unwrap();
        let b: serde_json::Value = serde_json::from_str(&frame.to_json()).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn public_frames_round_trip() {
    round_trip(
        r#"{"success":{"message":"subscribed","streams":["btcusdt.ob-inc","btcusdt.trades"]}}"#,
        FrameKind::Success,
    );
    round_trip(
        r#"{"success":{"message":"unsubscribed","streams":[]}}"#,
        FrameKind::Success,
    );
    round_trip(r#"{"error":"Could not parse \"x\""}"#, FrameKind::Error);
    round_trip("pong", FrameKind::Pong);
    round_trip(
        r#"{"btcusdt.ob-snap":{"asks":[["61837.64","1.54698"],["61837.65","0.00843"]],"bids":[["61837.63","3.78826"]],"sequence":41}}"#,
        FrameKind::Snapshot,
    );
    round_trip(
        r#"{"btcusdt.ob-snap":{"asks":[],"bids":[],"sequence":1}}"#,
        FrameKind::Snapshot,
    );
    round_trip(
        r#"{"btcusdt.ob-inc":{"asks":["15.0","22.1257"],"sequence":42}}"#,
        FrameKind::Increment,
    );
    round_trip(
        r#"{"btcusdt.ob-inc":{"bids":["61820.99",""],"sequence":43}}"#,
        FrameKind::Increment,
    );
    round_trip(
        r#"{"btcusdt.ob-inc":{"asks":[["15.0","22.1257"],["15.5","0"]],"bids":[["14.0","1.0"]]}}"#,
        FrameKind::Increment,
    );
    round_trip(
        r#"{"btcusdt.trades":{"trades":[{"tid":3735683260,"taker_type":"sell","date":1723161255,"price":"61837.63","amount":"0.048"}]}}"#,
        FrameKind::Trades,
    );
    round_trip(
        r#"{"dogebtc.trades":{"trades":[{"tid":1,"taker_type":"buy","date":1,"price":"0.00000419","amount":"60.0"},{"tid":2,"taker_type":"sell","date":2,"price":"0.0000042","amount":"1.5"}]}}"#,
        FrameKind::Trades,
    );
}

#[test]
fn private_frames_round_trip() {
    round_trip(
        r#"{"order":{"id":7,"market":"btcusdt","kind":"bid","side":"buy","ord_type":"limit","price":"60000.0","avg_price":"0.0","state":"wait","origin_volume":"0.5","remaining_volume":"0.5","executed_volume":"0.0","at":1723161255,"created_at":1723161255,"updated_at":1723161255,"trades_count":0}}"#,
        FrameKind::Order,
    );
    round_trip(
        r#"{"order":{"id":8,"market":"btcusdt","kind":"ask","side":"sell","ord_type":"market","price":null,"avg_price":"61000.5","state":"done","origin_volume":"1.0","remaining_volume":"0.0","executed_volume":"1.0","at":1,"created_at":1,"updated_at":2,"trades_count":2}}"#,
        FrameKind::Order,
    );
    round_trip(
        r#"{"trade":{"id":3,"price":"60000.0","amount":"0.5","total":"30000.0","market":"btcusdt","side":"buy","taker_type":"buy","created_at":1723161255,"order_id":7}}"#,
        FrameKind::Trade,
    );
    round_trip(
        r#"{"trade":{"id":4,"price":"0.00000419","amount":"60.0","total":"0.0002514","market":"dogebtc","side":"sell","taker_type":"buy","created_at":1,"order_id":9,"fee_currency":"btc","fee":"0.0025","fee_amount":"0.0000006285"}}"#,
        FrameKind::Trade,
    );
    round_trip(
        r#"{"balance":{"currency":"btc","balance":"1.5","locked":"0.5"}}"#,
        FrameKind::Balance,
    );
}

#[test]
fn client_requests_round_trip() {
    for text in [
        r#"{"event":"subscribe","streams":["btcusdt.ob-inc","btcusdt.trades"]}"#,
        r#"{"event":"unsubscribe","streams":["btcusdt.trades"]}"#,
        "ping",
    ] {
        assert_eq!(ClientRequest::parse(text).unwrap().to_json(), text);
    }
    assert_eq!(
        ClientRequest::parse(r#"{"event":"subscribe","id":3,"streams":["a.trades"]}"#).unwrap(),
        ClientRequest::Subscribe(vec!["a.trades".into()])
    );
    assert!(ClientRequest::parse(r#"{"event":"dance","streams":[]}"#).is_err());
    assert!(ClientRequest::parse("{").is_err());
}

#[test]
fn whitespace_and_number_amounts_are_accepted() {
    let f =
        Frame::parse(r#" { "btcusdt.ob-inc" : { "sequence" : 5 , "asks" : [ "1.0" , 2.5 ] } } "#)
            .unwrap();
    match f {
        Frame::Increment(inc) => {
            assert_eq!(inc.sequence, Some(5));
            assert_eq!(inc.asks.unwrap().as_slice()[0].volume, "2.5");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_frames_are_errors_with_a_reason() {
    let cases = [
        ("", "malformed JSON"),
        ("{", "malformed JSON"),
        ("[1,2]", "malformed JSON"),
        (r#"{"btcusdt.candles":{}}"#, "unknown stream"),
        (r#"{"btcusdt.ob-inc":{}}"#, "neither asks nor bids"),
        (
            r#"{"btcusdt.ob-inc":{"asks":["1.0"],"sequence":1}}"#,
            "malformed JSON",
        ),
        (
            r#"{"btcusdt.ob-inc":{"asks":["1.0","2"],"sequence":-1}}"#,
            "malformed JSON",
        ),
        (
            r#"{"btcusdt.trades":{"trades":[{"tid":1}]}}"#,
            "missing field",
        ),
        (
            r#"{"btcusdt.trades":{"trades":[{"tid":1,"taker_type":"hold","date":1,"price":"1","amount":"1"}]}}"#,
            "taker_type",
        ),
        (r#"{"order":{"id":1}}"#, "order frame"),
        (r#"{"error":"a","x":1}"#, "more than one key"),
        (
            r#"{"btcusdt.ob-inc":{"asks":["1.0","2"],"sequence":1}} trailing"#,
            "end of frame",
        ),
    ];
    for (text, want) in cases {
        let err = Frame::parse(text).expect_err(text);
        assert!(err.reason.contains(want), "{text}: {}", err.reason);
    }
}
