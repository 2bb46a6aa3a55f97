//! The double-entry ledger: accounts with running balances, journal entries, journal lines.
//! Lines are append-only: no migration or code ever updates or deletes one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LedgerAccounts {
    Table,
    Id,
    Livemode,
    OwnerId,
    Kind,
    Currency,
    PostedDebits,
    PostedCredits,
    PendingDebits,
    PendingCredits,
    CreatedAt,
}

#[derive(DeriveIden)]
enum JournalEntries {
    Table,
    Id,
    Livemode,
    Key,
    Kind,
    SourceId,
    Status,
    PendingId,
    EffectiveAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum JournalLines {
    Table,
    Id,
    EntryId,
    AccountId,
    Currency,
    Side,
    AmountMinor,
    Pending,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LedgerAccounts::Table)
                    .col(
                        ColumnDef::new(LedgerAccounts::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(LedgerAccounts::Livemode)
                            .boolean()
                            .not_null(),
                    )
                    // The platform is the nil UUID: NULLs would not collide in the unique key.
                    .col(ColumnDef::new(LedgerAccounts::OwnerId).uuid().not_null())
                    .col(
                        ColumnDef::new(LedgerAccounts::Kind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LedgerAccounts::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LedgerAccounts::PostedDebits)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(LedgerAccounts::PostedCredits)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(LedgerAccounts::PendingDebits)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(LedgerAccounts::PendingCredits)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(LedgerAccounts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_ledger_accounts_owner_kind_currency")
                    .table(LedgerAccounts::Table)
                    .col(LedgerAccounts::Livemode)
                    .col(LedgerAccounts::OwnerId)
                    .col(LedgerAccounts::Kind)
                    .col(LedgerAccounts::Currency)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(JournalEntries::Table)
                    .col(
                        ColumnDef::new(JournalEntries::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(JournalEntries::Livemode)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JournalEntries::Key)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JournalEntries::Kind)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(JournalEntries::SourceId).uuid().null())
                    // posted | pending | resolution_post | resolution_void
                    .col(
                        ColumnDef::new(JournalEntries::Status)
                            .string_len(24)
                            .not_null(),
                    )
                    .col(ColumnDef::new(JournalEntries::PendingId).uuid().null())
                    .col(
                        ColumnDef::new(JournalEntries::EffectiveAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(JournalEntries::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // An entry key makes posting idempotent.
        manager
            .create_index(
                Index::create()
                    .name("ux_journal_entries_key")
                    .table(JournalEntries::Table)
                    .col(JournalEntries::Livemode)
                    .col(JournalEntries::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A pending entry is resolved (posted or voided) at most once, even under races.
        manager
            .create_index(
                Index::create()
                    .name("ux_journal_entries_pending_id")
                    .table(JournalEntries::Table)
                    .col(JournalEntries::PendingId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_journal_entries_source")
                    .table(JournalEntries::Table)
                    .col(JournalEntries::SourceId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(JournalLines::Table)
                    .col(
                        ColumnDef::new(JournalLines::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(JournalLines::EntryId).uuid().not_null())
                    .col(ColumnDef::new(JournalLines::AccountId).uuid().not_null())
                    .col(
                        ColumnDef::new(JournalLines::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(ColumnDef::new(JournalLines::Side).string_len(6).not_null())
                    .col(
                        ColumnDef::new(JournalLines::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(JournalLines::Pending).boolean().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(JournalLines::Table, JournalLines::EntryId)
                            .to(JournalEntries::Table, JournalEntries::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(JournalLines::Table, JournalLines::AccountId)
                            .to(LedgerAccounts::Table, LedgerAccounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_journal_lines_entry")
                    .table(JournalLines::Table)
                    .col(JournalLines::EntryId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_journal_lines_account")
                    .table(JournalLines::Table)
                    .col(JournalLines::AccountId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "migrations are forward-only; restore a backup to go back".to_owned(),
        ))
    }
}
