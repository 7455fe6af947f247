//! The outbox: alerts written in the same transaction as the windows that opened them, and
//! handed to the sinks only after that transaction is committed.
//!
//! Without it an alert could reach a sink while the window that opened it was not yet
//! committed; a crash then re-read the records, possibly in another order, re-formed the
//! window at another match and sent the same detection again under another id. With it, an
//! alert exists outside the process only if its window is durable, and an alert whose window
//! is durable is delivered even across a crash (the outbox is read back at start). A row is
//! removed once every sink has accepted the alert; a crash before the removal is committed
//! only re-publishes an alert the sinks already hold, which they skip by its id.

use super::error::StoreError;
use super::open::Store;

impl Store {
    /// Adds an alert (as JSON) to the outbox, inside the open transaction; returns its number.
    pub fn outbox_put(&mut self, alert_json: &str) -> Result<i64, StoreError> {
        self.write()?;
        self.conn
            .prepare_cached("INSERT INTO outbox (alert) VALUES (?1)")
            .and_then(|mut s| s.insert([alert_json]))
            .map_err(|e| self.sql(e))
    }

    /// Every alert in the outbox, oldest first.
    pub fn outbox(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, alert FROM outbox ORDER BY seq")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.sql(e));
        rows
    }

    /// Removes a delivered alert from the outbox (committed with the next commit).
    pub fn outbox_remove(&mut self, seq: i64) -> Result<(), StoreError> {
        self.write()?;
        self.conn
            .prepare_cached("DELETE FROM outbox WHERE seq = ?1")
            .and_then(|mut s| s.execute([seq]))
            .map_err(|e| self.sql(e))?;
        Ok(())
    }
}
