//! `trailwatch state check` and `trailwatch state repair`: what an operator runs when the daemon
//! says its store is damaged.
//!
//! `check` only reads: SQLite's full integrity check, the store's identity, and every row decoded
//! as the daemon would decode it. `repair` copies every row that can still be read and decoded
//! into a new database, sets the damaged files aside (nothing is deleted) and says exactly what
//! was lost, because what was lost decides what the next start re-reads.

use super::error::StoreError;
use super::files::{db_path, identity_path};
use super::open::{connect, create_schema, new_id, read_identity, write_identity, SCHEMA};
use crate::source::checkpoint::FilePosition;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};

/// Checks one window row's JSON as the daemon would read it.
pub type WindowCheck<'a> = &'a dyn Fn(&str) -> Result<(), String>;

/// What `check` or `repair` found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub path: PathBuf,
    pub checkpoints: u64,
    pub windows: u64,
    pub event_ids: u64,
    pub kv: u64,
    /// Empty when the store is healthy.
    pub problems: Vec<String>,
    /// What `repair` did, in the operator's terms.
    pub actions: Vec<String>,
}

impl Report {
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "store: {}", self.path.display())?;
        writeln!(
            f,
            "rows: {} checkpoints, {} dedup keys, {} event ids, {} key/value entries",
            self.checkpoints, self.windows, self.event_ids, self.kv
        )?;
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        for a in &self.actions {
            writeln!(f, "repair: {a}")?;
        }
        write!(f, "{}", if self.healthy() { "ok" } else { "damaged" })
    }
}

fn read_only(path: &Path) -> Result<Connection, StoreError> {
    connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
}

/// Reads the whole store and reports every problem found. Never writes.
pub fn check(state_dir: &Path, window_ok: WindowCheck) -> Report {
    let path = db_path(state_dir);
    let mut report = Report {
        path: path.clone(),
        ..Report::default()
    };
    let id_file = match read_identity(state_dir) {
        Ok(id) => id,
        Err(e) => {
            report.problems.push(e.to_string());
            None
        }
    };
    if !std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
        if id_file.is_some() {
            report
                .problems
                .push("the database is missing or empty, but state.id says there was one".into());
        }
        return report;
    }
    let conn = match read_only(&path) {
        Ok(c) => c,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    match lines(&conn, "PRAGMA integrity_check") {
        Ok(l) if l == ["ok"] => {}
        Ok(l) => report.problems.extend(l.into_iter().take(20)),
        Err(e) => report.problems.push(format!("integrity check: {e}")),
    }
    match conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)) {
        Ok(SCHEMA) => {}
        Ok(v) => report
            .problems
            .push(format!("schema version {v}, this build reads {SCHEMA}")),
        Err(e) => report.problems.push(format!("schema version: {e}")),
    }
    let stored_id = store_id(&conn);
    match (&stored_id, &id_file) {
        (Some(db), Some(file)) if db != file => report.problems.push(format!(
            "the database is store {db} but state.id names store {file}"
        )),
        (None, _) => report
            .problems
            .push("the meta table has no store_id".into()),
        _ => {}
    }
    let mut row_problem = |table: &str, key: String, detail: String| {
        report.problems.push(format!("{table} row {key}: {detail}"))
    };
    let mut counts = [0u64; 4];
    let _ = salvage(&conn, "checkpoints", "file, position", |r| {
        let (file, json): (String, String) = (r.get(1)?, r.get(2)?);
        match serde_json::from_str::<FilePosition>(&json) {
            Ok(_) => counts[0] += 1,
            Err(e) => row_problem("checkpoints", file, e.to_string()),
        }
        Ok(())
    })
    .map(|lost| {
        if lost > 0 {
            row_problem(
                "checkpoints",
                "*".into(),
                format!("{lost} unreadable places"),
            )
        }
    });
    let _ = salvage(&conn, "windows", "rule_id, dedup, windows", |r| {
        let (rule, dedup, json): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
        match window_ok(&json) {
            Ok(()) => counts[1] += 1,
            Err(e) => row_problem("windows", format!("{rule} / {dedup}"), e),
        }
        Ok(())
    })
    .map(|lost| {
        if lost > 0 {
            row_problem("windows", "*".into(), format!("{lost} unreadable places"))
        }
    });
    for (i, table) in [(2, "event_ids"), (3, "kv")] {
        match conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(n) => counts[i] = n as u64,
            Err(e) => row_problem(table, "*".into(), e.to_string()),
        }
    }
    [
        report.checkpoints,
        report.windows,
        report.event_ids,
        report.kv,
    ] = counts;
    report
}

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
    let mut lost = [0u64; 4];
    if let Some(old) = &old {
        let tables: [(&str, &str, &str); 4] = [
            ("checkpoints", "file, position", "INSERT INTO checkpoints (file, position) VALUES (?1, ?2)"),
            ("windows", "rule_id, dedup, period_minutes, used, idle_until_ms, windows",
             "INSERT INTO windows (rule_id, dedup, period_minutes, used, idle_until_ms, windows) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            ("event_ids", "seq, id", "INSERT OR IGNORE INTO event_ids (seq, id) VALUES (?1, ?2)"),
            ("kv", "namespace, key, value, expires_ms", "INSERT INTO kv (namespace, key, value, expires_ms) VALUES (?1, ?2, ?3, ?4)"),
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
                _ => report.kv = kept,
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

fn store_id(conn: &Connection) -> Option<String> {
    conn.query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| {
        r.get(0)
    })
    .optional()
    .ok()
    .flatten()
}

fn lines(conn: &Connection, pragma: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(pragma)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Visits every row of `table` that can be read, in rowid order, stepping over damaged places
/// (each failed read moves the next attempt further ahead, doubling the step). Column 0 of the
/// row passed to `each` is the rowid, then `columns`. Returns how many places were unreadable;
/// an error when the table cannot be read at all.
fn salvage(
    conn: &Connection,
    table: &str,
    columns: &str,
    mut each: impl FnMut(&rusqlite::Row) -> rusqlite::Result<()>,
) -> rusqlite::Result<u64> {
    let mut stmt = conn.prepare(&format!(
        "SELECT rowid, {columns} FROM {table} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1"
    ))?;
    let mut next = i64::MIN;
    let mut step: i64 = 1;
    let mut unreadable = 0u64;
    loop {
        let read = stmt.query_row([next], |r| {
            let rowid: i64 = r.get(0)?;
            each(r)?;
            Ok(rowid)
        });
        match read.optional() {
            Ok(Some(rowid)) => {
                step = 1;
                match rowid.checked_add(1) {
                    Some(n) => next = n,
                    None => break,
                }
            }
            Ok(None) => break,
            Err(_) => {
                unreadable += 1;
                if unreadable > 100_000 {
                    break;
                }
                match next.checked_add(step) {
                    Some(n) => next = n,
                    None => break,
                }
                step = step.saturating_mul(2);
            }
        }
    }
    Ok(unreadable)
}
