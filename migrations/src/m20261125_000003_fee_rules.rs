//! Fee rules (one row per version) and seller tags on accounts, which rules can match on.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FeeRules {
    Table,
    Id,
    RuleId,
    Version,
    Livemode,
    Priority,
    Conditions,
    Pricing,
    IsDefault,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Tags,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FeeRules::Table)
                    // The row (version) id; the public `fee_` id is `rule_id`.
                    .col(ColumnDef::new(FeeRules::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(FeeRules::RuleId).uuid().not_null())
                    .col(ColumnDef::new(FeeRules::Version).integer().not_null())
                    .col(ColumnDef::new(FeeRules::Livemode).boolean().not_null())
                    .col(ColumnDef::new(FeeRules::Priority).integer().not_null())
                    // JSON with decimals as strings: sea-orm maps a Decimal column to REAL on
                    // SQLite, which would lose digits of a rate.
                    .col(
                        ColumnDef::new(FeeRules::Conditions)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(FeeRules::Pricing).json_binary().not_null())
                    .col(ColumnDef::new(FeeRules::IsDefault).boolean().not_null())
                    .col(ColumnDef::new(FeeRules::Active).boolean().not_null())
                    .col(
                        ColumnDef::new(FeeRules::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Versions are numbered without gaps or twins: a second writer of the same version
        // fails here, and the per-mode default rule is created at most once (ON CONFLICT).
        manager
            .create_index(
                Index::create()
                    .name("ux_fee_rules_rule_id_version")
                    .table(FeeRules::Table)
                    .col(FeeRules::RuleId)
                    .col(FeeRules::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_fee_rules_livemode_rule_id")
                    .table(FeeRules::Table)
                    .col(FeeRules::Livemode)
                    .col(FeeRules::RuleId)
                    .to_owned(),
            )
            .await?;

        // Seller tags: a JSON array of strings, `[]` for the accounts that exist already.
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(
                        ColumnDef::new(Accounts::Tags)
                            .json_binary()
                            .not_null()
                            .default("[]"),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Forward-only: a money system never drops its history. Restore from a backup instead.
        Err(DbErr::Migration(
            "migrations are forward-only; restore a backup to go back".to_owned(),
        ))
    }
}
