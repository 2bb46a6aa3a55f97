//! Global payouts: payouts, the batches (bank files) that carry them, per-account payout
//! schedules and the operator's pause flag, and FX reference rates.
//!
//! Rates and markups are TEXT (decimal strings): sea-orm maps `Decimal` to REAL on SQLite,
//! which loses money. Dates are TEXT `YYYY-MM-DD` (a bank date has no time or zone).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    PayoutInterval,
    PayoutWeeklyAnchor,
    PayoutMonthlyAnchor,
    PayoutDelayDays,
    PayoutsPaused,
}

#[derive(DeriveIden)]
enum Payouts {
    Table,
    Id,
    Livemode,
    AccountId,
    ExternalAccountId,
    Amount,
    Fee,
    Currency,
    Method,
    Status,
    Rail,
    ArrivalDate,
    PeriodKey,
    SourceAmount,
    SourceCurrency,
    FxRate,
    FxMarkup,
    FailureCode,
    BatchId,
    EntryId,
    ResolutionEntryId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PayoutBatches {
    Table,
    Id,
    Livemode,
    Rail,
    Currency,
    Status,
    FileName,
    EntryCount,
    Total,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum FxRates {
    Table,
    Base,
    Quote,
    Rate,
    AsOf,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            // manual, daily, weekly, monthly. Manual by default: nobody is paid out
            // automatically until the platform chooses a schedule.
            ColumnDef::new(Accounts::PayoutInterval)
                .string_len(16)
                .not_null()
                .default("manual")
                .to_owned(),
            // monday .. friday
            ColumnDef::new(Accounts::PayoutWeeklyAnchor)
                .string_len(16)
                .null()
                .to_owned(),
            // 1 .. 31
            ColumnDef::new(Accounts::PayoutMonthlyAnchor)
                .integer()
                .null()
                .to_owned(),
            ColumnDef::new(Accounts::PayoutDelayDays)
                .integer()
                .null()
                .to_owned(),
            // The operator's stop: no payouts, manual or scheduled, while set.
            ColumnDef::new(Accounts::PayoutsPaused)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Payouts::Table)
                    .col(ColumnDef::new(Payouts::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Payouts::Livemode).boolean().not_null())
                    .col(ColumnDef::new(Payouts::AccountId).uuid().not_null())
                    .col(ColumnDef::new(Payouts::ExternalAccountId).uuid().not_null())
                    // What reaches the bank account, minor units of `currency`.
                    .col(ColumnDef::new(Payouts::Amount).big_integer().not_null())
                    // Instant payout fee taken from the seller's balance on top of `amount`.
                    .col(
                        ColumnDef::new(Payouts::Fee)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Payouts::Currency).string_len(3).not_null())
                    // standard, instant
                    .col(ColumnDef::new(Payouts::Method).string_len(16).not_null())
                    // pending, in_transit, paid, failed, canceled
                    .col(ColumnDef::new(Payouts::Status).string_len(16).not_null())
                    // sepa, ach, uk_faster_payments, uk_bacs, other
                    .col(ColumnDef::new(Payouts::Rail).string_len(32).not_null())
                    .col(
                        ColumnDef::new(Payouts::ArrivalDate)
                            .string_len(10)
                            .not_null(),
                    )
                    // The schedule's period (2026-11-25, 2026-W48, 2026-11); NULL for manual.
                    .col(ColumnDef::new(Payouts::PeriodKey).string_len(16).null())
                    .col(ColumnDef::new(Payouts::SourceAmount).big_integer().null())
                    .col(ColumnDef::new(Payouts::SourceCurrency).string_len(3).null())
                    .col(ColumnDef::new(Payouts::FxRate).string_len(40).null())
                    .col(ColumnDef::new(Payouts::FxMarkup).string_len(40).null())
                    .col(ColumnDef::new(Payouts::FailureCode).string_len(40).null())
                    .col(ColumnDef::new(Payouts::BatchId).uuid().null())
                    // The ledger entry that took the money from the seller's balance.
                    .col(ColumnDef::new(Payouts::EntryId).uuid().null())
                    // The entry that paid, failed or canceled it.
                    .col(ColumnDef::new(Payouts::ResolutionEntryId).uuid().null())
                    .col(ts(Payouts::CreatedAt).not_null())
                    .col(ts(Payouts::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        // One scheduled payout per account, currency and period, however many runs race.
        // Manual payouts have a NULL period and never collide (NULLs are distinct).
        manager
            .create_index(
                Index::create()
                    .name("ux_payouts_period")
                    .table(Payouts::Table)
                    .col(Payouts::Livemode)
                    .col(Payouts::AccountId)
                    .col(Payouts::Currency)
                    .col(Payouts::PeriodKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payouts_status")
                    .table(Payouts::Table)
                    .col(Payouts::Livemode)
                    .col(Payouts::Status)
                    .col(Payouts::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payouts_batch")
                    .table(Payouts::Table)
                    .col(Payouts::BatchId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PayoutBatches::Table)
                    .col(
                        ColumnDef::new(PayoutBatches::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PayoutBatches::Livemode).boolean().not_null())
                    .col(
                        ColumnDef::new(PayoutBatches::Rail)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PayoutBatches::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    // created, sent
                    .col(
                        ColumnDef::new(PayoutBatches::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PayoutBatches::FileName)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PayoutBatches::EntryCount)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PayoutBatches::Total)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ts(PayoutBatches::CreatedAt).not_null())
                    .col(ts(PayoutBatches::SentAt).null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FxRates::Table)
                    .col(ColumnDef::new(FxRates::Base).string_len(3).not_null())
                    .col(ColumnDef::new(FxRates::Quote).string_len(3).not_null())
                    // A decimal string: quote units per one base unit.
                    .col(ColumnDef::new(FxRates::Rate).string_len(40).not_null())
                    .col(ColumnDef::new(FxRates::AsOf).string_len(10).not_null())
                    .primary_key(
                        Index::create()
                            .col(FxRates::Base)
                            .col(FxRates::Quote)
                            .col(FxRates::AsOf),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Forward-only (see lib.rs).
        Err(DbErr::Migration("migrations are forward-only".to_owned()))
    }
}
