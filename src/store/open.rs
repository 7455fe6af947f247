//! Opening the store: the file guard, the schema, and the one working transaction.

use super::error::StoreError;
use super::files::{db_path, identity_path, legacy_path};
use super::migrate;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};

/// The schema this build writes and reads (SQLite's `user_version`).
pub const SCHEMA: i64 = 2;

const CREATE: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE checkpoints (file TEXT PRIMARY KEY, position TEXT NOT NULL);
CREATE TABLE windows (
    rule_id TEXT NOT NULL,
    dedup TEXT NOT NULL,
    period_minutes INTEGER NOT NULL,
    used INTEGER NOT NULL,
    idle_until_ms INTEGER NOT NULL,
    windows TEXT NOT NULL,
    PRIMARY KEY (rule_id, dedup)
);
CREATE INDEX windows_by_use ON windows (used);
CREATE INDEX windows_by_idle ON windows (idle_until_ms);
CREATE TABLE event_ids (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY, alert TEXT NOT NULL);
CREATE TABLE kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_ms INTEGER,
    PRIMARY KEY (namespace, key)
);
";

/// What schema 2 added to schema 1.
const OUTBOX_V2: &str = "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, alert TEXT NOT NULL);";

/// The limits the store enforces.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Dedup keys (RuleID, dedup string) held; at the bound the least recently used is evicted.
    pub max_keys: u64,
    /// Bytes of stored windows; past the bound the least recently used keys are evicted.
    pub max_window_bytes: u64,
    /// Event ids remembered, first in first out.
    pub event_ids: u64,
}

/// The read-write store of one daemon.
pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    pub(super) bounds: Bounds,
    /// True while the working transaction is open.
    in_txn: bool,
    /// Window rows held (kept here so the bound costs no query).
    pub(super) keys: u64,
    /// Bytes of the window rows' `windows` text, for the same reason.
    pub(super) window_bytes: u64,
    /// The LRU clock: the `used` value of the most recently used window row.
    pub(super) clock: i64,
    /// The sequence number of the newest remembered event id.
    pub(super) event_seq: i64,
}

impl Store {
    /// Opens (or creates) the store in `state_dir`, migrating a legacy `state.json` once.
    ///
    /// A damaged database, or one that is gone while `state.id` says there was one, is an error:
    /// starting empty would silently re-read or skip everything.
    pub fn open(state_dir: &Path, bounds: Bounds) -> Result<Store, StoreError> {
        crate::durable::create_dir(state_dir).map_err(|source| StoreError::Io {
            path: state_dir.to_path_buf(),
            source,
        })?;
        let path = db_path(state_dir);
        let had_store = std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
        let id_file = read_identity(state_dir)?;
        if !had_store {
            if let Some(id) = &id_file {
                return Err(StoreError::Missing {
                    path,
                    detail: format!(
                        "the database is missing or empty, but state.id says this directory had store {id}"
                    ),
                });
            }
        }
        if !had_store {
            // Created owner-only before SQLite sees it (its log files take the same mode): the
            // store holds events, and events name principals and addresses.
            crate::durable::open_append(&path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        }
        let conn = connect(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        let sql = |e| StoreError::sqlite(&path, e);
        if had_store {
            quick_check(&conn, &path)?;
        }
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if version > SCHEMA {
            return Err(StoreError::TooNew {
                path,
                found: version,
                supported: SCHEMA,
            });
        }
        if version == 0 {
            create(&conn, &path, state_dir, bounds)?;
        } else if version == 1 {
            // Schema 1 had no outbox; nothing else changed.
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE; {OUTBOX_V2} PRAGMA user_version = {SCHEMA}; COMMIT;"
            ))
            .map_err(sql)?;
        }
        let stored_id: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)?;
        match (stored_id, id_file) {
            (Some(db), Some(file)) if db != file => {
                return Err(StoreError::Missing {
                    path,
                    detail: format!(
                    "the database is store {db}, but state.id names store {file}: it was replaced"
                ),
                })
            }
            (Some(db), None) => write_identity(state_dir, &db)?,
            (Some(_), Some(_)) => {}
            (None, _) => {
                return Err(StoreError::Corrupt {
                    path,
                    detail: "the meta table has no store_id".into(),
                })
            }
        }
        let (keys, clock, window_bytes): (i64, Option<i64>, i64) = conn
            .query_row(
                "SELECT count(*), max(used), coalesce(sum(length(CAST(windows AS BLOB))), 0)
                 FROM windows",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(sql)?;
        let event_seq: Option<i64> = conn
            .query_row("SELECT max(seq) FROM event_ids", [], |r| r.get(0))
            .map_err(sql)?;
        Ok(Store {
            conn,
            path,
            bounds,
            in_txn: false,
            keys: keys as u64,
            window_bytes: window_bytes as u64,
            clock: clock.unwrap_or(0),
            event_seq: event_seq.unwrap_or(0),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the working transaction if none is open. Every write goes through it, so what the
    /// alert stage changed between two commits lands together or not at all.
    pub(super) fn write(&mut self) -> Result<(), StoreError> {
        if !self.in_txn {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| StoreError::sqlite(&self.path, e))?;
            self.in_txn = true;
        }
        Ok(())
    }

    pub(super) fn sql(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, e)
    }

    /// Makes everything written since the last commit durable, atomically.
    ///
    /// On failure with the transaction still open (a full disk, say), nothing is lost and the
    /// caller may retry. If SQLite rolled the transaction back, [`StoreError::RolledBack`]: the
    /// work since the last commit is gone and only a restart from that commit is safe.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_txn {
            return Ok(());
        }
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => {
                self.in_txn = false;
                Ok(())
            }
            Err(e) if self.conn.is_autocommit() => {
                self.in_txn = false;
                Err(StoreError::RolledBack {
                    path: self.path.clone(),
                    detail: e.to_string(),
                })
            }
            Err(e) => Err(self.sql(e)),
        }
    }

    /// Bytes an unprivileged writer can still use on the store's file system.
    pub fn free_bytes(&self) -> std::io::Result<u64> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let fs = rustix::fs::statvfs(dir)?;
        Ok(fs.f_bavail.saturating_mul(fs.f_frsize))
    }

    /// True when writes are waiting for [`commit`](Self::commit).
    pub fn uncommitted(&self) -> bool {
        self.in_txn
    }
}

