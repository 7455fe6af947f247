//! Integration tests: the `trailwatch` binary run as a child process against real files.

mod check;
mod ip_python;
mod replay;
mod support;
mod test_cmd;
