//! Errors of the state store, typed where the daemon branches on them.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is damaged; the daemon must not guess what it held.
    #[error(
        "{path}: the state store is damaged ({detail}); nothing was read or skipped. \
         Run `trailwatch state check` to see the damage and `trailwatch state repair` to \
         salvage it (docs/OPERATIONS.md, \"The state store\")"
    )]
    Corrupt { path: PathBuf, detail: String },
    /// `state_dir` had a store before and it is gone or was replaced by another one.
    #[error(
        "{path}: {detail}; refusing to start from empty state, which would re-read every file. \
         Restore the database from a backup, or run `trailwatch state repair` to start a new \
         store on purpose (docs/OPERATIONS.md, \"The state store\")"
    )]
    Missing { path: PathBuf, detail: String },
    /// A store written by a newer trailwatch.
    #[error("{path}: state store schema {found} is newer than this build reads ({supported})")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// The transaction was rolled back under us (for example by a full disk): what the alert
    /// stage did since the last commit is gone, so the process must restart from that commit.
    #[error("{path}: the state store rolled back uncommitted work ({detail}); restart needed")]
    RolledBack { path: PathBuf, detail: String },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A row whose content cannot be decoded.
    #[error("{path}: {table} row {key}: {detail}")]
    BadRow {
        path: PathBuf,
        table: &'static str,
        key: String,
        detail: String,
    },
}

impl StoreError {
    /// Classifies a SQLite error: corruption is its own case, everything else stays SQLite's.
    pub(crate) fn sqlite(path: &std::path::Path, e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match e.sqlite_error_code() {
            Some(DatabaseCorrupt | NotADatabase) => StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: e.to_string(),
            },
            _ => StoreError::Sqlite {
                path: path.to_path_buf(),
                source: e,
            },
        }
    }
}
