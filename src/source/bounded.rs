//! Readers that bound what a file may cost: [`Bounded`] fails once a stream passes its size
//! limit (or, for an inflating stream, a ratio to the compressed bytes under it), and says
//! why, so the JSON parser's "I/O error" is not mistaken for bad JSON; [`Counted`] counts the
//! compressed side for that ratio.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// Why a stream stopped below the JSON parser, kept so that its error is not mistaken for a
/// syntax error (the parser only sees "I/O error").
#[derive(Debug)]
pub enum Fault {
    TooLarge,
    Bomb,
    Io(io::ErrorKind, String),
}

/// Past [`RATIO_FREE_BYTES`] inflated, a gzip stream may hold at most this many times the
/// compressed bytes read so far. CloudTrail JSON inflates 10 to 30 times; a stream of spaces
/// inflates a thousand times, and is refused after costing a few hundred megabytes of work
/// instead of `max_file_bytes`.
pub const MAX_RATIO: u64 = 128;
pub const RATIO_FREE_BYTES: u64 = 64 << 20;

/// A reader that fails once more than `limit` bytes came through (or, with `ratio_of`, more
/// than [`MAX_RATIO`] times what that counter says was read below it), remembering why.
pub struct Bounded<R> {
    inner: R,
    limit: u64,
    count: u64,
    ratio_of: Option<Rc<Cell<u64>>>,
    fault: Option<Fault>,
}

impl<R: Read> Bounded<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            limit,
            count: 0,
            ratio_of: None,
            fault: None,
        }
    }

    /// Also fail once more than [`MAX_RATIO`] times what `below` counts came through (past
    /// [`RATIO_FREE_BYTES`]).
    pub fn ratio_of(&mut self, below: Rc<Cell<u64>>) {
        self.ratio_of = Some(below);
    }

    /// Why the stream stopped, if it was this reader that stopped it.
    pub fn fault(self) -> Option<Fault> {
        self.fault
    }

    fn over(&self) -> Option<Fault> {
        if self.count > self.limit {
            return Some(Fault::TooLarge);
        }
        let raw = self.ratio_of.as_ref()?.get();
        (self.count > RATIO_FREE_BYTES && self.count > raw.saturating_mul(MAX_RATIO))
            .then_some(Fault::Bomb)
    }
}

/// Counts the bytes read through it into a shared cell (the compressed side of a gzip stream).
pub struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Counted<R> {
    pub fn new(inner: R) -> Self {
        Counted {
            inner,
            count: Rc::new(Cell::new(0)),
        }
    }

    /// The running count, shared.
    pub fn count(&self) -> Rc<Cell<u64>> {
        self.count.clone()
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.fault.is_some() {
            return Err(io::Error::other("stream already failed"));
        }
        match self.inner.read(buf) {
            Ok(n) => {
                self.count += n as u64;
                if let Some(fault) = self.over() {
                    self.fault = Some(fault);
                    return Err(io::Error::other("size limit reached"));
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.fault = Some(Fault::Io(e.kind(), e.to_string()));
                Err(e)
            }
        }
    }
}
