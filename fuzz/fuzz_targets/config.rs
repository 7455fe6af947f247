//! The configuration loader (`trailwatch.yaml`), from a real file as the daemon reads it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One scratch file per process, rewritten for each input.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("trailwatch-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("trailwatch.yaml")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).unwrap();
    match trailwatch::config::Config::load(Some(path)) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
