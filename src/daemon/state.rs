//! The daemon's durable state: checkpoints, dedup windows and recently seen event ids, in one
//! versioned file so that the three are always consistent with each other after a crash.

use super::windows::Saved;
use crate::source::checkpoint::{read_state, write_durably, Checkpoints};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// Bumped whenever the layout changes; an unknown version is refused rather than misread.
pub const VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub checkpoints: Checkpoints,
    pub windows: Vec<Saved>,
    /// eventIDs of recently matched events, oldest first.
    pub event_ids: Vec<String>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("state.json")
}

/// Reads the state of an earlier run (empty on first start).
pub fn load(state_dir: &Path) -> io::Result<State> {
    let state: Option<State> = read_state(&path(state_dir))?;
    match state {
        None => Ok(State {
            version: VERSION,
            ..State::default()
        }),
        Some(s) if s.version == VERSION => Ok(s),
        Some(s) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: state version {} is not supported (this build reads version {VERSION})",
                path(state_dir).display(),
                s.version
            ),
        )),
    }
}

pub fn save(state_dir: &Path, state: &State) -> io::Result<()> {
    write_durably(&path(state_dir), state)
}
