//! The store's tables as the daemon uses them: checkpoints, dedup windows, key/value.
//!
//! Windows are kept as JSON text: the store does not know their shape (the daemon's window
//! module does), and `sqlite3 state.db` stays readable for an operator.

use super::error::StoreError;
use super::open::Store;
use crate::source::checkpoint::{Checkpoints, FilePosition};
use rusqlite::OptionalExtension;

/// The stored windows of one (RuleID, dedup string).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow {
    pub period_minutes: u32,
    /// The windows, as the daemon's window module serialized them.
    pub windows: String,
}

/// What storing a key's windows did to the other keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUse {
    /// The key was already held, or there was room for it.
    Kept,
    /// The store was at `max_keys` or past `max_window_bytes`: these least recently used keys
    /// (rule id, dedup string), oldest first, were evicted to make room.
    Evicted(Vec<(String, String)>),
}

fn file_key(p: &FilePosition) -> String {
    format!("{}:{}", p.fingerprint.key.dev, p.fingerprint.key.ino)
}

impl Store {
    /// Every file position.
    pub fn checkpoints(&self) -> Result<Checkpoints, StoreError> {
        let mut out = Checkpoints::default();
        let mut stmt = self
            .conn
            .prepare("SELECT file, position FROM checkpoints")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let (file, json) = row.map_err(|e| self.sql(e))?;
            let position: FilePosition =
                serde_json::from_str(&json).map_err(|e| StoreError::BadRow {
                    path: self.path.clone(),
                    table: "checkpoints",
                    key: file,
                    detail: e.to_string(),
                })?;
            out.set(position);
        }
        Ok(out)
    }

    /// Records how far one file has been processed.
    pub fn set_checkpoint(&mut self, position: &FilePosition) -> Result<(), StoreError> {
        let json = serde_json::to_string(position).expect("positions serialize");
        self.write()?;
        self.conn
            .prepare_cached(
                "INSERT INTO checkpoints (file, position) VALUES (?1, ?2)
             ON CONFLICT (file) DO UPDATE SET position = excluded.position",
            )
            .and_then(|mut s| s.execute((file_key(position), json)))
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The windows of one key, if held.
    pub fn window(&self, rule_id: &str, dedup: &str) -> Result<Option<WindowRow>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT period_minutes, windows FROM windows WHERE rule_id = ?1 AND dedup = ?2",
            )
            .and_then(|mut s| {
                s.query_row((rule_id, dedup), |r| {
                    Ok(WindowRow {
                        period_minutes: r.get(0)?,
                        windows: r.get(1)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.sql(e))
    }

    /// Stores the windows of one key and marks it most recently used. `now_ms` (wall clock)
    /// sets its idle deadline: twice its dedup period without a match. Then the bounds are
    /// enforced, least recently used keys first: `max_keys`, and `max_window_bytes` (the key
    /// just written is never evicted).
    pub fn put_window(
        &mut self,
        rule_id: &str,
        dedup: &str,
        row: &WindowRow,
        now_ms: i64,
    ) -> Result<KeyUse, StoreError> {
        self.clock += 1;
        let clock = self.clock;
        let idle_until = now_ms + i64::from(row.period_minutes) * 120_000;
        let new_len = row.windows.len() as u64;
        self.write()?;
        let old_len: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT length(CAST(windows AS BLOB)) FROM windows WHERE rule_id = ?1 AND dedup = ?2",
            )
            .and_then(|mut s| s.query_row((rule_id, dedup), |r| r.get(0)).optional())
            .map_err(|e| self.sql(e))?;
        let mut evicted = Vec::new();
        if let Some(old_len) = old_len {
            self.conn
                .prepare_cached(
                    "UPDATE windows SET period_minutes = ?3, used = ?4, idle_until_ms = ?5, windows = ?6
                     WHERE rule_id = ?1 AND dedup = ?2",
                )
                .and_then(|mut s| {
                    s.execute((rule_id, dedup, row.period_minutes, clock, idle_until, &row.windows))
                })
                .map_err(|e| self.sql(e))?;
            self.window_bytes = self.window_bytes.saturating_sub(old_len as u64) + new_len;
        } else {
            if self.keys >= self.bounds.max_keys.max(1) {
                evicted.extend(self.evict_least_recent()?);
            }
            self.conn
                .prepare_cached(
                    "INSERT INTO windows (rule_id, dedup, period_minutes, used, idle_until_ms, windows)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| {
                    s.execute((
                        rule_id,
                        dedup,
                        row.period_minutes,
                        clock,
                        idle_until,
                        &row.windows,
                    ))
                })
                .map_err(|e| self.sql(e))?;
            self.keys += 1;
            self.window_bytes += new_len;
        }
        // The key just written is the most recently used: it goes last, and never while
        // another key is left.
        while self.window_bytes > self.bounds.max_window_bytes && self.keys > 1 {
            match self.evict_least_recent()? {
                Some(key) => evicted.push(key),
                None => break,
            }
        }
        Ok(if evicted.is_empty() {
            KeyUse::Kept
        } else {
            KeyUse::Evicted(evicted)
        })
    }

    /// Deletes the least recently used key, if any.
    fn evict_least_recent(&mut self) -> Result<Option<(String, String)>, StoreError> {
        let victim: Option<(String, String, i64)> = self
            .conn
            .prepare_cached(
                "DELETE FROM windows WHERE rowid = (SELECT rowid FROM windows ORDER BY used LIMIT 1)
                 RETURNING rule_id, dedup, length(CAST(windows AS BLOB))",
            )
            .and_then(|mut s| {
                s.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(|e| self.sql(e))?;
        Ok(victim.map(|(rule_id, dedup, len)| {
            self.keys -= 1;
            self.window_bytes = self.window_bytes.saturating_sub(len as u64);
            (rule_id, dedup)
        }))
    }

    /// Drops the keys without a match for twice their dedup period (wall clock); returns how
    /// many. Their windows can no longer be joined by events arriving in time order.
    pub fn expire_idle(&mut self, now_ms: i64) -> Result<u64, StoreError> {
        self.write()?;
        let lengths: Vec<i64> = self
            .conn
            .prepare_cached(
                "DELETE FROM windows WHERE idle_until_ms < ?1 RETURNING length(CAST(windows AS BLOB))",
            )
            .and_then(|mut s| s.query_map([now_ms], |r| r.get(0))?.collect())
            .map_err(|e| self.sql(e))?;
        let gone = lengths.len() as u64;
        self.keys -= gone.min(self.keys);
        self.window_bytes = self
            .window_bytes
            .saturating_sub(lengths.iter().sum::<i64>() as u64);
        Ok(gone)
    }

    /// Dedup keys held.
    pub fn window_keys(&self) -> u64 {
        self.keys
    }

    /// Bytes of the windows held (their stored text).
    pub fn window_bytes(&self) -> u64 {
        self.window_bytes
    }

    /// A value of the key/value table (for rule state), unless it has expired at `now_ms`.
    pub fn kv_get(
        &self,
        namespace: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT value FROM kv WHERE namespace = ?1 AND key = ?2
                 AND (expires_ms IS NULL OR expires_ms > ?3)",
            )
            .and_then(|mut s| {
                s.query_row((namespace, key, now_ms), |r| r.get(0))
                    .optional()
            })
            .map_err(|e| self.sql(e))
    }

    /// Sets a value of the key/value table, with an optional expiry (wall clock, ms).
    pub fn kv_put(
        &mut self,
        namespace: &str,
        key: &str,
        value: &str,
        expires_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.conn
            .prepare_cached(
                "INSERT INTO kv (namespace, key, value, expires_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,
             expires_ms = excluded.expires_ms",
            )
            .and_then(|mut s| s.execute((namespace, key, value, expires_ms)))
            .map_err(|e| self.sql(e))?;
        Ok(())
    }
}
