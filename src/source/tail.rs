//! Tailing an NDJSON file that grows.
//!
//! The file is read from the last offset to what is there now, line by line. A last line
//! without its newline is left for the next read (the writer is still writing it). A line
//! longer than `max_line_bytes` is reported once and skipped up to its newline, so one runaway
//! line costs neither memory nor the events after it. The file stays open between reads so that
//! a rename (rotation) does not lose its last lines; a file that shrank below the offset was
//! truncated in place (copytruncate) and is read again from the start.

use super::fingerprint::{FileKey, Fingerprint};
use super::{Batch, Limits, RawRecord};
use crate::event::reader::{BadInput, Place};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::SystemTime;

/// A tailed file and the position read so far.
#[derive(Debug)]
pub struct Tail {
    pub fingerprint: Fingerprint,
    pub path: PathBuf,
    file: Option<File>,
    pub offset: u64,
    pub line: u64,
    /// The line number of an over-long line being skipped.
    skipping: Option<u64>,
    /// Size and modification time when the descriptor was given up with everything read;
    /// while they stay the same there is nothing to reopen the file for.
    closed_at: Option<(u64, Option<SystemTime>)>,
}

impl Tail {
    pub fn new(fingerprint: Fingerprint, path: PathBuf, offset: u64, line: u64) -> Tail {
        Tail {
            fingerprint,
            path,
            file: None,
            offset,
            line,
            skipping: None,
            closed_at: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// Releases the file descriptor (it is reopened by path when the file changes).
    pub fn close(&mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        // Only a file read to its end may be skipped until it changes; with data still
        // unread (a batch cut at `batch_records`) the next poll must reopen it.
        self.closed_at = file
            .metadata()
            .ok()
            .filter(|m| m.len() == self.offset)
            .map(|m| (m.len(), m.modified().ok()));
    }

    /// False only for a closed tail whose file (looked up by path, without opening it) still
    /// has the size and modification time it had when closed: reading it would find nothing.
    pub fn may_have_changed(&self) -> bool {
        let Some(closed_at) = self.closed_at else {
            return true;
        };
        if self.file.is_some() {
            return true;
        }
        match std::fs::metadata(&self.path) {
            Ok(m) => {
                FileKey::of(&m) != self.fingerprint.key || (m.len(), m.modified().ok()) != closed_at
            }
            Err(_) => true,
        }
    }

    fn open(&mut self) -> io::Result<File> {
        if let Some(file) = self.file.take() {
            return Ok(file);
        }
        self.closed_at = None;
        if !self.fingerprint.still_matches(&self.path)? {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the file at this path is no longer the tailed file",
            ));
        }
        // Checked on the descriptor, not the path: a swap in between cannot make the reader
        // block on a FIFO or read a device for ever.
        super::fingerprint::open_regular(&self.path)
    }

    /// Reads what is new, up to `limits.batch_records` records. `Ok(None)` when there is
    /// nothing complete to hand on.
    pub fn read(&mut self, limits: &Limits) -> io::Result<Option<Batch>> {
        let mut file = self.open()?;
        let result = self.read_from(&mut file, limits);
        self.file = Some(file);
        result
    }

