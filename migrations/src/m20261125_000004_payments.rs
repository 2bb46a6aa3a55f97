//! Payments: charges, refunds, transfers, and the test-mode clock.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Charges {
    Table,
    Id,
    Livemode,
    Amount,
    Currency,
    Status,
    Captured,
    AmountCaptured,
    AmountRefunded,
    ApplicationFeeAmount,
    DestinationId,
    Splits,
    PaymentMethod,
    PaymentMethodReference,
    Description,
    TransferGroup,
    Metadata,
    FailureCode,
    FailureMessage,
    AuthorizationEntryId,
    BalanceTransactionId,
    AvailableOn,
    Settled,
    Disputed,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Disputes {
    Table,
    Id,
    Livemode,
    ChargeId,
    Amount,
    Fee,
    Currency,
    Reason,
    Status,
    Allocation,
    CreatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    Livemode,
    ChargeId,
    Amount,
    Currency,
    Reason,
    ReverseTransfer,
    RefundApplicationFee,
    Allocation,
    Metadata,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Transfers {
    Table,
    Id,
    Livemode,
    Amount,
    Currency,
    DestinationId,
    SourceTransaction,
    TransferGroup,
    AmountReversed,
    Metadata,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BalanceTransactions {
    Table,
    Id,
    Livemode,
    OwnerId,
    Type,
    Amount,
    Fee,
    Net,
    Currency,
    AvailableOn,
    SourceKind,
    SourceId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    SettlementDelayDays,
}

#[derive(DeriveIden)]
enum ClockOffsets {
    Table,
    Livemode,
    OffsetSeconds,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Charges::Table)
                    .col(ColumnDef::new(Charges::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Charges::Livemode).boolean().not_null())
                    .col(ColumnDef::new(Charges::Amount).big_integer().not_null())
                    .col(ColumnDef::new(Charges::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Charges::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Charges::Captured).boolean().not_null())
                    .col(
                        ColumnDef::new(Charges::AmountCaptured)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Charges::AmountRefunded)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Charges::ApplicationFeeAmount)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Charges::DestinationId).uuid().null())
                    .col(ColumnDef::new(Charges::Splits).json_binary().not_null())
                    .col(
                        ColumnDef::new(Charges::PaymentMethod)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Charges::PaymentMethodReference)
                            .string_len(255)
                            .null(),
                    )
                    .col(ColumnDef::new(Charges::Description).string_len(1000).null())
                    .col(
                        ColumnDef::new(Charges::TransferGroup)
                            .string_len(255)
                            .null(),
                    )
                    .col(ColumnDef::new(Charges::Metadata).json_binary().not_null())
                    .col(ColumnDef::new(Charges::FailureCode).string_len(64).null())
                    .col(
                        ColumnDef::new(Charges::FailureMessage)
                            .string_len(255)
                            .null(),
                    )
                    .col(ColumnDef::new(Charges::AuthorizationEntryId).uuid().null())
                    .col(ColumnDef::new(Charges::BalanceTransactionId).uuid().null())
                    .col(
                        ColumnDef::new(Charges::AvailableOn)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Charges::Settled).boolean().not_null())
                    .col(
                        ColumnDef::new(Charges::Disputed)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Charges::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_charges_livemode_id",
                vec![Charges::Livemode, Charges::Id],
            ),
            (
                "ix_charges_destination",
                vec![Charges::Livemode, Charges::DestinationId, Charges::Id],
            ),
            (
                "ix_charges_settlement",
                vec![Charges::Livemode, Charges::Settled, Charges::AvailableOn],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Charges::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Refunds::Table)
                    .col(ColumnDef::new(Refunds::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Refunds::Livemode).boolean().not_null())
                    .col(ColumnDef::new(Refunds::ChargeId).uuid().not_null())
                    .col(ColumnDef::new(Refunds::Amount).big_integer().not_null())
                    .col(ColumnDef::new(Refunds::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Refunds::Reason).string_len(32).null())
                    .col(
                        ColumnDef::new(Refunds::ReverseTransfer)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Refunds::RefundApplicationFee)
                            .boolean()
                            .not_null(),
                    )
                    // How the refund was split over the charge's sellers and the platform.
                    .col(ColumnDef::new(Refunds::Allocation).json_binary().not_null())
                    .col(ColumnDef::new(Refunds::Metadata).json_binary().not_null())
                    .col(
                        ColumnDef::new(Refunds::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Refunds::Table, Refunds::ChargeId)
                            .to(Charges::Table, Charges::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refunds_charge")
                    .table(Refunds::Table)
                    .col(Refunds::ChargeId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Transfers::Table)
                    .col(
                        ColumnDef::new(Transfers::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Transfers::Livemode).boolean().not_null())
                    .col(ColumnDef::new(Transfers::Amount).big_integer().not_null())
                    .col(ColumnDef::new(Transfers::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Transfers::DestinationId).uuid().not_null())
                    .col(ColumnDef::new(Transfers::SourceTransaction).uuid().null())
                    .col(
                        ColumnDef::new(Transfers::TransferGroup)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Transfers::AmountReversed)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Transfers::Metadata).json_binary().not_null())
                    .col(
                        ColumnDef::new(Transfers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Disputes::Table)
                    .col(ColumnDef::new(Disputes::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Disputes::Livemode).boolean().not_null())
                    .col(ColumnDef::new(Disputes::ChargeId).uuid().not_null())
                    .col(ColumnDef::new(Disputes::Amount).big_integer().not_null())
                    .col(ColumnDef::new(Disputes::Fee).big_integer().not_null())
                    .col(ColumnDef::new(Disputes::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Disputes::Reason).string_len(32).not_null())
                    .col(ColumnDef::new(Disputes::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Disputes::Allocation)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Disputes::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Disputes::ClosedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Disputes::Table, Disputes::ChargeId)
                            .to(Charges::Table, Charges::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One dispute per charge.
        manager
            .create_index(
                Index::create()
                    .name("ux_disputes_charge")
                    .table(Disputes::Table)
                    .col(Disputes::ChargeId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // One row per movement of an owner's balance, as the owner sees it (Stripe's balance
        // transactions): written beside the ledger entry, in the same transaction.
        manager
            .create_table(
                Table::create()
                    .table(BalanceTransactions::Table)
                    .col(
                        ColumnDef::new(BalanceTransactions::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::Livemode)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::OwnerId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::Type)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::Amount)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::Fee)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::Net)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::AvailableOn)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::SourceKind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::SourceId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BalanceTransactions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_balance_transactions_owner")
                    .table(BalanceTransactions::Table)
                    .col(BalanceTransactions::Livemode)
                    .col(BalanceTransactions::OwnerId)
                    .col(BalanceTransactions::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ClockOffsets::Table)
                    .col(
                        ColumnDef::new(ClockOffsets::Livemode)
                            .boolean()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ClockOffsets::OffsetSeconds)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Per-seller settlement delay; null means the platform's default.
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(
                        ColumnDef::new(Accounts::SettlementDelayDays)
                            .integer()
                            .null(),
                    )
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
