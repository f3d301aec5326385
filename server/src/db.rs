//! Connecting to SQLite (embedded default) or PostgreSQL, and applying the migrations.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, EntityTrait, QuerySelect,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::error::{AppError, AppResult};

/// How long a write waits for the lock another writer holds (SQLite's busy timeout, PostgreSQL's
/// `lock_timeout`) before the request answers 503 `busy` with `Retry-After`.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Connects; for a SQLite file, creates its folder first and turns on write-ahead logging.
/// On PostgreSQL the instance's connections get a name of their own (see [`PostgresTuning`]).
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let is_sqlite = url.starts_with("sqlite:");
    let tuning = PostgresTuning {
        instance: format!("samling-{}", uuid::Uuid::new_v4().simple()),
        synchronous_commit: true,
    };
    connect_pool(url, if is_sqlite { 8 } else { 16 }, tuning).await
}

/// The connection the post writer stores new posts through.
///
/// On a SQLite file it is one connection of its own: SQLite empties a connection's page cache
/// whenever another connection has written, and the shared pool hands out its connections in
/// turn, so on the pool every group of posts started on a cold cache. An in-memory SQLite
/// database (a second connection would open another, empty, database) uses the shared pool.
///
/// On PostgreSQL it is one connection of its own too, under the instance's name, that commits
/// without waiting for the disk (`synchronous_commit = off`), as SQLite's `synchronous =
/// NORMAL` does: a crash of the database's machine can lose the last fraction of a second of
/// posts, never corrupts, and the disk's sync (3 ms here) is not added to every post
/// (docs/performance.md). Every other write still waits for the disk.
pub async fn post_writer_connection(url: &str, shared: &DatabaseConnection) -> anyhow::Result<DatabaseConnection> {
    if shared.get_database_backend() == DatabaseBackend::Postgres {
        let instance = shared
            .get_postgres_connection_pool()
            .connect_options()
            .get_application_name()
            .unwrap_or_default()
            .to_string();
        let tuning = PostgresTuning {
            instance,
            synchronous_commit: false,
        };
        connect_pool(url, 1, tuning).await
    } else if sqlite_file(url).is_some() {
        connect_pool(url, 1, PostgresTuning::default()).await
    } else {
        Ok(shared.clone())
    }
}

/// What a PostgreSQL connection is told when it opens.
#[derive(Default)]
struct PostgresTuning {
    /// The instance's name (`application_name`): the instance skips its own NOTIFY signals by
    /// it (see `realtime::events::notify_instances`), and an operator sees in
    /// `pg_stat_activity` which instance a connection belongs to.
    instance: String,
    /// Whether a commit waits until it is on disk.
    synchronous_commit: bool,
}

async fn connect_pool(url: &str, max_connections: u32, tuning: PostgresTuning) -> anyhow::Result<DatabaseConnection> {
    let is_sqlite = url.starts_with("sqlite:");
    if is_sqlite
        && let Some(path) = sqlite_file(url)
        && let Some(parent) = std::path::Path::new(&path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the database folder {}", parent.display()))?;
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // sqlx pings a pooled connection before every checkout by default: one more round trip
        // to the connection's thread (SQLite) or server (PostgreSQL) per query. A connection
        // goes stale (a database restart, a proxy) only after sitting idle, so only those are.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        // Write-ahead logging on every connection. `synchronous = NORMAL` is SQLite's advice
        // for WAL: a commit survives the server crashing or being killed and the file is never
        // corrupted; only a power cut can lose the last commits. FULL syncs the disk on every
        // commit: measured here, 0.22 ms a commit at the median and 10–33 ms at the 99th
        // percentile, against 0.02 ms and 0.1 ms (docs/performance.md).
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(LOCK_WAIT)
        })
        .map_sqlx_postgres_opts(move |postgres| {
            let postgres = postgres
                .options([("lock_timeout", format!("{}ms", LOCK_WAIT.as_millis()))])
                .application_name(&tuning.instance);
            if tuning.synchronous_commit {
                postgres
            } else {
                postgres.options([("synchronous_commit", "off")])
            }
        });
    let db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))?;
    Ok(db)
}

/// The one way to write: a transaction that holds the write lock from its first statement.
///
/// On SQLite it is `BEGIN IMMEDIATE`: a plain (deferred) transaction that reads and then writes
/// cannot take the write lock while another connection writes, and SQLite answers it
/// `database is locked` at once instead of waiting. Immediate transactions queue for the lock
/// (up to [`LOCK_WAIT`]). On PostgreSQL, callers lock the row they decide on with [`lock_row`]
/// (or write with `ON CONFLICT`), so two people saving at once take turns. `clippy.toml`
/// refuses sea-orm's plain `begin()` so no area can write another way.
pub async fn write_transaction<C: TransactionTrait>(db: &C) -> AppResult<C::Transaction> {
    #[allow(clippy::disallowed_methods)] // this is the one place that starts transactions
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(txn)
}

/// Reads a row inside a [`write_transaction`], locking it on PostgreSQL until the transaction
/// ends (on SQLite the transaction already holds the write lock). 404 when it is not there.
pub async fn lock_row<E: EntityTrait>(txn: &impl ConnectionTrait, id: i32) -> AppResult<E::Model>
where
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i32>,
{
    let query = E::find_by_id(id);
    let query = if txn.get_database_backend() == DatabaseBackend::Postgres {
        query.lock_exclusive()
    } else {
        query
    };
    query.one(txn).await?.ok_or(AppError::NotFound)
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("cannot apply database migrations")
}

/// `sqlite://data/samling.sqlite?mode=rwc` → `data/samling.sqlite`
fn sqlite_file(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact("postgres://samling:secret@db:5432/samling"),
            "postgres://samling:***@db:5432/samling"
        );
        assert_eq!(redact("sqlite://data/samling.sqlite"), "sqlite://data/samling.sqlite");
    }

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_file("sqlite://data/samling.sqlite?mode=rwc").as_deref(),
            Some("data/samling.sqlite")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
