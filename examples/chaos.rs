//! The chaos soak (`tests/chaos/run.sh` builds and runs this): the daemon fed ≥ 500k records
//! while it is killed with SIGKILL at random moments and its sinks misbehave; it passes when
//! every alert `trailwatch replay` computes reached each sink exactly once.
//!
//! ```text
//! chaos --binary target/release/trailwatch [--records N] [--kills N] [--seed N]
//!       [--work DIR] [--rules DIR] [--exact-ids] [--allow-duplicates-at-kill] [--allow-renotified] [--quiet]
//! ```
//!
//! Exit 0 when the soak passed, 1 when it failed, 2 when it could not run. docs/TESTING.md
//! explains the report.

#[path = "../tests/chaos/mod.rs"]
mod chaos;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: chaos --binary PATH [--records N] [--kills N] [--seed N] [--work DIR] [--rules DIR] [--exact-ids] [--allow-duplicates-at-kill] [--allow-renotified] [--quiet]";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Err(message) => {
            eprintln!("chaos: {message}\n{USAGE}");
            ExitCode::from(2)
        }
        Ok(options) => {
            eprintln!(
                "chaos: {} records, {} kills, seed {}, work directory {}",
                options.records,
                options.kills,
                options.seed,
                options.work.display()
            );
            match chaos::run::soak(&options) {
                Err(message) => {
                    eprintln!("chaos: could not complete: {message}");
                    ExitCode::from(2)
                }
                Ok(report) => {
                    println!("{report}");
                    let _ = std::fs::write(options.work.join("report.txt"), format!("{report}\n"));
                    if report.passed() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
            }
        }
    }
}

fn parse(args: Vec<String>) -> Result<chaos::Options, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut options = chaos::Options::new(
        root.join("target/release/trailwatch"),
        root.join("rules.d"),
        std::env::temp_dir().join(format!("trailwatch-chaos-{}", std::process::id())),
    );
    options.verbose = true;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--quiet" => options.verbose = false,
            "--exact-ids" => options.policy.exact_ids = true,
            "--allow-duplicates-at-kill" => options.policy.allow_duplicates_at_kill = true,
            "--allow-renotified" => options.policy.allow_renotified = true,
            _ => {}
        }
        if [
            "--quiet",
            "--exact-ids",
            "--allow-duplicates-at-kill",
            "--allow-renotified",
        ]
        .contains(&flag.as_str())
        {
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not `{value}`"))
        };
        match flag.as_str() {
            "--binary" => options.binary = PathBuf::from(&value),
            "--rules" => options.rules = PathBuf::from(&value),
            "--work" => options.work = PathBuf::from(&value),
            "--records" => options.records = number()? as usize,
            "--kills" => options.kills = number()? as usize,
            "--seed" => options.seed = number()?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if options.work.exists()
        && std::fs::read_dir(&options.work)
            .map_err(|e| e.to_string())?
            .next()
            .is_some()
    {
        return Err(format!("{} is not empty", options.work.display()));
    }
    std::fs::create_dir_all(&options.work)
        .map_err(|e| format!("{}: {e}", options.work.display()))?;
    // The daemon runs in its own directory: every path it is given must be absolute.
    for path in [&mut options.binary, &mut options.rules, &mut options.work] {
        *path = path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(options)
}
