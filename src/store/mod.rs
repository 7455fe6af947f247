//! The daemon's embedded state store: one SQLite database, `state_dir/state.db`.
//!
//! It holds everything that must survive a restart and stay consistent with everything else:
//! file checkpoints, dedup windows, the memory of recently seen event ids, and a key/value table
//! that rule state will use. Why SQLite (through `rusqlite` with the bundled library), what the
//! tables are and how commits work is in docs/ARCHITECTURE.md ("State store") and
//! docs/OPERATIONS.md ("The state store").
//!
//! The alert stage owns the one read-write [`Store`]; it works inside one open transaction
//! between commits, so a crash at any moment rolls back to the last commit, and the checkpoints
//! in that commit describe exactly the windows and event ids beside them.

mod check;
mod error;
mod event_ids;
mod files;
mod migrate;
mod open;
mod outbox;
mod repair;
mod rows;

pub use check::{check, Report, WindowCheck};
pub use error::StoreError;
pub use files::{db_path, identity_path, lock};
pub use open::{Bounds, Store};
pub use repair::repair;
pub use rows::{KeyUse, WindowRow};

#[cfg(test)]
mod tests;
