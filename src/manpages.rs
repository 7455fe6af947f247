//! `trailwatch manpages DIR`: section 1 pages generated from the clap definitions (one for
//! `trailwatch`, one per subcommand, `trailwatch-rules-list(1)` style for nested ones), so
//! the pages can never disagree with `--help`. The section 5 pages for the configuration and
//! the rule formats are written by hand (man/), since clap knows nothing of them.

use crate::args::Cli;
use clap::CommandFactory;
use std::io;
use std::path::Path;

/// Writes `trailwatch.1` and `trailwatch-SUBCOMMAND.1` for every visible subcommand.
pub fn write_all(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let command = Cli::command().version(env!("CARGO_PKG_VERSION"));
    write_tree(&command, "trailwatch", dir)
}

fn write_tree(command: &clap::Command, name: &str, dir: &Path) -> io::Result<()> {
    // The page is titled by its full name so `man trailwatch-rules-list` finds it.
    let page = command
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    std::fs::write(dir.join(format!("{name}.1")), roff)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_tree(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
