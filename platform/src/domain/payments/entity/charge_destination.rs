use sea_orm::entity::prelude::*;

/// One seller of a charge: every split's destination, so a seller finds the carts it is in
/// (`charges.destination_id` names only the seller of a single-destination charge).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "charge_destinations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub charge_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    pub livemode: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
