//! `trailwatch state repair`: what an operator runs when the daemon says its store is damaged.
//!
//! It copies every row that can still be read and decoded into a new database, sets the damaged
//! files aside (nothing is deleted) and says exactly what was lost, because what was lost
//! decides what the next start reads again.

use super::check::{read_only, salvage, store_id, Report, WindowCheck};
use super::error::StoreError;
use super::files::{db_path, identity_path};
use super::open::{connect, create_schema, new_id, read_identity, write_identity};
use crate::source::checkpoint::FilePosition;
use rusqlite::OpenFlags;
use std::path::{Path, PathBuf};

/// Copies what can be read of a damaged store into a new one, sets the old files aside as
/// `state.db.damaged-<time>` and reports what was kept and lost. The daemon must not be running
/// (the caller holds the state directory's lock).
pub fn repair(state_dir: &Path, window_ok: WindowCheck) -> Result<Report, StoreError> {
    let path = db_path(state_dir);
    let mut report = Report {
        path: path.clone(),
        ..Report::default()
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    if !std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
        let id = identity_path(state_dir);
        if id.exists() {
            std::fs::remove_file(&id).map_err(io(&id))?;
            report.actions.push(
                "no database to salvage: removed state.id, so the next start creates a new, \
                 empty store and reads every source again as `read_from` says (sinks skip \
                 alerts they already delivered)"
                    .into(),
            );
        } else {
            report
                .actions
                .push("no store here: nothing to repair".into());
        }
        return Ok(report);
    }
    let old = read_only(&path).ok();
    let id = old
        .as_ref()
        .and_then(store_id)
        .or(read_identity(state_dir).ok().flatten())
        .unwrap_or_else(new_id);
    let fresh_path = path.with_extension("db.repairing");
    for p in [fresh_path.clone(), wal(&fresh_path), shm(&fresh_path)] {
        let _ = std::fs::remove_file(p);
    }
    crate::durable::open_append(&fresh_path).map_err(io(&fresh_path))?;
    let fresh = connect(
        &fresh_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    let sql = |e| StoreError::sqlite(&fresh_path, e);
    fresh.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
    create_schema(&fresh, &id).map_err(sql)?;
    let mut lost = [0u64; 5];
    if let Some(old) = &old {
        let tables: [(&str, &str, &str); 5] = [
            ("checkpoints", "file, position", "INSERT INTO checkpoints (file, position) VALUES (?1, ?2)"),
            ("windows", "rule_id, dedup, period_minutes, used, idle_until_ms, windows",
             "INSERT INTO windows (rule_id, dedup, period_minutes, used, idle_until_ms, windows) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            ("event_ids", "seq, id", "INSERT OR IGNORE INTO event_ids (seq, id) VALUES (?1, ?2)"),
            ("kv", "namespace, key, value, expires_ms", "INSERT INTO kv (namespace, key, value, expires_ms) VALUES (?1, ?2, ?3, ?4)"),
            ("outbox", "seq, alert", "INSERT INTO outbox (seq, alert) VALUES (?1, ?2)"),
        ];
        for (i, (table, columns, insert)) in tables.into_iter().enumerate() {
            let mut stmt = fresh.prepare(insert).map_err(sql)?;
            let mut kept = 0u64;
            let unreadable = salvage(old, table, columns, |r| {
                let values: Vec<rusqlite::types::Value> = (1..=columns.split(',').count())
                    .map(|c| r.get(c))
                    .collect::<Result<_, _>>()?;
                let valid = match table {
                    "checkpoints" => match &values[1] {
                        rusqlite::types::Value::Text(j) => {
                            serde_json::from_str::<FilePosition>(j).is_ok()
                        }
                        _ => false,
                    },
                    "windows" => match &values[5] {
                        rusqlite::types::Value::Text(j) => window_ok(j).is_ok(),
                        _ => false,
                    },
                    _ => true,
                };
                if valid && stmt.execute(rusqlite::params_from_iter(values)).is_ok() {
                    kept += 1;
                } else {
                    lost[i] += 1;
                }
                Ok(())
            })
            .unwrap_or(u64::MAX);
            if unreadable == u64::MAX {
                report
                    .problems
                    .push(format!("{table}: the table could not be read at all"));
            } else if unreadable > 0 {
                report
                    .problems
                    .push(format!("{table}: {unreadable} unreadable places skipped"));
            }
            match i {
                0 => report.checkpoints = kept,
                1 => report.windows = kept,
                2 => report.event_ids = kept,
                3 => report.kv = kept,
                _ => {}
            }
        }
    } else {
        report
            .problems
            .push("the database cannot be opened at all: nothing could be salvaged".into());
    }
    fresh.execute_batch("COMMIT").map_err(sql)?;
    drop(fresh);
    drop(old);
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let aside = path.with_extension(format!("db.damaged-{stamp}"));
    for (from, to) in [
        (path.clone(), aside.clone()),
        (wal(&path), wal(&aside)),
        (shm(&path), shm(&aside)),
    ] {
        if from.exists() {
            std::fs::rename(&from, &to).map_err(io(&from))?;
        }
    }
    for p in [wal(&fresh_path), shm(&fresh_path)] {
        let _ = std::fs::remove_file(p);
    }
    std::fs::rename(&fresh_path, &path).map_err(io(&fresh_path))?;
    crate::durable::sync_dir(state_dir).map_err(io(state_dir))?;
    write_identity(state_dir, &id)?;
    report
        .actions
        .push(format!("the damaged files are kept as {}", aside.display()));
    let names = [
        "checkpoints",
        "dedup keys",
        "event ids",
        "key/value entries",
    ];
    for (n, name) in lost.iter().zip(names) {
        if *n > 0 {
            report
                .actions
                .push(format!("{n} {name} could not be decoded and were dropped"));
        }
    }
    if report.problems.iter().any(|p| p.starts_with("checkpoints")) || lost[0] > 0 {
        report.actions.push(
            "some checkpoints were lost: their files are read again from the start (sinks skip \
             alerts they already delivered)"
                .into(),
        );
    }
    // What was found is now what was done about it.
    let found = std::mem::take(&mut report.problems);
    report
        .actions
        .extend(found.into_iter().map(|p| format!("lost: {p}")));
    Ok(report)
}

fn wal(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", p.display()))
}

fn shm(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}-shm", p.display()))
}
