//! The subcommands. Each returns the process exit code: 0 success, 1 findings (failed
//! tests), 2 usage or configuration error.

pub mod check;
pub mod coverage;
pub mod logging;
pub mod replay;
pub mod rule_page;
pub mod rules;
pub mod sink;
pub mod state;
pub mod status;
pub mod status_table;
pub mod test;

/// Exit codes shared by every subcommand.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const CONFIG: u8 = 2;
}
