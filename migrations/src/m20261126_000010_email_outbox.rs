//! The email outbox: every email (seller invitations, payout notices, operator alerts) is a row
//! written in the transaction of the change that causes it and sent by the email worker, so a
//! crash loses none and a rolled-back change sends none. The message is sealed (AES-256-GCM):
//! it carries personal data, and an invitation carries a link that opens a seller's onboarding.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Emails {
    Table,
    Id,
    Kind,
    Status,
    Attempts,
    NextAttemptAt,
    MessageSealed,
    LastError,
    CreatedAt,
    SentAt,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Emails::Table)
                    .col(ColumnDef::new(Emails::Id).uuid().not_null().primary_key())
                    // onboarding_invitation, payout_paid, payout_failed, endpoint_disabled
                    .col(ColumnDef::new(Emails::Kind).string_len(32).not_null())
                    // pending, sent, failed
                    .col(ColumnDef::new(Emails::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Emails::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ts(Emails::NextAttemptAt).not_null())
                    // Dropped once the email is sent or given up: nothing to keep secret then.
                    .col(ColumnDef::new(Emails::MessageSealed).text().null())
                    .col(ColumnDef::new(Emails::LastError).string_len(512).null())
                    .col(ts(Emails::CreatedAt).not_null())
                    .col(ts(Emails::SentAt).null())
                    .to_owned(),
            )
            .await?;
        // The worker's query: pending rows whose next attempt is due.
        manager
            .create_index(
                Index::create()
                    .name("emails_due")
                    .table(Emails::Table)
                    .col(Emails::Status)
                    .col(Emails::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Emails::Table).to_owned())
            .await
    }
}
