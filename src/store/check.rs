//! `trailwatch state check`: reads the whole store and says what is wrong with it, without
//! writing anything (safe while the daemon runs): SQLite's full integrity check, the store's
//! identity, and every row decoded as the daemon would decode it.

use super::error::StoreError;
use super::files::db_path;
use super::open::{connect, read_identity, SCHEMA};
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

pub(super) fn read_only(path: &Path) -> Result<Connection, StoreError> {
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

pub(super) fn store_id(conn: &Connection) -> Option<String> {
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
pub(super) fn salvage(
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
