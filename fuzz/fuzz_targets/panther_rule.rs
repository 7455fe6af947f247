//! The Panther rule loader: YAML text parsed, validated and compiled into a rule, or a
//! located error. Inputs that look like Sigma are left to the sigma_rule target.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if trailwatch::sigma::is_sigma(text) {
        return;
    }
    if let Err(e) = trailwatch::rule_loader::parse(Path::new("fuzz.yml"), text) {
        // Formatting the error walks its location and message.
        let _ = e.to_string();
    }
});
