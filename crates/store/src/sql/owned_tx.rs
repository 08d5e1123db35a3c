//! A transaction on a pooled connection, begun and ended with plain `BEGIN`, `COMMIT` and
//! `ROLLBACK`, so that a connection whose transaction did not end cleanly is retired
//! instead of handed to the next writer.
//!
//! Why not sqlx's `Transaction`: when SQLite's `COMMIT` fails (a full disk), SQLite may
//! keep the transaction open or roll it back by itself; sqlx's bookkeeping of transaction
//! depth then disagrees with the connection, and the next transaction on that connection
//! became a savepoint inside a dead one: writes answered as committed that never were.
//! Here, any failure to end a transaction closes the connection, which ends it for sure.

use std::ops::{Deref, DerefMut};

use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Execute, Executor};
use tokio::sync::OwnedMutexGuard;

use super::Statement;
use crate::{Result, StoreError};

pub struct OwnedTx {
    /// `None` only once the transaction has ended.
    conn: Option<PoolConnection<Any>>,
    /// The writer gate (SQLite), released only once the transaction has ended.
    gate: Option<OwnedMutexGuard<()>>,
}

impl OwnedTx {
    pub async fn begin(pool: &AnyPool, gate: Option<OwnedMutexGuard<()>>) -> Result<OwnedTx> {
        Self::begin_with(pool, gate, "BEGIN").await
    }

    /// Begins with `statement` (a `BEGIN` with the isolation a read needs, say).
    pub async fn begin_with(
        pool: &AnyPool,
        gate: Option<OwnedMutexGuard<()>>,
        statement: &str,
    ) -> Result<OwnedTx> {
        // Owned before the `BEGIN` is sent: should the caller give up meanwhile, dropping
        // it ends whatever was begun.
        let mut tx = OwnedTx {
            conn: Some(pool.acquire().await?),
            gate,
        };
        match tx.execute(statement).await {
            Ok(_) => Ok(tx),
            Err(error) => {
                tx.retire().await;
                Err(error.into())
            }
        }
    }

    /// Begins with `statement`: a `BEGIN` followed, in the same round trip, by statements
    /// of the transaction (SQLite runs them in turn). Returns their rows.
    pub async fn begin_fetching(
        pool: &AnyPool,
        gate: Option<OwnedMutexGuard<()>>,
        statement: Statement<'_>,
    ) -> Result<(OwnedTx, Vec<AnyRow>)> {
        let mut tx = OwnedTx {
            conn: Some(pool.acquire().await?),
            gate,
        };
        match statement.fetch_all(&mut *tx).await {
            Ok(rows) => Ok((tx, rows)),
            // Begun or not, closing the connection ends it.
            Err(error) => {
                tx.retire().await;
                Err(error.into())
            }
        }
    }

    /// Closes the connection, which ends the transaction whatever its state, then lets the
    /// writer gate go.
    async fn retire(mut self) {
        if let Some(conn) = self.conn.take() {
            retire(conn).await;
        }
        drop(self.gate.take());
    }

    /// A transaction that has already ended: a placeholder left where one was moved out.
    pub fn ended() -> OwnedTx {
        OwnedTx {
            conn: None,
            gate: None,
        }
    }

    pub async fn commit(self) -> Result<()> {
        self.commit_with("COMMIT").await
    }

    /// Ends the transaction with `statement`: its last statements and its `COMMIT` in one
    /// round trip (run in turn, the `COMMIT` only if every one before it succeeded).
    pub async fn commit_with<'q, S: Execute<'q, Any> + 'q>(mut self, statement: S) -> Result<()> {
        let Some(mut conn) = self.conn.take() else {
            return Err(StoreError::Internal("transaction already ended".into()));
        };
        match conn.execute(statement).await {
            Ok(_) => Ok(()),
            Err(error) => {
                retire(conn).await;
                Err(error.into())
            }
        }
    }
}

/// Closes a connection whose transaction state is unknown; closing ends any transaction.
async fn retire(conn: PoolConnection<Any>) {
    let _ = conn.detach().close().await;
}

/// Rolls back, or retires the connection if even that fails.
async fn roll_back(mut conn: PoolConnection<Any>) {
    if conn.execute("ROLLBACK").await.is_err() {
        retire(conn).await;
    }
}

impl Drop for OwnedTx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let gate = self.gate.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    roll_back(conn).await;
                    drop(gate);
                });
            }
            // No runtime to roll back on: dropping the detached connection closes it.
            Err(_) => drop(conn.detach()),
        }
    }
}

impl Deref for OwnedTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.conn {
            Some(conn) => conn,
            None => unreachable!("an ended transaction is never used"),
        }
    }
}

impl DerefMut for OwnedTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable!("an ended transaction is never used"),
        }
    }
}
