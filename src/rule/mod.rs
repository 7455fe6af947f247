//! The rule core: compiled rules ([`compile`]), their match expressions ([`expr`]), the
//! indexed set evaluated on the hot path ([`ruleset`], [`plan`]), and, still here, the Panther
//! front end ([`spec`], and the deserializer in [`expr`]) that compiles Panther YAML into them.
//!
//! The core imports no front end: a format whose logic does not become [`expr::Expr`] nodes
//! (Sigma) plugs in through [`external::Detection`], and `crate::rule_loader`, above both
//! front ends, decides which one reads a file.

pub mod compare;
pub mod compile;
pub mod condition;
pub mod expr;
pub mod external;
pub mod ip;
pub mod keypath;
pub mod plan;
pub mod ruleset;
pub mod selftest;
pub mod spec;
pub mod template;

pub use compile::{Rule, CLOUDTRAIL};
pub use ruleset::RuleSet;
pub use spec::Severity;
