//! Walking directory trees, the one way every trailwatch input is found.
//!
//! Rules, log files and the daemon's sources all mean the same by "the files under this
//! directory": recursively, following symlinks (rule and log directories are often linked into
//! place), not descending into hidden directories (editors, sync tools and trailwatch's own
//! temporary files live there).
//!
//! Following symlinks makes loops possible (`ln -s . inbox/again`). A directory whose
//! `(device, inode)` is already on the path from the root is a loop: it is skipped and
//! reported once per process as a warning, since the daemon walks its sources every few
//! seconds. A depth cap bounds the rest (chains of links that are not loops but multiply the
//! tree). A directory reached twice through different links, not as its own ancestor, is read
//! under each name, as before.

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How deep a walk goes below its root; deeper directories are skipped with a warning.
pub const MAX_DEPTH: usize = 32;

/// Appends to `files` every file under `dir` for which `keep` is true. A directory that
/// cannot be read is reported to `unreadable` and the walk goes on; symlink loops and
/// directories past [`MAX_DEPTH`] are skipped and logged once (see [`walk_reporting`]).
pub fn walk(
    dir: &Path,
    keep: &dyn Fn(&Path) -> bool,
    files: &mut Vec<PathBuf>,
    unreadable: &mut dyn FnMut(&Path, io::Error),
) {
    walk_reporting(dir, keep, files, unreadable, &mut |path, why| {
        if first_report(path) {
            tracing::warn!(path = %path.display(), "{why}; not followed");
        }
    });
}

/// [`walk`], with skipped directories (loops, too deep) handed to `skipped` with the reason.
pub fn walk_reporting(
    dir: &Path,
    keep: &dyn Fn(&Path) -> bool,
    files: &mut Vec<PathBuf>,
    unreadable: &mut dyn FnMut(&Path, io::Error),
    skipped: &mut dyn FnMut(&Path, &str),
) {
    let Ok(meta) = std::fs::metadata(dir) else {
        return unreadable(dir, io::Error::from(io::ErrorKind::NotFound));
    };
    let mut ancestors = vec![(meta.dev(), meta.ino())];
    descend(dir, keep, files, unreadable, skipped, &mut ancestors);
}

fn descend(
    dir: &Path,
    keep: &dyn Fn(&Path) -> bool,
    files: &mut Vec<PathBuf>,
    unreadable: &mut dyn FnMut(&Path, io::Error),
    skipped: &mut dyn FnMut(&Path, &str),
    ancestors: &mut Vec<(u64, u64)>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return unreadable(dir, e),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        // metadata() follows symlinks, unlike DirEntry::file_type().
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() && !hidden => {
                let id = (m.dev(), m.ino());
                if ancestors.contains(&id) {
                    skipped(&path, "symlink loop: a link back to a directory above it");
                } else if ancestors.len() > MAX_DEPTH {
                    skipped(&path, "directory nested too deep (more than 32 levels)");
                } else {
                    ancestors.push(id);
                    descend(&path, keep, files, unreadable, skipped, ancestors);
                    ancestors.pop();
                }
            }
            Ok(m) if m.is_file() && keep(&path) => files.push(path),
            _ => {}
        }
    }
}

/// True the first time `path` is reported in this process, so a loop the daemon meets at each
/// rescan is logged once, not every few seconds.
fn first_report(path: &Path) -> bool {
    static REPORTED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let mut reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
    reported
        .get_or_insert_with(HashSet::new)
        .insert(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_recursively_skipping_hidden_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in ["a.yml", "sub/b.yml", "sub/c.txt", ".hidden/d.yml"] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        std::os::unix::fs::symlink(root.join("sub"), root.join("linked")).unwrap();
        let mut files = Vec::new();
        let yml = |p: &Path| p.extension().is_some_and(|e| e == "yml");
        walk(root, &yml, &mut files, &mut |_, _| panic!("readable"));
        files.sort();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            [
                PathBuf::from("a.yml"),
                "linked/b.yml".into(),
                "sub/b.yml".into()
            ]
        );
        let mut missing = Vec::new();
        walk(&root.join("nope"), &yml, &mut files, &mut |p, _| {
            missing.push(p.to_path_buf())
        });
        assert_eq!(missing, [root.join("nope")]);
    }

    #[test]
    fn symlink_loops_are_skipped_and_reported_once_per_link() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.yml"), "x").unwrap();
        std::fs::write(root.join("sub/b.yml"), "x").unwrap();
        std::os::unix::fs::symlink(".", root.join("l1")).unwrap();
        std::os::unix::fs::symlink(".", root.join("l2")).unwrap();
        std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
        let yml = |p: &Path| p.extension().is_some_and(|e| e == "yml");
        let mut files = Vec::new();
        let mut loops = Vec::new();
        walk_reporting(
            root,
            &yml,
            &mut files,
            &mut |_, _| panic!("readable"),
            &mut |p, why| loops.push((p.to_path_buf(), why.to_string())),
        );
        files.sort();
        assert_eq!(files, [root.join("a.yml"), root.join("sub/b.yml")]);
        loops.sort();
        let paths: Vec<_> = loops.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(
            paths,
            [root.join("l1"), root.join("l2"), root.join("sub/up")]
        );
        assert!(loops.iter().all(|(_, why)| why.contains("symlink loop")));
        assert!(first_report(&root.join("l1")));
        assert!(!first_report(&root.join("l1")), "reported once");
    }

    #[test]
    fn depth_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let mut deep = dir.path().to_path_buf();
        for i in 0..(MAX_DEPTH + 3) {
            deep.push(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x.yml"), "x").unwrap();
        let mut files = Vec::new();
        let mut skipped = 0;
        walk_reporting(
            dir.path(),
            &|_| true,
            &mut files,
            &mut |_, _| panic!("readable"),
            &mut |_, why| {
                assert!(why.contains("too deep"), "{why}");
                skipped += 1;
            },
        );
        assert!(files.is_empty());
        assert_eq!(skipped, 1);
    }
}
