//! Reading CloudTrail files: `{"Records":[...]}` JSON (plain or gzipped) and NDJSON.
//!
//! Records are streamed one at a time (`Box<RawValue>` per array element, never the whole
//! file's value tree), so a large delivery file costs the memory of its largest record. The
//! format is sniffed from the content, not trusted from the name: a file whose first key is
//! `Records` is a delivery file, anything else is NDJSON.

use flate2::read::MultiGzDecoder;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Where a record sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// 1-based line of an NDJSON file.
    Line(u64),
    /// 1-based index in a `Records` array.
    Record(u64),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line(n) => write!(f, "line {n}"),
            Place::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// A record or file that could not be read; the rest of the input goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub path: PathBuf,
    pub place: Option<Place>,
    pub message: String,
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Some(Place::Line(n)) => write!(f, "{}:{n}: {}", self.path.display(), self.message),
            Some(p) => write!(f, "{}: {p}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// What a reader hands on for each record.
pub trait RecordSink {
    fn record(&mut self, path: &Path, place: Place, bytes: &[u8]);
    fn bad(&mut self, bad: BadInput);
}

/// True for names trailwatch reads when walking a directory.
pub fn is_log_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.')
        && [
            ".json",
            ".json.gz",
            ".gz",
            ".ndjson",
            ".jsonl",
            ".ndjson.gz",
            ".jsonl.gz",
        ]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Lists the log files under `paths` (files as given, directories recursively), sorted.
pub fn log_files(paths: &[PathBuf], bad: &mut dyn FnMut(BadInput)) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut files, bad),
            Ok(_) => files.push(path.clone()),
            Err(e) => bad(BadInput {
                path: path.clone(),
                place: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    files.sort();
    files
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, bad: &mut dyn FnMut(BadInput)) {
    crate::files::walk(dir, &is_log_file, files, &mut |d, e| {
        bad(BadInput {
            path: d.to_path_buf(),
            place: None,
            message: format!("cannot read directory: {e}"),
        })
    });
}

/// Reads one file, gunzipping when it starts with the gzip magic bytes.
pub fn read_file(path: &Path, sink: &mut dyn RecordSink) {
    read_file_with(path, MAX_LINE_BYTES, sink)
}

/// [`read_file`] with another NDJSON line limit (`replay --max-line-bytes`).
pub fn read_file_with(path: &Path, max_line: usize, sink: &mut dyn RecordSink) {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return sink.bad(BadInput {
                path: path.to_path_buf(),
                place: None,
                message: format!("cannot open: {e}"),
            })
        }
    };
    let mut raw = BufReader::with_capacity(256 * 1024, file);
    let gzipped = matches!(raw.fill_buf(), Ok(b) if b.starts_with(&[0x1f, 0x8b]));
    if gzipped {
        let inner = BufReader::with_capacity(256 * 1024, MultiGzDecoder::new(raw));
        read_stream_with(path, inner, max_line, sink);
    } else {
        read_stream_with(path, raw, max_line, sink);
    }
}

/// The default limit on one NDJSON line, for `replay` (`--max-line-bytes`) and the daemon
/// (`max_line_bytes` in trailwatch.yaml) alike: a longer line is reported and skipped, so a
/// file of a billion spaces and no newline never becomes one billion-byte line in memory.
/// One default for both, so a replay of the daemon's inputs sees what the daemon saw.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// Reads records from any buffered stream.
pub fn read_stream<R: BufRead>(path: &Path, input: R, sink: &mut dyn RecordSink) {
    read_stream_with(path, input, MAX_LINE_BYTES, sink)
}

/// [`read_stream`] with another NDJSON line limit.
pub fn read_stream_with<R: BufRead>(
    path: &Path,
    mut input: R,
    max_line: usize,
    sink: &mut dyn RecordSink,
) {
    match sniff_records(&mut input) {
        Ok(true) => read_records(path, input, sink),
        Ok(false) => read_ndjson(path, input, max_line, sink),
        Err(e) => sink.bad(BadInput {
            path: path.to_path_buf(),
            place: None,
            message: format!("cannot read: {e}"),
        }),
    }
}

