//! Account links (single-use, short-lived tokens that open the hosted onboarding pages) and
//! the page sessions they start. Both keep only the SHA-256 of their token: a copy of the
//! database cannot open a link or ride a session.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccountLinks {
    Table,
    Id,
    Livemode,
    AccountId,
    TokenHash,
    Kind,
    Collect,
    RefreshUrl,
    ReturnUrl,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum OnboardingSessions {
    Table,
    Id,
    TokenHash,
    LinkId,
    Livemode,
    AccountId,
    Kind,
    Collect,
    RefreshUrl,
    ReturnUrl,
    Locale,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
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
                    .table(AccountLinks::Table)
                    .col(
                        ColumnDef::new(AccountLinks::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AccountLinks::Livemode).boolean().not_null())
                    .col(ColumnDef::new(AccountLinks::AccountId).uuid().not_null())
                    // Hex SHA-256 of the token in the URL.
                    .col(
                        ColumnDef::new(AccountLinks::TokenHash)
                            .string_len(64)
                            .not_null(),
                    )
                    // account_onboarding | account_update
                    .col(ColumnDef::new(AccountLinks::Kind).string_len(32).not_null())
                    // currently_due | eventually_due
                    .col(
                        ColumnDef::new(AccountLinks::Collect)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountLinks::RefreshUrl)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountLinks::ReturnUrl)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(ts(AccountLinks::CreatedAt).not_null())
                    .col(ts(AccountLinks::ExpiresAt).not_null())
                    .col(ts(AccountLinks::UsedAt).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_account_links_token")
                    .table(AccountLinks::Table)
                    .col(AccountLinks::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OnboardingSessions::Table)
                    .col(
                        ColumnDef::new(OnboardingSessions::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OnboardingSessions::TokenHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OnboardingSessions::LinkId).uuid().not_null())
                    .col(
                        ColumnDef::new(OnboardingSessions::Livemode)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OnboardingSessions::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OnboardingSessions::Kind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OnboardingSessions::Collect)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OnboardingSessions::RefreshUrl)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OnboardingSessions::ReturnUrl)
                            .string_len(2048)
                            .not_null(),
                    )
                    // en | sv once the seller chose; null: from Accept-Language.
                    .col(
                        ColumnDef::new(OnboardingSessions::Locale)
                            .string_len(8)
                            .null(),
                    )
                    // The synchronizer token every form carries; not a credential on its own.
                    .col(
                        ColumnDef::new(OnboardingSessions::CsrfToken)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ts(OnboardingSessions::CreatedAt).not_null())
                    .col(ts(OnboardingSessions::ExpiresAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_onboarding_sessions_token")
                    .table(OnboardingSessions::Table)
                    .col(OnboardingSessions::TokenHash)
                    .unique()
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