    fn read_from(&mut self, file: &mut File, limits: &Limits) -> io::Result<Option<Batch>> {
        let offset = self.offset;
        let len = file.metadata()?.len();
        // Truncated in place (copytruncate) and already rewritten past the old offset: the
        // size alone cannot tell, the first bytes can.
        let rewritten = offset > 0 && len >= offset && {
            file.seek(SeekFrom::Start(0))?;
            let (head_len, head_hash) =
                super::fingerprint::head_hash(file, self.fingerprint.head_len)?;
            head_len != self.fingerprint.head_len || head_hash != self.fingerprint.head_hash
        };
        if len < offset || rewritten {
            // Truncated in place: everything now in the file is new.
            file.seek(SeekFrom::Start(0))?;
            let (head_len, head_hash) =
                super::fingerprint::head_hash(file, super::fingerprint::HEAD_BYTES)?;
            self.fingerprint.head_len = head_len;
            self.fingerprint.head_hash = head_hash;
            self.offset = 0;
            self.line = 0;
            self.skipping = None;
            return self.read_from(file, limits);
        }
        if len == offset {
            return Ok(None);
        }
        file.seek(SeekFrom::Start(offset))?;
        let mut reader = BufReader::with_capacity(64 * 1024, Read::by_ref(file).take(len - offset));
        let mut records = Vec::new();
        let mut bad = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let (mut pos, mut line, mut skipping) = (self.offset, self.line, self.skipping);
        while records.len() < limits.batch_records {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let newline = memchr::memchr(b'\n', buf);
            if skipping.is_some() {
                let n = newline.map_or(buf.len(), |i| i + 1);
                reader.consume(n);
                pos += n as u64;
                if newline.is_some() {
                    skipping = None;
                }
                continue;
            }
            match newline {
                Some(i) => {
                    pending.extend_from_slice(&buf[..i]);
                    reader.consume(i + 1);
                    line += 1;
                    pos += pending.len() as u64 + 1;
                    let text = pending.trim_ascii();
                    if pending.len() > limits.max_line_bytes {
                        bad.push(self.too_long(line, limits));
                    } else if !text.is_empty() {
                        records.push(RawRecord {
                            place: Place::Line(line),
                            bytes: text.to_vec(),
                        });
                    }
                    pending.clear();
                }
                None => {
                    let n = buf.len();
                    pending.extend_from_slice(buf);
                    reader.consume(n);
                    if pending.len() > limits.max_line_bytes {
                        line += 1;
                        bad.push(self.too_long(line, limits));
                        pos += pending.len() as u64;
                        pending = Vec::new();
                        skipping = Some(line);
                    }
                }
            }
        }
        // Whatever is left in `pending` is a line still being written: not consumed.
        self.offset = pos;
        self.line = line;
        self.skipping = skipping;
        if records.is_empty() && bad.is_empty() && pos == offset {
            return Ok(None);
        }
        Ok(Some(Batch {
            fingerprint: self.fingerprint.clone(),
            path: self.path.clone(),
            records,
            bad,
            offset: self.offset,
            line: self.line,
            done: false,
        }))
    }

