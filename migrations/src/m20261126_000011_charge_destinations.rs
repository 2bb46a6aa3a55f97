//! Every seller of a charge, and the VAT part of a balance transaction's fee.
//!
//! `charges.destination_id` names only the seller of a single-destination charge; the sellers
//! of a cart live inside the `splits` JSON, where no index reaches them. `charge_destinations`
//! holds one row per (charge, seller), so `GET /v1/charges?destination=` and a seller's own
//! list find the carts it has a split in. Existing charges are filled in from their splits.
//!
//! `balance_transactions.fee_tax` is the part of `fee` that is VAT on the platform's fee, so
//! that a balance transaction can say what its fee is made of (`fee_details`). Rows from before
//! have 0: their fee was not broken down.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChargeDestinations {
    Table,
    ChargeId,
    AccountId,
    Livemode,
}

#[derive(DeriveIden)]
enum Charges {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum BalanceTransactions {
    Table,
    FeeTax,
}

const INDEX: &str = "charge_destinations_account";
/// Charges read per statement while filling in the table: bounded memory on a large history.
const BACKFILL_PAGE: u64 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChargeDestinations::Table)
                    .col(
                        ColumnDef::new(ChargeDestinations::ChargeId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ChargeDestinations::AccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ChargeDestinations::Livemode)
                            .boolean()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ChargeDestinations::ChargeId)
                            .col(ChargeDestinations::AccountId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChargeDestinations::Table, ChargeDestinations::ChargeId)
                            .to(Charges::Table, Charges::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A seller's charges, newest first (charge ids are UUIDv7: id order is time order).
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(ChargeDestinations::Table)
                    .col(ChargeDestinations::Livemode)
                    .col(ChargeDestinations::AccountId)
                    .col(ChargeDestinations::ChargeId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(BalanceTransactions::Table)
                    .add_column(
                        ColumnDef::new(BalanceTransactions::FeeTax)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        backfill(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(BalanceTransactions::Table)
                    .drop_column(BalanceTransactions::FeeTax)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ChargeDestinations::Table).to_owned())
            .await
    }
}

/// One row per (charge, seller) of every charge written before this migration, read page by
/// page in id order.
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = Query::select();
        select
            .columns([
                Alias::new("id"),
                Alias::new("livemode"),
                Alias::new("splits"),
            ])
            .from(Charges::Table)
            .order_by(Alias::new("id"), Order::Asc)
            .limit(BACKFILL_PAGE);
        if let Some(last) = after {
            select.and_where(Expr::col(Alias::new("id")).gt(last));
        }
        let rows = db.query_all(backend.build(&select)).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = Query::insert();
        insert
            .into_table(ChargeDestinations::Table)
            .columns([
                ChargeDestinations::ChargeId,
                ChargeDestinations::AccountId,
                ChargeDestinations::Livemode,
            ])
            .on_conflict(
                OnConflict::columns([ChargeDestinations::ChargeId, ChargeDestinations::AccountId])
                    .do_nothing()
                    .to_owned(),
            );
        let mut any = false;
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let livemode: bool = row.try_get("", "livemode")?;
            let splits: Value = row.try_get("", "splits")?;
            after = Some(id);
            let mut seen = Vec::new();
            for split in splits.as_array().into_iter().flatten() {
                let Some(destination) = split
                    .get("destination")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
                else {
                    continue;
                };
                if seen.contains(&destination) {
                    continue;
                }
                seen.push(destination);
                insert
                    .values([id.into(), destination.into(), livemode.into()])
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
                any = true;
            }
        }
        if any {
            let statement: Statement = backend.build(&insert);
            db.execute(statement).await?;
        }
    }
}
