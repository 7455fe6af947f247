//! trailwatch: a detection daemon for AWS CloudTrail that runs Panther-format rules.
//!
//! The crate follows the data flow described in `docs/ARCHITECTURE.md` (stages, which module
//! may use which, the invariants):
//! [`event`] reads and decodes CloudTrail records, [`rule`] loads and evaluates rules,
//! [`engine`] ties the two together per record, [`alert`] and [`dedup`] turn matches into
//! alerts, and [`cli`] holds the subcommands.

pub mod alert;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod durable;
pub mod engine;
pub mod error;
pub mod escape;
pub mod event;
pub mod files;
pub mod rule;
pub mod rule_loader;
pub mod severity;
pub mod sigma;
pub mod sink;
pub mod source;
pub mod store;
