//! Walking directory trees, the one way every trailwatch input is found.
//!
//! Rules, log files and the daemon's sources all mean the same by "the files under this
//! directory": recursively, following symlinks (rule and log directories are often linked into
//! place), not descending into hidden directories (editors, sync tools and trailwatch's own
//! temporary files live there). A source follows only the symlinks its `follow_symlinks`
//! policy allows ([`Follow`]): by default none that leads out of its root, since anyone who
//! can write to an inbox could otherwise have the daemon read any file it can open.
//!
//! Following symlinks makes loops possible (`ln -s . inbox/again`). A directory whose
//! `(device, inode)` is already on the path from the root is a loop: it is skipped and
//! reported once per process as a warning, since the daemon walks its sources every few
//! seconds. A depth cap bounds the rest (chains of links that are not loops but multiply the
//! tree). A directory reached twice through different links, not as its own ancestor, is read
//! under each name, as before.

use serde::Deserialize;
use std::collections::HashSet;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How deep a walk goes below its root; deeper directories are skipped with a warning.
pub const MAX_DEPTH: usize = 32;

/// Which symlinks a walk follows: a source's `follow_symlinks` (rules and `replay` arguments
/// follow every link, as the operator who wrote them chose them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Follow {
    /// Links whose target lies under the walk's root (after resolving every link on the way).
    /// A link out of the root (`inbox/p.ndjson -> /etc/passwd`) is refused.
    #[default]
    Inside,
    /// No symlink at all, file or directory.
    Never,
    /// Every link, wherever it leads (loops are still caught).
    Always,
}

impl Follow {
    /// Why `path`, found under `root`, must not be read under this policy, or `None`. `path`
    /// is resolved in full, so a link anywhere between the root and the file counts.
    /// A path that cannot be resolved (gone, dangling link) is not refused here: reading it
    /// fails on its own.
    pub fn refuses(self, root: &Path, path: &Path) -> Option<&'static str> {
        if self == Follow::Always {
            return None;
        }
        let (Ok(real_root), Ok(real)) = (root.canonicalize(), path.canonicalize()) else {
            return None;
        };
        match self {
            Follow::Inside if !real.starts_with(&real_root) => Some(
                "a symlink leading outside the source root is not read (follow_symlinks: inside)",
            ),
            Follow::Never
                if path
                    .strip_prefix(root)
                    .map_or(true, |rel| real != real_root.join(rel)) =>
            {
                Some("a path through a symlink is not read (follow_symlinks: never)")
            }
            _ => None,
        }
    }
}

/// Appends to `files` every file under `dir` for which `keep` is true. A directory that
/// cannot be read is reported to `unreadable` and the walk goes on; symlink loops and
/// directories past [`MAX_DEPTH`] are skipped and logged once (see [`walk_reporting`]).
/// Every symlink is followed.
pub fn walk(
    dir: &Path,
    keep: &dyn Fn(&Path) -> bool,
    files: &mut Vec<PathBuf>,
    unreadable: &mut dyn FnMut(&Path, io::Error),
) {
    walk_reporting(
        dir,
        Follow::Always,
        keep,
        files,
        unreadable,
        &mut |path, why| {
            if first_report(path) {
                tracing::warn!(path = %path.display(), "{why}; not followed");
            }
        },
    );
}

/// [`walk`] under a symlink policy, with skipped paths (loops, too deep, symlinks the policy
/// refuses) handed to `skipped` with the reason.
pub fn walk_reporting(
    dir: &Path,
    follow: Follow,
    keep: &dyn Fn(&Path) -> bool,
    files: &mut Vec<PathBuf>,
    unreadable: &mut dyn FnMut(&Path, io::Error),
    skipped: &mut dyn FnMut(&Path, &str),
) {
    let Ok(meta) = std::fs::metadata(dir) else {
        return unreadable(dir, io::Error::from(io::ErrorKind::NotFound));
    };
    let mut walk = Walk {
        root: dir,
        follow,
        keep,
        files,
        unreadable,
        skipped,
        ancestors: vec![(meta.dev(), meta.ino())],
    };
    walk.descend(dir);
}

