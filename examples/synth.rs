//! Writes synthetic CloudTrail records or rules, for benchmarks (`benches/replay.sh`).
//!
//! ```text
//! cargo run --release --example synth -- events N [SEED] > events.ndjson
//! cargo run --release --example synth -- rules N DIR
//! ```
//!
//! Output is deterministic: the same N and SEED give the same bytes.

#[path = "../benches/support/synth.rs"]
mod synth;

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: synth events N [SEED] > FILE.ndjson\n       synth rules N DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["events", n] => count(n).and_then(|n| write_events(n, 1)),
        ["events", n, seed] => count(n).and_then(|n| write_events(n, parse(seed, "SEED")?)),
        ["rules", n, dir] => count(n).and_then(|n| write_rules(n, PathBuf::from(dir))),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("synth: {message}");
            ExitCode::from(2)
        }
    }
}

fn parse(text: &str, what: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("{what} must be a whole number, not `{text}`\n{USAGE}"))
}

fn count(text: &str) -> Result<usize, String> {
    parse(text, "N").map(|n| n as usize)
}

fn write_events(n: usize, seed: u64) -> Result<(), String> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut stream = synth::Events::new(seed);
    let mut line = String::with_capacity(8 * 1024);
    for _ in 0..n {
        line.clear();
        stream.write_next(&mut line);
        line.push('\n');
        out.write_all(line.as_bytes())
            .map_err(|e| format!("cannot write: {e}"))?;
    }
    out.flush().map_err(|e| format!("cannot write: {e}"))
}

fn write_rules(n: usize, dir: PathBuf) -> Result<(), String> {
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in synth::rules(n) {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
