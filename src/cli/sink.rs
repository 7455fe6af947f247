//! `trailwatch sink test NAME [--config FILE]`: sends a sample alert through one sink, once,
//! with its real settings and secrets, and says what happened. The way to check a webhook URL
//! or a syslog address before an incident does it for you.

use super::exit;
use crate::config::Config;
use crate::sink;
use std::io::Write;
use std::path::Path;

pub fn test(
    name: &str,
    config: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(exit::CONFIG);
        }
    };
    let specs = match sink::load_dir(&config.sinks_dir) {
        Ok(specs) => specs,
        Err(errors) => {
            for e in errors {
                writeln!(err, "{e}")?;
            }
            return Ok(exit::CONFIG);
        }
    };
    let Some(spec) = specs.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        writeln!(
            err,
            "no sink `{name}` in {}; sinks: {}",
            config.sinks_dir.display(),
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            }
        )?;
        return Ok(exit::CONFIG);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let alert = sink::sample_alert();
    match runtime.block_on(sink::send_once(spec, alert)) {
        Ok(()) => {
            writeln!(
                out,
                "sent a test alert through sink `{name}` ({})",
                spec.config.type_name()
            )?;
            Ok(exit::OK)
        }
        Err(e) => {
            writeln!(err, "sink `{name}` ({}): {e}", spec.config.type_name())?;
            Ok(exit::FINDINGS)
        }
    }
}
