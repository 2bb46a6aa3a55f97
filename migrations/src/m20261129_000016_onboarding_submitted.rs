//! A hosted-onboarding session remembers that its seller submitted: any page of it then says
//! the details have been sent (Back after submitting must not look like a failure), instead
//! of the session vanishing. Nullable: sessions from before are open ones.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OnboardingSessions {
    Table,
    SubmittedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OnboardingSessions::Table)
                    .add_column(
                        ColumnDef::new(OnboardingSessions::SubmittedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Forward-only (see lib.rs).
        Err(DbErr::Migration("migrations are forward-only".to_owned()))
    }
}
