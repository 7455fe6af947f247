//! The sink loader: one `sinks.d/NAME.yaml` parsed and its secrets and paths resolved, from
//! a real file as the daemon reads it. Secrets by `*_file` point at files that do not exist
//! (an error); `*_env` at variables that are not set (an error) unless the input names one
//! the process has, such as PATH.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("trailwatch-fuzz-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let path = dir.join("fuzz.yaml");
    std::fs::write(&path, data).unwrap();
    match trailwatch::sink::load::load_file(&path, dir) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
