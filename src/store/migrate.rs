//! One-time import of `state.json`, the whole-file state of trailwatch before the store.
//!
//! The file is read with its own types (its layout is frozen: version 1) and written into the
//! new tables inside the transaction that creates them, so a crash during migration leaves the
//! old file in place and no store; the next start simply migrates again.

use super::error::StoreError;
use super::open::Bounds;
use crate::source::checkpoint::Checkpoints;
use rusqlite::Connection;
use serde::Deserialize;
use std::path::Path;

/// The only layout of `state.json` that ever shipped.
const LEGACY_VERSION: u32 = 1;

#[derive(Deserialize)]
struct Legacy {
    version: u32,
    checkpoints: Checkpoints,
    windows: Vec<LegacyKey>,
    event_ids: Vec<String>,
}

#[derive(Deserialize)]
struct LegacyKey {
    rule_id: String,
    dedup: String,
    period_minutes: u32,
    /// Kept as JSON: the window module reads it back when the key is next matched.
    windows: serde_json::Value,
}

/// Imports `legacy` (if it exists) through `conn`, inside the caller's transaction. Returns a
/// summary of what was imported, or `None` when there was no file.
pub(super) fn import(
    conn: &Connection,
    db: &Path,
    legacy: &Path,
    bounds: Bounds,
) -> Result<Option<String>, StoreError> {
    let bytes = match std::fs::read(legacy) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Io {
                path: legacy.to_path_buf(),
                source,
            })
        }
    };
    let bad = |detail: String| StoreError::Corrupt {
        path: legacy.to_path_buf(),
        detail,
    };
    let state: Legacy = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if state.version != LEGACY_VERSION {
        return Err(bad(format!(
            "state.json version {} is not one this build migrates",
            state.version
        )));
    }
    let sql = |e| StoreError::sqlite(db, e);
    for position in state.checkpoints.iter() {
        conn.execute(
            "INSERT INTO checkpoints (file, position) VALUES (?1, ?2)",
            (
                format!(
                    "{}:{}",
                    position.fingerprint.key.dev, position.fingerprint.key.ino
                ),
                serde_json::to_string(position).expect("positions serialize"),
            ),
        )
        .map_err(sql)?;
    }
    // The file kept the newest keys last only by accident of iteration; they all get an idle
    // deadline from now, and the bound applies from the first eviction on.
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let keys = state.windows.len().min(bounds.max_keys as usize);
    for (used, key) in state.windows.iter().take(keys).enumerate() {
        conn.execute(
            "INSERT INTO windows (rule_id, dedup, period_minutes, used, idle_until_ms, windows)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                &key.rule_id,
                &key.dedup,
                key.period_minutes,
                used as i64 + 1,
                now_ms + i64::from(key.period_minutes) * 120_000,
                key.windows.to_string(),
            ),
        )
        .map_err(sql)?;
    }
    let skip = state
        .event_ids
        .len()
        .saturating_sub(bounds.event_ids as usize);
    for (seq, id) in state.event_ids.iter().skip(skip).enumerate() {
        conn.execute(
            "INSERT OR IGNORE INTO event_ids (seq, id) VALUES (?1, ?2)",
            (seq as i64 + 1, id),
        )
        .map_err(sql)?;
    }
    Ok(Some(format!(
        "{} checkpoints, {} dedup keys, {} event ids",
        state.checkpoints.len(),
        keys,
        state.event_ids.len() - skip
    )))
}
