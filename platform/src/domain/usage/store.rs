//! The SQL of API usage: the flush's multi-row upserts and the report's sums. One statement
//! text for SQLite and PostgreSQL (sea-query for the upsert; `$n` placeholders rewritten by
//! `infra::db::placeholders` for the report).

use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait, Value};
use uuid::Uuid;

use super::histogram::{Histogram, BUCKETS};
use super::{Cell, CellKey, Range, UsageRow};

const TABLE: &str = "api_usage";
/// Rows per INSERT: 49 values each, so 256 rows stay far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bind parameters, and one statement stays small.
const ROWS_PER_STATEMENT: usize = 256;
/// The conflict target: the unique index `api_usage_cell`.
const CELL: [&str; 4] = ["key_id", "minute_start", "route", "method"];

/// The counting columns, in order: requests, the four status classes, then the latency
/// buckets `lat_00` … `lat_37`.
fn count_columns() -> Vec<String> {
    let mut columns: Vec<String> = [
        "requests",
        "status_2xx",
        "status_3xx",
        "status_4xx",
        "status_5xx",
    ]
    .map(str::to_owned)
    .to_vec();
    columns.extend((0..BUCKETS).map(|i| format!("lat_{i:02}")));
    columns
}

/// A count as stored: BIGINT. Counts of one flush are far from 2^63; saturate rather than wrap.
fn stored(n: u64) -> SimpleExpr {
    Expr::val(i64::try_from(n).unwrap_or(i64::MAX)).into()
}

fn counts_of(cell: &Cell) -> impl Iterator<Item = u64> + '_ {
    std::iter::once(cell.requests)
        .chain(cell.status)
        .chain(cell.latency.counts)
}

/// Adds `cells` to the stored rows in one transaction: a new row per new cell, the counts
/// added to an existing one (another flush or another instance wrote the same minute).
pub(super) async fn write(db: &DatabaseConnection, cells: &[(CellKey, Cell)]) -> Result<(), DbErr> {
    let counts = count_columns();
    let table = Alias::new(TABLE);
    let mut columns: Vec<Alias> = [
        "id",
        "key_id",
        "livemode",
        "route",
        "method",
        "minute_start",
    ]
    .into_iter()
    .map(Alias::new)
    .collect();
    columns.extend(counts.iter().map(Alias::new));
    let mut on_conflict = OnConflict::columns(CELL.map(Alias::new));
    on_conflict.values(counts.iter().map(|c| {
        let sum = Expr::col((table.clone(), Alias::new(c)))
            .add(Expr::col((Alias::new("excluded"), Alias::new(c))));
        (Alias::new(c), sum)
    }));
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    for chunk in cells.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert
            .into_table(table.clone())
            .columns(columns.clone())
            .on_conflict(on_conflict.clone());
        for (key, cell) in chunk {
            let mut row: Vec<SimpleExpr> = vec![
                Expr::val(Uuid::now_v7()).into(),
                Expr::val(key.key_id).into(),
                Expr::val(key.livemode).into(),
                Expr::val(key.route.as_ref()).into(),
                Expr::val(key.method).into(),
                Expr::val(key.minute_start).into(),
            ];
            row.extend(counts_of(cell).map(stored));
            insert
                .values(row)
                .map_err(|e| DbErr::Custom(format!("api usage row: {e}")))?;
        }
        txn.execute(backend.build(&insert)).await?;
    }
    txn.commit().await
}

/// The key's rows in `range`, summed per bucket, route and method; at most `limit` rows.
pub(super) async fn read(
    db: &impl ConnectionTrait,
    key_id: Uuid,
    range: &Range,
    limit: usize,
) -> Result<Vec<UsageRow>, DbErr> {
    let counts = count_columns();
    // PostgreSQL sums BIGINTs into NUMERIC: cast back.
    let sums = counts
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT minute_start - (minute_start % $1) AS bucket_start, route, method, {sums} \
         FROM {TABLE} WHERE key_id = $2 AND minute_start >= $3 AND minute_start < $4 \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT $5"
    );
    let backend = db.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        crate::infra::db::placeholders(backend, &sql),
        [
            Value::from(range.granularity.seconds()),
            Value::from(key_id),
            Value::from(range.from),
            Value::from(range.to),
            Value::from(i64::try_from(limit).unwrap_or(i64::MAX)),
        ],
    );
    let rows = db.query_all(statement).await?;
    let count = |row: &sea_orm::QueryResult, i: usize| -> Result<u64, DbErr> {
        let n: i64 = row.try_get_by_index(i)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    rows.iter()
        .map(|row| {
            let mut latency = Histogram::default();
            for (i, bucket) in latency.counts.iter_mut().enumerate() {
                *bucket = count(row, 8 + i)?;
            }
            Ok(UsageRow {
                start: row.try_get_by_index(0)?,
                route: row.try_get_by_index(1)?,
                method: row.try_get_by_index(2)?,
                requests: count(row, 3)?,
                status: [
                    count(row, 4)?,
                    count(row, 5)?,
                    count(row, 6)?,
                    count(row, 7)?,
                ],
                latency,
            })
        })
        .collect()
}
