//! The start-up lock: N nodes started together on an empty Postgres database must not race on migrations or on
//! creating the demo environment (the loser used to exit). A transaction-scoped advisory lock serialises them;
//! the second node then finds everything done. SQLite is one process's file: no lock needed.

use anyhow::Context as _;
use sea_orm::{ConnectionTrait as _, DatabaseTransaction, DbBackend, TransactionTrait as _};
use vane_actors::store::Store;

/// The advisory lock key: "vane" in ASCII, so it cannot be mistaken for an application's lock.
const LOCK_KEY: i64 = 0x7661_6e65;

/// Holds the lock until dropped or committed (Postgres only; `None` on SQLite).
pub(super) async fn acquire(store: &Store) -> anyhow::Result<Option<DatabaseTransaction>> {
    if store.backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let txn = store.connection().begin().await.context("start-up lock: opening a transaction")?;
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({LOCK_KEY})"))
        .await
        .context("start-up lock: waiting for other nodes")?;
    Ok(Some(txn))
}
