//! Bank files kept whole and not for ever: each batch records the SHA-256 of its file as
//! written (the file is served only if it still matches) and when the file was deleted after
//! the retention (`bank_file_retention_days` after the batch was marked sent).
//!
//! Both nullable: batches written before this migration have a plain file and no checksum;
//! they are served as they are until `agora keys rotate-encryption` seals them and records
//! their checksums.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PayoutBatches {
    Table,
    FileSha256,
    FileDeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(PayoutBatches::Table)
                    .add_column(
                        ColumnDef::new(PayoutBatches::FileSha256)
                            .string_len(64)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PayoutBatches::Table)
                    .add_column(
                        ColumnDef::new(PayoutBatches::FileDeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [PayoutBatches::FileDeletedAt, PayoutBatches::FileSha256] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PayoutBatches::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
