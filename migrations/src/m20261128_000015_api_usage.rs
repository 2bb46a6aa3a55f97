//! API usage per key (issue 18): one row per API key, route pattern, method and wall-clock
//! minute, with the requests by status class and a latency histogram. Rows are written by the
//! usage flush (`INSERT … ON CONFLICT … DO UPDATE` adding to what is there, so several
//! instances and several flushes of one minute add up) and deleted after
//! `api_usage_retention_days` by the expiry sweep.
//!
//! The histogram is one integer column per bucket (`lat_00` … `lat_37`), not a blob, so the
//! upsert can add bucket by bucket in SQL and the report can sum minutes into hours and days
//! with `SUM`. The bucket bounds live in `platform/src/domain/usage/histogram.rs`; their count
//! must stay [`LATENCY_BUCKETS`] (a change is a new migration).
//!
//! `minute_start` is unix seconds (a multiple of 60), not a timestamp column: the report
//! groups by `minute_start - minute_start % 3600` (or 86400), integer arithmetic both
//! databases do alike. No foreign key to `api_keys`: keys are never deleted (only revoked),
//! and the flush should not pay for a lookup per row.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Latency buckets, one column each.
pub const LATENCY_BUCKETS: usize = 38;

#[derive(DeriveIden)]
enum ApiUsage {
    Table,
    Id,
    KeyId,
    Livemode,
    Route,
    Method,
    MinuteStart,
    Requests,
}

fn count(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(ApiUsage::Table)
            .col(ColumnDef::new(ApiUsage::Id).uuid().not_null().primary_key())
            .col(ColumnDef::new(ApiUsage::KeyId).uuid().not_null())
            .col(ColumnDef::new(ApiUsage::Livemode).boolean().not_null())
            .col(ColumnDef::new(ApiUsage::Route).string_len(200).not_null())
            .col(ColumnDef::new(ApiUsage::Method).string_len(10).not_null())
            .col(
                ColumnDef::new(ApiUsage::MinuteStart)
                    .big_integer()
                    .not_null(),
            )
            .col(count(ApiUsage::Requests));
        // By status class; spelt out, as DeriveIden would write `status2xx`.
        for class in ["status_2xx", "status_3xx", "status_4xx", "status_5xx"] {
            table.col(count(Alias::new(class)));
        }
        for i in 0..LATENCY_BUCKETS {
            table.col(count(Alias::new(format!("lat_{i:02}"))));
        }
        manager.create_table(table.to_owned()).await?;
        // The upsert's conflict target, and the report's scan: one key's minutes in a range.
        manager
            .create_index(
                Index::create()
                    .name("api_usage_cell")
                    .table(ApiUsage::Table)
                    .col(ApiUsage::KeyId)
                    .col(ApiUsage::MinuteStart)
                    .col(ApiUsage::Route)
                    .col(ApiUsage::Method)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The retention sweep.
        manager
            .create_index(
                Index::create()
                    .name("api_usage_minute")
                    .table(ApiUsage::Table)
                    .col(ApiUsage::MinuteStart)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiUsage::Table).to_owned())
            .await
    }
}
