//! Seller KYC: the account's profile and evaluated requirements, bank accounts (external
//! accounts), uploaded files and the operator's review queue.
//!
//! Sensitive values (national ids, tax ids, bank account numbers, documents) are sealed with
//! AES-256-GCM before they reach these tables; only their last four characters are stored in
//! the clear.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Profile,
    KycState,
    ChargesEnabled,
    PayoutsEnabled,
    RequirementsDeadline,
    DeadlineApplied,
    RejectedReason,
}

#[derive(DeriveIden)]
enum ExternalAccounts {
    Table,
    Id,
    Livemode,
    AccountId,
    Country,
    Currency,
    Kind,
    RoutingNumber,
    AccountNumberSealed,
    Last4,
    Fingerprint,
    AccountHolderName,
    AccountHolderType,
    DefaultForCurrency,
    Status,
    FailureCode,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    Livemode,
    AccountId,
    Purpose,
    MimeType,
    Size,
    Sha256,
    Filename,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Reviews {
    Table,
    Id,
    Livemode,
    AccountId,
    Reason,
    Subject,
    Status,
    Details,
    ClosedReason,
    CreatedAt,
    ClosedAt,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            // business_profile, individual, company, tos_acceptance (sealed where sensitive).
            ColumnDef::new(Accounts::Profile)
                .json_binary()
                .null()
                .to_owned(),
            // The last evaluation: requirements, capabilities, details_submitted.
            ColumnDef::new(Accounts::KycState)
                .json_binary()
                .null()
                .to_owned(),
            ColumnDef::new(Accounts::ChargesEnabled)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Accounts::PayoutsEnabled)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ts(Accounts::RequirementsDeadline).null().to_owned(),
            // Whether the deadline worker has evaluated the account after its deadline.
            ColumnDef::new(Accounts::DeadlineApplied)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Accounts::RejectedReason)
                .string_len(32)
                .null()
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
            .create_index(
                Index::create()
                    .name("ix_accounts_deadline")
                    .table(Accounts::Table)
                    .col(Accounts::DeadlineApplied)
                    .col(Accounts::RequirementsDeadline)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ExternalAccounts::Table)
                    .col(
                        ColumnDef::new(ExternalAccounts::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::Livemode)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::Country)
                            .string_len(2)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    // iban, us_aba, gb_sort_code, local
                    .col(
                        ColumnDef::new(ExternalAccounts::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    // ABA routing number or UK sort code: public bank identifiers.
                    .col(
                        ColumnDef::new(ExternalAccounts::RoutingNumber)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::AccountNumberSealed)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::Last4)
                            .string_len(4)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::Fingerprint)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::AccountHolderName)
                            .string_len(140)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::AccountHolderType)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::DefaultForCurrency)
                            .boolean()
                            .not_null(),
                    )
                    // new, verified, errored
                    .col(
                        ColumnDef::new(ExternalAccounts::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalAccounts::FailureCode)
                            .string_len(40)
                            .null(),
                    )
                    .col(ts(ExternalAccounts::CreatedAt).not_null())
                    .col(ts(ExternalAccounts::UpdatedAt).not_null())
                    // Kept, not deleted: payouts keep pointing at their destination.
                    .col(ts(ExternalAccounts::DeletedAt).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_external_accounts_account")
                    .table(ExternalAccounts::Table)
                    .col(ExternalAccounts::AccountId)
                    .col(ExternalAccounts::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(ColumnDef::new(Files::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Files::Livemode).boolean().not_null())
                    .col(ColumnDef::new(Files::AccountId).uuid().null())
                    .col(ColumnDef::new(Files::Purpose).string_len(32).not_null())
                    .col(ColumnDef::new(Files::MimeType).string_len(64).not_null())
                    .col(ColumnDef::new(Files::Size).big_integer().not_null())
                    .col(ColumnDef::new(Files::Sha256).string_len(64).not_null())
                    .col(ColumnDef::new(Files::Filename).string_len(255).null())
                    .col(ts(Files::CreatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_files_livemode_id")
                    .table(Files::Table)
                    .col(Files::Livemode)
                    .col(Files::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Reviews::Table)
                    .col(ColumnDef::new(Reviews::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Reviews::Livemode).boolean().not_null())
                    .col(ColumnDef::new(Reviews::AccountId).uuid().not_null())
                    // sanctions_hit, document
                    .col(ColumnDef::new(Reviews::Reason).string_len(32).not_null())
                    // The person reviewed: `individual`, `company.owners[1]`, …
                    .col(ColumnDef::new(Reviews::Subject).string_len(64).not_null())
                    // open, approved, rejected
                    .col(ColumnDef::new(Reviews::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Reviews::Details).json_binary().not_null())
                    .col(ColumnDef::new(Reviews::ClosedReason).string_len(500).null())
                    .col(ts(Reviews::CreatedAt).not_null())
                    .col(ts(Reviews::ClosedAt).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reviews_livemode_status_id")
                    .table(Reviews::Table)
                    .col(Reviews::Livemode)
                    .col(Reviews::Status)
                    .col(Reviews::Id)
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
