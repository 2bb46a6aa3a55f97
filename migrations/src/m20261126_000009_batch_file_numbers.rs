//! The day's sequence number of each bank file, unique per mode, rail and day.
//!
//! NACHA's file id modifier and the Bacs file number tell a bank's duplicate check two files of
//! one day apart. Counting the day's earlier batches is not enough when two payout runs batch at
//! the same moment (several instances): both would count the same and write the same number,
//! and the bank would reject the second file as a duplicate. The unique index makes the second
//! run's insert fail, and it takes the next number.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PayoutBatches {
    Table,
    Livemode,
    Rail,
    FileDay,
    FileSeq,
}

const INDEX: &str = "payout_batches_file_seq_unique";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE. Both nullable: batches written before this
        // migration have none, and NULLs never collide in a unique index (SQLite, PostgreSQL).
        manager
            .alter_table(
                Table::alter()
                    .table(PayoutBatches::Table)
                    .add_column(ColumnDef::new(PayoutBatches::FileDay).date().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PayoutBatches::Table)
                    .add_column(ColumnDef::new(PayoutBatches::FileSeq).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(PayoutBatches::Table)
                    .col(PayoutBatches::Livemode)
                    .col(PayoutBatches::Rail)
                    .col(PayoutBatches::FileDay)
                    .col(PayoutBatches::FileSeq)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(PayoutBatches::Table)
                    .to_owned(),
            )
            .await?;
        for col in [PayoutBatches::FileSeq, PayoutBatches::FileDay] {
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
