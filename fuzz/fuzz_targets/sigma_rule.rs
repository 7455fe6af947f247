//! The Sigma parser: a Sigma document (detection, condition expression, modifiers,
//! wildcards) parsed and compiled into the core rule, or a located error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = trailwatch::sigma::parse(Path::new("fuzz.yml"), text) {
        let _ = e.to_string();
    }
});
