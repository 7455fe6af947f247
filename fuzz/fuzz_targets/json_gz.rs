//! The `.json.gz` readers, both of them: `replay`'s streaming reader
//! (`event::reader::read_file`) and the daemon's delivery reader (`source::delivery::read`,
//! which also tells a file cut short from a corrupt one).
//!
//! The first input byte picks how the rest is used: odd, as the file's raw bytes (so gzip
//! headers, CRCs and truncation are fuzzed); even, gzipped by the harness first (so the JSON
//! inside a valid gzip stream is fuzzed, which mutated compressed bytes rarely reach).

#![no_main]

use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use trailwatch::event::reader::{self, BadInput, Place, RecordSink};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("trailwatch-fuzz-gz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("delivery.json.gz")
    })
}

/// Counts what the reader hands over, touching every byte.
#[derive(Default)]
struct Count {
    records: usize,
    bytes: usize,
    bad: usize,
}

impl RecordSink for Count {
    fn record(&mut self, _: &Path, _: Place, bytes: &[u8]) {
        self.records += 1;
        self.bytes += bytes.len();
    }
    fn bad(&mut self, bad: BadInput) {
        self.bad += bad.to_string().len().min(1);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 1 {
        rest.to_vec()
    } else {
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(rest).unwrap();
        gz.finish().unwrap()
    };
    let path = scratch();
    std::fs::write(path, &bytes).unwrap();
    let mut count = Count::default();
    reader::read_file(path, &mut count);
    // Small size limits, so the limits' own paths are reached too.
    let limits = trailwatch::source::Limits {
        max_file_bytes: 1 << 20,
        max_line_bytes: 4096,
        batch_records: 512,
    };
    for last_try in [false, true] {
        let _ = trailwatch::source::delivery::read(path, &limits, last_try);
    }
});