    fn too_long(&self, line: u64, limits: &Limits) -> BadInput {
        BadInput {
            path: self.path.clone(),
            place: Some(Place::Line(line)),
            message: format!(
                "line longer than max_line_bytes ({} bytes); skipped",
                limits.max_line_bytes
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tail_of(path: &std::path::Path) -> Tail {
        Tail::new(Fingerprint::of(path).unwrap(), path.to_path_buf(), 0, 0)
    }

    fn append(path: &std::path::Path, bytes: &[u8]) {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    #[test]
    fn holds_a_partial_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.ndjson");
        std::fs::write(&p, b"{\"a\":1}\n{\"a\":").unwrap();
        let mut t = tail_of(&p);
        let limits = Limits::default();
        let b = t.read(&limits).unwrap().unwrap();
        assert_eq!(b.records.len(), 1);
        assert_eq!(b.offset, 8);
        assert!(t.read(&limits).unwrap().is_none());
        append(&p, b"2}\n\n{\"a\":3}\n");
        let b = t.read(&limits).unwrap().unwrap();
        let lines: Vec<_> = b
            .records
            .iter()
            .map(|r| (r.place, r.bytes.clone()))
            .collect();
        assert_eq!(
            lines,
            [
                (Place::Line(2), b"{\"a\":2}".to_vec()),
                (Place::Line(4), b"{\"a\":3}".to_vec())
            ]
        );
    }

    #[test]
    fn skips_an_over_long_line_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.ndjson");
        let mut text = b"{\"a\":1}\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 300_000));
        text.extend(b"\n{\"a\":3}\n");
        std::fs::write(&p, &text).unwrap();
        let mut t = tail_of(&p);
        let limits = Limits {
            max_line_bytes: 100_000,
            ..Limits::default()
        };
        let mut records = Vec::new();
        let mut bad = Vec::new();
        while let Some(b) = t.read(&limits).unwrap() {
            records.extend(b.records);
            bad.extend(b.bad);
        }
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].place, Place::Line(3));
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].place, Some(Place::Line(2)));
        assert_eq!(t.offset, text.len() as u64);
    }

    #[test]
    fn a_closed_tail_is_reopened_only_when_the_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.ndjson");
        std::fs::write(&p, b"{\"a\":1}\n").unwrap();
        let mut t = tail_of(&p);
        let limits = Limits::default();
        assert!(t.may_have_changed(), "never read");
        assert_eq!(t.read(&limits).unwrap().unwrap().records.len(), 1);
        assert!(t.read(&limits).unwrap().is_none());
        t.close();
        assert!(!t.is_open());
        assert!(
            !t.may_have_changed(),
            "same size and mtime: nothing to read"
        );
        append(&p, b"{\"a\":2}\n");
        assert!(t.may_have_changed(), "grew");
        let b = t.read(&limits).unwrap().unwrap();
        assert_eq!(b.records[0].place, Place::Line(2));
        std::fs::rename(&p, dir.path().join("t.ndjson.1")).unwrap();
        t.close();
        assert!(
            t.may_have_changed(),
            "gone from its path: let the read find out"
        );
    }

    #[test]
    fn a_tail_closed_with_unread_data_is_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.ndjson");
        std::fs::write(&p, b"{\"a\":1}\n{\"a\":2}\n").unwrap();
        let mut t = tail_of(&p);
        let limits = Limits {
            batch_records: 1,
            ..Limits::default()
        };
        assert_eq!(t.read(&limits).unwrap().unwrap().records.len(), 1);
        t.close();
        assert!(t.may_have_changed());
        assert_eq!(
            t.read(&limits).unwrap().unwrap().records[0].place,
            Place::Line(2)
        );
    }

    #[test]
    fn notices_a_truncation_already_rewritten_past_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.ndjson");
        std::fs::write(&p, b"{\"a\":1}\n").unwrap();
        let mut t = tail_of(&p);
        let limits = Limits::default();
        assert_eq!(t.read(&limits).unwrap().unwrap().records.len(), 1);
        // Emptied and refilled with more than was read before, between two reads.
        std::fs::write(&p, b"{\"b\":22}\n{\"b\":3}\n").unwrap();
        let b = t.read(&limits).unwrap().unwrap();
        let got: Vec<_> = b.records.iter().map(|r| r.bytes.clone()).collect();
        assert_eq!(got, [b"{\"b\":22}".to_vec(), b"{\"b\":3}".to_vec()]);
    }

    #[test]
    fn follows_rename_and_restarts_after_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.ndjson");
        std::fs::write(&p, b"{\"a\":1}\n").unwrap();
        let mut t = tail_of(&p);
        let limits = Limits::default();
        assert_eq!(t.read(&limits).unwrap().unwrap().records.len(), 1);
        append(&p, b"{\"a\":2}\n");
        std::fs::rename(&p, dir.path().join("t.ndjson.1")).unwrap();
        let b = t.read(&limits).unwrap().unwrap();
        assert_eq!(b.records[0].bytes, b"{\"a\":2}");
        // copytruncate on the renamed file: shorter than the offset.
        std::fs::write(dir.path().join("t.ndjson.1"), b"{\"b\":1}\n").unwrap();
        let b = t.read(&limits).unwrap().unwrap();
        assert_eq!(b.records[0].bytes, b"{\"b\":1}");
        assert_eq!(b.records[0].place, Place::Line(1));
    }
}
