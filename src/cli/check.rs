//! `trailwatch check [--config FILE]`: validates the configuration, every rule and every sink without
//! starting anything. Prints each error as `path:line:col: message`; exit 0 or 2.

use super::exit;
use crate::config::Config;
use crate::rule::{self, CLOUDTRAIL};
use std::io::Write;
use std::path::Path;

pub fn run(config: Option<&Path>, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<u8> {
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(exit::CONFIG);
        }
    };
    let loaded = rule::load(std::slice::from_ref(&config.rules_dir));
    for e in &loaded.errors {
        writeln!(err, "{e}")?;
    }
    let sinks = match crate::sink::load_dir(&config.sinks_dir) {
        // No sinks directory is not an error for checking rules; `run` warns about it.
        _ if !config.sinks_dir.exists() => 0,
        Ok(specs) => specs.len(),
        Err(errors) => {
            for e in &errors {
                writeln!(err, "{e}")?;
            }
            writeln!(
                err,
                "{} error(s) in {}",
                errors.len(),
                config.sinks_dir.display()
            )?;
            return Ok(exit::CONFIG);
        }
    };
    if !loaded.errors.is_empty() {
        writeln!(
            err,
            "{} error(s); {} rule(s) valid in {}",
            loaded.errors.len(),
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
