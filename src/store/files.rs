//! Where the store's files live in `state_dir`.

use std::path::{Path, PathBuf};

/// The database file.
pub fn db_path(state_dir: &Path) -> PathBuf {
    state_dir.join("state.db")
}

/// A small file written once, when the store is created, holding the store's random id (also
/// kept inside the database). It tells "first start" apart from "the database was deleted or
/// truncated to nothing": without it, a lost database would look like a fresh install and the
/// daemon would silently re-read everything.
pub fn identity_path(state_dir: &Path) -> PathBuf {
    state_dir.join("state.id")
}

/// The JSON state file of trailwatch versions before the store, migrated once.
pub fn legacy_path(state_dir: &Path) -> PathBuf {
    state_dir.join("state.json")
}

/// Takes an exclusive lock on `state_dir/lock` for as long as the returned file is open: two
/// daemons (or a daemon and `state repair`) on one state directory would overwrite each other's
/// checkpoints and spools.
pub fn lock(state_dir: &Path) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    // SAFETY: flock on a descriptor we own; the lock ends when the file is closed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "{}: another trailwatch is running with this state_dir",
                path.display()
            ),
        ));
    }
    Ok(file)
}
