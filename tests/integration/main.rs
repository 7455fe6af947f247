//! Integration tests: the `trailwatch` binary run as a child process against real files.

mod bounds_daemon;
mod bounds_fds;
mod bounds_sinks;
mod chaos;
mod check;
mod daemon;
mod egress;
mod hostile_input;
mod hostile_output;
mod ip_python;
mod late_backlog;
mod load_policy;
mod metrics_move;
mod replay;
mod rules_cmd;
mod sigma;
mod sink_test_cmd;
mod sinks;
mod state;
mod status_cmd;
mod supervision;
mod support;
mod test_cmd;
