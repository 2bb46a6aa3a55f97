//! Database connections: SQLite (the embedded default) and PostgreSQL, with pool sizes,
//! timeouts and SQLite pragmas set explicitly.

pub mod page;
pub mod schema;
pub mod stats;

use std::str::FromStr;
use std::time::Duration;

use agora_migrations::{Migrator, MigratorTrait};
use sea_orm::sea_query::SimpleExpr;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::infra::config::Config;

/// Prepared statements cached per PostgreSQL connection (see `connect`).
const STATEMENT_CACHE: usize = 24;

pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let url = config.database_url();
    let mut options = ConnectOptions::new(url.clone());
    options
        .connect_timeout(Duration::from_millis(config.db_connect_timeout_ms))
        .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms))
        .sqlx_logging(false);
    if config.is_sqlite() {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                DbErr::Custom(format!(
                    "cannot create data dir {}: {e}",
                    config.data_dir.display()
                ))
            })?;
        }
        // SQLite has one writer: a single connection means no two transactions ever race for
        // the write lock (sea-orm 1.1 cannot begin them IMMEDIATE). It is kept for the life of
        // the process so its pragmas hold.
        options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(Duration::from_secs(u64::from(u32::MAX)))
            .max_lifetime(Duration::from_secs(u64::from(u32::MAX)));
        // Parse once here to fail early on a bad URL; the options below are re-applied by the
        // mapper on every (re)connect.
        SqliteConnectOptions::from_str(&url)
            .map_err(|e| DbErr::Custom(format!("bad SQLite URL: {e}")))?;
        let busy = Duration::from_millis(config.sqlite_busy_timeout_ms);
        options.map_sqlx_sqlite_opts(move |o| {
            o.create_if_missing(true)
                // WAL: readers do not block the writer.
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a committed transaction survives power loss. This is money.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(busy)
        });
    } else {
        options
            .max_connections(config.db_max_connections)
            .min_connections(1)
            .idle_timeout(Duration::from_secs(600))
            .max_lifetime(Duration::from_secs(1800));
        // Prepared statements kept per connection (sqlx: 100). The charge writers' multi-row
        // INSERTs are new SQL text for every batch size, each with thousands of placeholders:
        // kept 100 per connection (and their plans in each PostgreSQL backend) they held tens
        // of MB for statements rarely run again. The few hot single-row statements stay cached.
        options.map_sqlx_postgres_opts(|o| o.statement_cache_capacity(STATEMENT_CACHE));
    }
    let mut db = Database::connect(options).await?;
    stats::install(&mut db);
    Ok(db)
}

/// Raw SQL written with `$n` placeholders, as `backend` writes them (`?n` on SQLite).
pub fn placeholders(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    }
}

/// The row lock a claim's candidate subquery takes: `FOR UPDATE SKIP LOCKED` on PostgreSQL,
/// so claiming workers never wait for each other; nothing on SQLite, whose one writer makes
/// the claiming UPDATE atomic.
pub fn skip_locked(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    }
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Deletes the rows of `E` that match `condition`, `batch` at a time (select the ids, delete
/// those), so a sweep never holds SQLite's one writer for long. `id` is the table's UUID
/// primary key. Returns how many rows went. Shared by every expiry sweep.
pub async fn delete_in_batches<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: E::Column,
    condition: SimpleExpr,
    batch: u64,
) -> Result<u64, DbErr> {
    let mut total = 0;
    loop {
        let ids: Vec<Uuid> = E::find()
            .select_only()
            .column(id)
            .filter(condition.clone())
            .limit(batch)
            .into_tuple()
            .all(db)
            .await?;
        let n = ids.len() as u64;
        if n > 0 {
            total += E::delete_many()
                .filter(id.is_in(ids))
                .exec(db)
                .await?
                .rows_affected;
        }
        if n < batch {
            return Ok(total);
        }
    }
}

/// One round trip to the database (`SELECT 1`): the readiness probe.
pub async fn ping(db: &impl sea_orm::ConnectionTrait) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