struct Walk<'a> {
    root: &'a Path,
    follow: Follow,
    keep: &'a dyn Fn(&Path) -> bool,
    files: &'a mut Vec<PathBuf>,
    unreadable: &'a mut dyn FnMut(&Path, io::Error),
    skipped: &'a mut dyn FnMut(&Path, &str),
    /// `(device, inode)` of each directory from the root down to the current one.
    ancestors: Vec<(u64, u64)>,
}

impl Walk<'_> {
    fn descend(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return (self.unreadable)(dir, e),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                if let Some(why) = self.follow.refuses(self.root, &path) {
                    (self.skipped)(&path, why);
                    continue;
                }
            }
            // metadata() follows symlinks, unlike DirEntry::file_type().
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() && !hidden => {
                    let id = (m.dev(), m.ino());
                    if self.ancestors.contains(&id) {
                        (self.skipped)(&path, "symlink loop: a link back to a directory above it");
                    } else if self.ancestors.len() > MAX_DEPTH {
                        (self.skipped)(&path, "directory nested too deep (more than 32 levels)");
                    } else {
                        self.ancestors.push(id);
                        self.descend(&path);
                        self.ancestors.pop();
                    }
                }
                Ok(m) if m.is_file() && (self.keep)(&path) => self.files.push(path),
                _ => {}
            }
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
            Follow::Always,
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
    fn symlink_policies() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "x").unwrap();
        std::fs::create_dir(outside.path().join("dir")).unwrap();
        std::fs::write(outside.path().join("dir/far.yml"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/real.yml"), "x").unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, root.join(name)).unwrap();
        };
        link(&outside.path().join("passwd"), "p.yml");
        link(&outside.path().join("dir"), "out");
        link(Path::new("sub"), "in");
        link(&root.join("sub/real.yml"), "abs.yml");
        let walked = |follow| {
            let (mut files, mut refused) = (Vec::new(), Vec::new());
            walk_reporting(
                root,
                follow,
                &|_| true,
                &mut files,
                &mut |_, _| panic!("readable"),
                &mut |p, why| {
                    refused.push((p.strip_prefix(root).unwrap().to_owned(), why.to_owned()))
                },
            );
            let mut files: Vec<PathBuf> = files
                .iter()
                .map(|f| f.strip_prefix(root).unwrap().to_owned())
                .collect();
            files.sort();
            refused.sort();
            (files, refused)
        };
        let (files, refused) = walked(Follow::Inside);
        let paths = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(files, paths(&["abs.yml", "in/real.yml", "sub/real.yml"]));
        assert_eq!(
            refused.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
            paths(&["out", "p.yml"])
        );
        assert!(refused
            .iter()
            .all(|(_, why)| why.contains("follow_symlinks: inside")));

        let (files, refused) = walked(Follow::Never);
        assert_eq!(files, paths(&["sub/real.yml"]));
        assert_eq!(refused.len(), 4);

        let (files, refused) = walked(Follow::Always);
        assert_eq!(
            files,
            paths(&[
                "abs.yml",
                "in/real.yml",
                "out/far.yml",
                "p.yml",
                "sub/real.yml"
            ])
        );
        assert!(refused.is_empty());

        // A path checked on its own (as the daemon does for a file notify names).
        assert!(Follow::Inside.refuses(root, &root.join("p.yml")).is_some());
        assert!(Follow::Inside
            .refuses(root, &root.join("in/real.yml"))
            .is_none());
        assert!(Follow::Never
            .refuses(root, &root.join("in/real.yml"))
            .is_some());
        assert!(Follow::Never
            .refuses(root, &root.join("sub/real.yml"))
            .is_none());
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
            Follow::Always,
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