/// Looks at the start of the stream (without consuming it) for `{"Records"`.
fn sniff_records<R: BufRead>(input: &mut R) -> io::Result<bool> {
    Ok(starts_records_document(input.fill_buf()?))
}

/// True when `head` (the first bytes of a decompressed file) opens a CloudTrail delivery
/// document, `{"Records": ...`, rather than NDJSON.
pub fn starts_records_document(head: &[u8]) -> bool {
    let skip_ws = |b: &[u8]| -> usize { b.iter().take_while(|c| c.is_ascii_whitespace()).count() };
    let text = &head[skip_ws(head)..];
    let Some(rest) = text.strip_prefix(b"{") else {
        return false;
    };
    rest[skip_ws(rest)..].starts_with(b"\"Records\"")
}

fn read_ndjson<R: BufRead>(path: &Path, mut input: R, max_line: usize, sink: &mut dyn RecordSink) {
    let mut line = Vec::with_capacity(8 * 1024);
    let (mut number, mut too_long) = (0u64, false);
    let bad = |number: u64, message: String| BadInput {
        path: path.to_path_buf(),
        place: Some(Place::Line(number)),
        message,
    };
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return sink.bad(bad(
                    number + 1,
                    format!("read failed, rest of file skipped: {e}"),
                ))
            }
        };
        let at_end = chunk.is_empty();
        let (taken, complete) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), at_end),
        };
        // Past the limit the rest of the line is read and dropped, never kept.
        if !too_long {
            line.extend_from_slice(&chunk[..taken]);
            if line.len() > max_line {
                too_long = true;
                line = Vec::with_capacity(8 * 1024);
            }
        }
        input.consume(taken);
        if !complete {
            continue;
        }
        if at_end && line.is_empty() && !too_long {
            return;
        }
        number += 1;
        if too_long {
            sink.bad(bad(
                number,
                format!("line longer than max_line_bytes ({max_line} bytes); skipped"),
            ));
        } else {
            let trimmed = line.trim_ascii();
            if !trimmed.is_empty() {
                sink.record(path, Place::Line(number), trimmed);
            }
        }
        line.clear();
        too_long = false;
        if at_end {
            return;
        }
    }
}

/// Streams the records of a `{"Records":[...]}` document to `sink`, stopping at the first
/// syntax error, which is returned (with how many records came before it). `e.is_eof()` tells a
/// document that was cut short (still being written) from one that is corrupt.
pub fn parse_records<R: Read>(
    path: &Path,
    input: R,
    sink: &mut dyn RecordSink,
) -> Result<u64, (u64, serde_json::Error)> {
    let mut de = serde_json::Deserializer::from_reader(input);
    let mut visitor = FileVisitor {
        path,
        sink,
        count: 0,
    };
    let result = (&mut de)
        .deserialize_map(&mut visitor)
        .and_then(|()| de.end());
    match result {
        Ok(()) => Ok(visitor.count),
        Err(e) => Err((visitor.count, e)),
    }
}

fn read_records<R: Read>(path: &Path, input: R, sink: &mut dyn RecordSink) {
    if let Err((count, e)) = parse_records(path, input, sink) {
        sink.bad(BadInput {
            path: path.to_path_buf(),
            place: Some(Place::Record(count + 1)),
            message: format!(
                "malformed JSON at line {} column {}: {e}; the rest of the file is skipped",
                e.line(),
                e.column()
            ),
        });
    }
}

/// Visits the top-level object of a delivery file, streaming its `Records` array.
struct FileVisitor<'a> {
    path: &'a Path,
    sink: &'a mut dyn RecordSink,
    count: u64,
}

impl<'de> Visitor<'de> for &mut FileVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a CloudTrail file {"Records": [...]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                map.next_value_seed(&mut *self)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            self.count += 1;
            let place = Place::Record(self.count);
            self.sink.record(self.path, place, raw.get().as_bytes());
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for &mut FileVisitor<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}
