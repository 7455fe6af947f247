//! Integration tests: the `trailwatch` binary run as a child process against real files.

mod check;
mod daemon;
mod ip_python;
mod late_backlog;
mod load_policy;
mod replay;
mod rules_cmd;
mod sigma;
mod sinks;
mod state;
mod status_cmd;
mod supervision;
mod support;
mod test_cmd;
