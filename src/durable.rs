//! Small file operations that survive a crash, shared by the sinks' spools and delivered-id
//! logs and by the daemon's state file.
//!
//! Appends are followed by `sync_data` so that "accepted" really means "on disk". Whole-file
//! rewrites (compaction) go through a temp file, fsync, rename and a directory fsync: after a
//! crash the file is either the old version or the new one, never half of each. Files are
//! created owner-only: they hold alerts, and alerts name principals and addresses.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates `dir` (and parents) owner-only if missing.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Opens `path` for appending, creating it owner-only.
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Appends `bytes` and waits until they are on disk.
pub fn append_synced(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_data()
}

/// Appends one or more whole records to a file whose known-good length is `end`, and syncs.
///
/// A write that fails halfway (ENOSPC, EIO) leaves part of a record behind, and the next
/// append would glue its record onto that fragment, making both unreadable. So the file is
/// cut back to `end` after a failure, and again before the next append if that cut failed
/// too. Truncating frees blocks, so it works on a full disk.
pub fn append_synced_whole(file: &mut File, bytes: &[u8], end: u64) -> io::Result<()> {
    if file.metadata()?.len() != end {
        file.set_len(end)?;
    }
    append_synced(file, bytes).inspect_err(|_| {
        let _ = file.set_len(end).and_then(|()| file.sync_data());
    })
}

/// Replaces `path` with `bytes` atomically and durably.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Truncates an append-only file to empty, durably.
pub fn truncate(file: &File) -> io::Result<()> {
    file.set_len(0)?;
    file.sync_all()
}
