//! The parse-only floor: how fast can one core merely validate the JSON of an NDJSON file?
//!
//! Lines are read exactly as `src/event/reader.rs` reads NDJSON (a 256 KiB `BufReader`,
//! `read_until(b'\n')`, trimmed, blank lines skipped) and each is handed to
//! `serde_json::from_slice::<IgnoredAny>`, which checks the syntax and builds nothing. No
//! detection engine that takes serde_json input can beat this; `benches/replay.sh` compares
//! `trailwatch replay` against it.
//!
//! ```text
//! cargo run --release --example parse_floor -- FILE.ndjson
//! ```

use serde::de::IgnoredAny;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: parse_floor FILE.ndjson");
        return ExitCode::from(2);
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("parse_floor: cannot open {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let mut input = BufReader::with_capacity(256 * 1024, file);
    let mut line = Vec::with_capacity(8 * 1024);
    let (mut records, mut malformed, mut bytes) = (0u64, 0u64, 0u64);
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(n) => bytes += n as u64,
            Err(e) => {
                eprintln!("parse_floor: read failed: {e}");
                return ExitCode::from(1);
            }
        }
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        records += 1;
        if serde_json::from_slice::<IgnoredAny>(trimmed).is_err() {
            malformed += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "records {records} malformed {malformed} bytes {bytes} seconds {seconds:.3} events_per_sec {:.0} mb_per_sec {:.1}",
        records as f64 / seconds,
        bytes as f64 / seconds / 1e6
    );
    ExitCode::SUCCESS
}
