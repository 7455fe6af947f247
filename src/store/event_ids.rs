//! The memory of recently processed event ids: exactly the newest `Bounds::event_ids`, first in
//! first out, on disk.
//!
//! A re-read after a crash, or the same event delivered in two files, is recognised by its
//! `eventID` and not counted twice. Each id gets the next sequence number; remembering one
//! forgets the id `event_ids` numbers older, so the table never holds more than the bound and the
//! oldest always goes first.

use super::error::StoreError;
use super::open::Store;
use rusqlite::OptionalExtension;

impl Store {
    /// True when `id` is among the remembered ids (including those not committed yet).
    pub fn seen_event(&self, id: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT 1 FROM event_ids WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |_| Ok(())).optional())
            .map(|found| found.is_some())
            .map_err(|e| self.sql(e))
    }

    /// Remembers `id` as the newest, forgetting the oldest beyond the bound.
    pub fn remember_event(&mut self, id: &str) -> Result<(), StoreError> {
        let seq = self.event_seq + 1;
        let bound = self.bounds.event_ids.max(1) as i64;
        self.write()?;
        let added = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO event_ids (seq, id) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute((seq, id)))
            .map_err(|e| self.sql(e))?;
        if added == 1 {
            self.conn
                .prepare_cached("DELETE FROM event_ids WHERE seq <= ?1")
                .and_then(|mut s| s.execute([seq - bound]))
                .map_err(|e| self.sql(e))?;
            self.event_seq = seq;
        }
        Ok(())
    }

    /// How many ids are remembered.
    pub fn event_ids(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM event_ids", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.sql(e))
    }
}
