//! Integration tests: the `trailwatch` binary run as a child process against real files.

mod chaos;
mod check;
mod daemon;
mod ip_python;
mod replay;
mod rules_cmd;
mod sigma;
mod sinks;
mod support;
mod test_cmd;
