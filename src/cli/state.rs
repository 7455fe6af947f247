//! `trailwatch state check|repair [--config FILE]`: the operator's tools for the state store.
//!
//! `check` reads the store of the configured `state_dir` (safe while the daemon runs) and exits
//! 0 when it is healthy, 1 when it is damaged. `repair` needs the daemon stopped (it takes the
//! state directory's lock), salvages every readable row into a new store and says what was lost.

use super::exit;
use crate::config::Config;
use crate::daemon::windows::check_row;
use crate::store;
use std::io::Write;
use std::path::Path;

fn state_dir(
    config: Option<&Path>,
    err: &mut dyn Write,
) -> std::io::Result<Option<std::path::PathBuf>> {
    match Config::load(config) {
        Ok(c) => Ok(Some(c.state_dir)),
        Err(e) => {
            writeln!(err, "{e}")?;
            Ok(None)
        }
    }
}

pub fn check(
    config: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let Some(dir) = state_dir(config, err)? else {
        return Ok(exit::CONFIG);
    };
    let report = store::check(&dir, &check_row);
    writeln!(out, "{report}")?;
    if report.healthy() {
        Ok(exit::OK)
    } else {
        writeln!(
            err,
            "the state store is damaged: stop the daemon and run `trailwatch state repair` \
             (docs/OPERATIONS.md, \"The state store\")"
        )?;
        Ok(exit::FINDINGS)
    }
}

pub fn repair(
    config: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let Some(dir) = state_dir(config, err)? else {
        return Ok(exit::CONFIG);
    };
    let _lock = match store::lock(&dir) {
        Ok(lock) => lock,
        Err(e) => {
            writeln!(err, "{e}: stop the daemon before repairing its store")?;
            return Ok(exit::CONFIG);
        }
    };
    if store::check(&dir, &check_row).healthy() {
        writeln!(out, "the state store is healthy: nothing to repair")?;
        return Ok(exit::OK);
    }
    match store::repair(&dir, &check_row) {
        Ok(report) => {
            writeln!(out, "{report}")?;
            Ok(exit::OK)
        }
        Err(e) => {
            writeln!(err, "repair failed: {e}")?;
            Ok(exit::FINDINGS)
        }
    }
}
