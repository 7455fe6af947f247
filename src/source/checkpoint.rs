//! Checkpoints: how far each file has been processed, kept durably in `state_dir`.
//!
//! A position only advances past records whose alerts every sink has accepted, so after a crash
//! the daemon re-reads at most what was in flight (at-least-once), and the alert ids, derived
//! from the events, keep a re-read from notifying twice.
//!
//! The state file is written as temp file + fsync + rename + directory fsync: a crash at any
//! point leaves either the old state or the new one on disk, never a torn mix.

use super::fingerprint::{FileKey, Fingerprint};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where processing of one file stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    pub fingerprint: Fingerprint,
    /// The path the file was last seen under (informational: identity is the fingerprint).
    pub path: PathBuf,
    /// Bytes of the file fully processed (NDJSON: always at a line boundary).
    pub offset: u64,
    /// Lines before `offset`, for error messages.
    pub line: u64,
    /// A delivery file read completely (it never changes again).
    pub done: bool,
}

/// The positions of every known file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    files: BTreeMap<String, FilePosition>,
}

fn key_string(key: FileKey) -> String {
    format!("{}:{}", key.dev, key.ino)
}

impl Checkpoints {
    pub fn get(&self, key: FileKey) -> Option<&FilePosition> {
        self.files.get(&key_string(key))
    }

    pub fn set(&mut self, position: FilePosition) {
        self.files
            .insert(key_string(position.fingerprint.key), position);
    }

    pub fn remove(&mut self, key: FileKey) {
        self.files.remove(&key_string(key));
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FilePosition> {
        self.files.values()
    }

    /// Keeps only the files for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&FilePosition) -> bool) {
        self.files.retain(|_, p| keep(p));
    }
}

/// Writes `value` as JSON to `path` durably (temp + fsync + rename + directory fsync, see
/// [`crate::durable::replace`]).
pub fn write_durably<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    crate::durable::create_dir(path.parent().unwrap_or(Path::new(".")))?;
    crate::durable::replace(path, &serde_json::to_vec(value)?)
}

/// Reads a JSON state file; `Ok(None)` when it does not exist yet.
pub fn read_state<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_durably() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/state.json");
        let mut cp = Checkpoints::default();
        cp.set(FilePosition {
            fingerprint: Fingerprint {
                key: FileKey { dev: 1, ino: 2 },
                head_len: 3,
                head_hash: "ab".into(),
            },
            path: "x".into(),
            offset: 10,
            line: 2,
            done: false,
        });
        write_durably(&path, &cp).unwrap();
        assert!(!path.with_extension("tmp").exists());
        let back: Checkpoints = read_state(&path).unwrap().unwrap();
        assert_eq!(back, cp);
        assert_eq!(back.get(FileKey { dev: 1, ino: 2 }).unwrap().offset, 10);
        assert!(read_state::<Checkpoints>(&dir.path().join("none.json"))
            .unwrap()
            .is_none());
        std::fs::write(&path, b"{").unwrap();
        assert!(read_state::<Checkpoints>(&path).is_err());
    }
}