/// Opens a connection with the settings every user of the store shares.
pub(super) fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::sqlite(path, e))?;
    // WAL: a commit appends to the log and readers (`state check`) never block the writer.
    // synchronous=FULL: the log is fsynced at every commit, so a commit survives power loss.
    // A bounded page cache (16 MiB) is what keeps memory flat however many keys the store holds.
    let settings = if flags.contains(OpenFlags::SQLITE_OPEN_READ_WRITE) {
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA cache_size = -16384;
         PRAGMA busy_timeout = 5000;"
    } else {
        // A reader (`state check`, `repair`) changes nothing, the journal mode included, and
        // must get as far as it can into a damaged file: it needs no settings to do so.
        let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
        return Ok(conn);
    };
    conn.execute_batch(settings)
        .map_err(|e| StoreError::sqlite(path, e))?;
    Ok(conn)
}

/// SQLite's own structural check: every page, every index entry, bounded by the file's size.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| StoreError::sqlite(path, e))?;
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| StoreError::sqlite(path, e))?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: lines.into_iter().take(3).collect::<Vec<_>>().join("; "),
        })
    }
}

/// Creates the schema and the store's identity, and migrates `state.json` if there is one, all
/// in one transaction.
fn create(
    conn: &Connection,
    path: &Path,
    state_dir: &Path,
    bounds: Bounds,
) -> Result<(), StoreError> {
    let sql = |e| StoreError::sqlite(path, e);
    let id = new_id();
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
    create_schema(conn, &id).map_err(sql)?;
    let legacy = legacy_path(state_dir);
    let migrated = migrate::import(conn, path, &legacy, bounds)?;
    conn.execute_batch("COMMIT").map_err(sql)?;
    write_identity(state_dir, &id)?;
    if let Some(summary) = migrated {
        let done = legacy.with_extension("json.migrated");
        std::fs::rename(&legacy, &done).map_err(|source| StoreError::Io {
            path: legacy.clone(),
            source,
        })?;
        tracing::info!(from = %legacy.display(), to = %path.display(), %summary, "state.json migrated to the state store");
    }
    Ok(())
}

/// The tables, the schema version and the store's identity (inside the caller's transaction).
pub(super) fn create_schema(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.execute_batch(CREATE)?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('store_id', ?1), ('created_at', ?2)",
        (
            id,
            crate::event::time::format_rfc3339(time::OffsetDateTime::now_utc()),
        ),
    )?;
    conn.pragma_update(None, "user_version", SCHEMA)
}

pub(super) fn new_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

pub(super) fn read_identity(state_dir: &Path) -> Result<Option<String>, StoreError> {
    let path = identity_path(state_dir);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io { path, source }),
    }
}

pub(super) fn write_identity(state_dir: &Path, id: &str) -> Result<(), StoreError> {
    let path = identity_path(state_dir);
    crate::durable::replace(&path, format!("{id}\n").as_bytes())
        .map_err(|source| StoreError::Io { path, source })
}
