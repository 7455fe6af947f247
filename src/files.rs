//! Walking directory trees, the one way every trailwatch input is found.
//!
//! Rules, log files and the daemon's sources all mean the same by "the files under this
//! directory": recursively, following symlinks (rule and log directories are often linked into
//! place), not descending into hidden directories (editors, sync tools and trailwatch's own
//! temporary files live there).

use std::io;
use std::path::{Path, PathBuf};

/// Appends to `files` every file under `dir` for which `keep` is true. A directory that
/// cannot be read is reported to `unreadable` and the walk goes on.
pub fn walk(
    dir: &Path,
    keep: &dyn Fn(&Path) -> bool,
    files: &mut Vec<PathBuf>,
    unreadable: &mut dyn FnMut(&Path, io::Error),
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
            Ok(m) if m.is_dir() && !hidden => walk(&path, keep, files, unreadable),
            Ok(m) if m.is_file() && keep(&path) => files.push(path),
            _ => {}
        }
    }
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
}
