//! Rules: Panther's rule YAML parsed ([`spec`]), compiled ([`compile`]), loaded from disk
//! ([`load`]) and indexed for evaluation ([`ruleset`]).

pub mod compare;
pub mod compile;
pub mod condition;
pub mod expr;
pub mod ip;
pub mod keypath;
pub mod load;
pub mod plan;
pub mod ruleset;
pub mod selftest;
pub mod spec;
pub mod template;

pub use compile::{Rule, CLOUDTRAIL};
pub use load::{load, LoadedRule};
pub use ruleset::RuleSet;
pub use spec::Severity;
