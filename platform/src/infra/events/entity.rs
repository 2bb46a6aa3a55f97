use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub livemode: bool,
    /// The connected account the event concerns, if any: it sees the event with Agora-Account.
    pub account_id: Option<Uuid>,
    #[sea_orm(column_name = "type")]
    pub kind: String,
    /// `{"object": <the API object after the change>, "previous_attributes": {…}}`
    pub data: Json,
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
