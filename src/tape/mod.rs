//! Recordings: the capture file format, reading it back, and normalization into events.

pub mod cache;
pub mod format;
pub mod normalize;
pub mod reader;
pub mod stream;
pub mod writer;

pub use format::{Header, Session};
pub use normalize::{
    BookSide, Event, EventKind, GapReason, MarketId, NormError, Normalizer, OffRules,
};
pub use reader::{BadRecord, Body, CaptureReader, Compression, Reason, Record, TapeError};
pub use stream::{EventStream, StreamStats, Tally, MAX_MALFORMED_NOTES, TIME_JUMP_NS};
pub use writer::CaptureWriter;
