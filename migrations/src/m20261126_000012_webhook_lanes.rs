//! An index for the webhook worker's per-endpoint claim: each endpoint's due deliveries,
//! oldest first, without reading past other endpoints' backlogs (an endpoint that is down can
//! hold thousands of pending rows; the one beside it must not pay for them).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    EndpointId,
    Status,
    NextAttemptAt,
}

const NAME: &str = "ix_webhook_deliveries_endpoint_due";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(WebhookDeliveries::Table)
                    .to_owned(),
            )
            .await
    }
}
