//! Record decoding and evaluation against the shipped rule pack, as the daemon's workers do
//! it: each input line is one CloudTrail record; every match is shaped (title, dedup string,
//! severity, context) and admitted to the dedup windows, which are turned into alerts at the
//! end. `rules.d/` is loaded once per process.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use trailwatch::alert::Shaped;
use trailwatch::dedup::Windows;
use trailwatch::engine::Engine;
use trailwatch::rule::RuleSet;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules.d");
        let loaded = trailwatch::rule_loader::load(&[dir]);
        assert!(
            loaded.errors.is_empty(),
            "rules.d does not load: {:?}",
            loaded.errors
        );
        RuleSet::new(loaded.rules.into_iter().map(|l| l.rule).collect())
    })
}

fuzz_target!(|data: &[u8]| {
    let rules = rules();
    let mut engine = Engine::new(rules);
    let mut windows = Windows::default();
    for line in data.split(|&b| b == b'\n') {
        let Ok(Some(matched)) = engine.evaluate(line) else {
            continue;
        };
        for &index in &matched.rules {
            let rule = rules.get(index);
            let shaped = Shaped::new(rule, &matched.event);
            windows.admit(rule, shaped, matched.event_time, &matched.event);
        }
    }
    // Serialised as the sinks write it (the alert contract's JSON).
    for alert in windows.into_alerts() {
        let _ = serde_json::to_vec(&alert).unwrap();
    }
});
