//! Listing a source's files: the directory walk under the root's symlink policy, and the
//! paths it refuses (loops, depth, symlinks out of the root), reported once each.

use super::open_files::is_exhaustion;
use super::watch::{Loop, Root, SourceEvent};
use crate::event::reader::BadInput;
use crate::files::Follow;
use std::path::{Path, PathBuf};

impl Loop {
    /// Lists every file under `dir` that `follow` lets through. Which files count is decided
    /// per root (include/exclude); an unreadable directory is simply not there yet, except
    /// when it could not be opened for want of a descriptor: that error is returned, because
    /// the list is then incomplete and a file missing from it must not be taken for gone.
    pub(super) fn walk(
        &mut self,
        dir: &Path,
        follow: Follow,
        files: &mut Vec<PathBuf>,
    ) -> std::io::Result<()> {
        let mut starved = None;
        let mut skipped = Vec::new();
        crate::files::walk_reporting(
            dir,
            follow,
            &|_| true,
            files,
            &mut |_, e| {
                if is_exhaustion(&e) {
                    starved = Some(e);
                }
            },
            &mut |path, why| skipped.push((path.to_path_buf(), why.to_string())),
        );
        for (path, why) in skipped {
            self.refuse(&path, &why);
        }
        starved.map_or(Ok(()), Err)
    }

    /// Reports a path the walk or the symlink policy refused, once: as a bad input, so it is
    /// logged with its path and counted in `trailwatch_files_failed_total`.
    pub(super) fn refuse(&mut self, path: &Path, why: &str) {
        if self.refused.insert(path.to_path_buf()) {
            self.send(SourceEvent::Bad(BadInput {
                path: path.to_path_buf(),
                place: None,
                message: format!("{why}; skipped"),
            }));
        }
    }

    /// The root a directory notify reported lies under.
    pub(super) fn root_of_dir(&self, dir: &Path) -> Option<&Root> {
        self.roots.iter().find(|r| dir.starts_with(&r.path))
    }
}
