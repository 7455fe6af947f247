//! `trailwatch check [--config FILE]`: validates the configuration, every rule and every sink without
//! starting anything. Prints each error as `path:line:col: message`; exit 0 or 2. It loads
//! through `daemon::setup::load`, the path start and reload use.

use super::exit;
use crate::daemon::setup;
use crate::rule::CLOUDTRAIL;
use std::io::Write;
use std::path::Path;

pub fn run(config: Option<&Path>, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<u8> {
    // The same load as daemon start and reload, so `check` says exactly what they would do.
    let loaded = match setup::load(config, &[]) {
        Ok(loaded) => loaded,
        Err(fatal) => {
            for e in &fatal.0 {
                writeln!(err, "{e}")?;
            }
            writeln!(
                err,
                "{} error(s): the daemon would refuse to start",
                fatal.0.len()
            )?;
            return Ok(exit::CONFIG);
        }
    };
    let config = &loaded.config;
    let sinks = loaded.sinks.len();
    if !loaded.rule_errors.is_empty() {
        for e in &loaded.rule_errors {
            writeln!(err, "{e}")?;
        }
        writeln!(
            err,
            "{} error(s); {} rule(s) valid in {} (the daemon would run those and skip the broken files)",
            loaded.rule_errors.len(),
            loaded.rules.len(),
            config.rules_dir.display()
        )?;
        return Ok(exit::CONFIG);
    }
    writeln!(
        out,
        "ok: {} rule(s) in {}, {sinks} sink(s) in {}",
        loaded.rules.len(),
        config.rules_dir.display(),
        config.sinks_dir.display()
    )?;
    if sinks == 0 {
        writeln!(
            out,
            "note: no sinks configured in {}: alerts would go nowhere",
            config.sinks_dir.display()
        )?;
    }
    // Valid but inert rules are easy to miss: say which ones will never see an event.
    for entry in &loaded.rules {
        let rule = &entry.rule;
        if !rule.reads(CLOUDTRAIL) {
            writeln!(
                out,
                "note: {} ({}) does not list {CLOUDTRAIL} in LogTypes and will not run",
                rule.id,
                entry.path.display()
            )?;
        } else if !rule.enabled {
            writeln!(
                out,
                "note: {} ({}) is disabled",
                rule.id,
                entry.path.display()
            )?;
        }
    }
    Ok(exit::OK)
}
