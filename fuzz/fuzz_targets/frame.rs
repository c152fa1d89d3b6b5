//! The ranger frame parser on arbitrary text: a frame or an error, never a panic.
#![no_main]

use altsim::venue::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Frame::parse(text);
    }
});
