//! The scoped queries behind the payments lists: one typed filter per resource, turned into a
//! query of one mode here, so the API handlers only parse parameters into the filter.

use agora_ledger::Owner;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, QueryFilter, Select};
use uuid::Uuid;

use crate::infra::wire::typed::{AccountId, ChargeId};

use super::entity::{balance_transaction, charge, dispute, refund, transfer};
use super::{charges_of_seller, scoped_balance_transactions, scoped_charges, scoped_disputes};
use super::{scoped_refunds, scoped_transfers};

/// `GET /v1/charges`: the acting seller's view, then the query's filters.
#[derive(Debug, Default)]
pub struct ChargeFilter {
    /// The connected account acting through `Agora-Account`: only charges it has a split in.
    pub viewer: Option<AccountId>,
    /// Single-destination charges to this seller and every cart it has a split in.
    pub destination: Option<AccountId>,
    pub transfer_group: Option<String>,
    pub created_gte: Option<DateTime<Utc>>,
    pub created_lte: Option<DateTime<Utc>>,
}

pub fn charges(livemode: bool, f: &ChargeFilter) -> Select<charge::Entity> {
    let mut select = scoped_charges(livemode);
    for seller in [f.viewer, f.destination].into_iter().flatten() {
        select = charges_of_seller(select, livemode, seller);
    }
    if let Some(g) = &f.transfer_group {
        select = select.filter(charge::Column::TransferGroup.eq(g.clone()));
    }
    if let Some(t) = f.created_gte {
        select = select.filter(charge::Column::CreatedAt.gte(t));
    }
    if let Some(t) = f.created_lte {
        select = select.filter(charge::Column::CreatedAt.lte(t));
    }
    select
}

/// `GET /v1/refunds`: optionally one charge's.
pub fn refunds(livemode: bool, charge: Option<ChargeId>) -> Select<refund::Entity> {
    let select = scoped_refunds(livemode);
    match charge {
        Some(id) => select.filter(refund::Column::ChargeId.eq(id)),
        None => select,
    }
}

/// `GET /v1/disputes`: optionally one charge's.
pub fn disputes(livemode: bool, charge: Option<ChargeId>) -> Select<dispute::Entity> {
    let select = scoped_disputes(livemode);
    match charge {
        Some(id) => select.filter(dispute::Column::ChargeId.eq(id)),
        None => select,
    }
}

/// `GET /v1/transfers`.
#[derive(Debug, Default)]
pub struct TransferFilter {
    /// The connected account acting through `Agora-Account`: only transfers to it.
    pub viewer: Option<AccountId>,
    pub destination: Option<AccountId>,
    pub transfer_group: Option<String>,
}

pub fn transfers(livemode: bool, f: &TransferFilter) -> Select<transfer::Entity> {
    let mut select = scoped_transfers(livemode);
    for seller in [f.viewer, f.destination].into_iter().flatten() {
        select = select.filter(transfer::Column::DestinationId.eq(seller));
    }
    if let Some(g) = &f.transfer_group {
        select = select.filter(transfer::Column::TransferGroup.eq(g.clone()));
    }
    select
}

/// The one transfer with this id a viewer may see: the platform any, a seller those to it.
pub fn transfer_for(livemode: bool, viewer: Option<AccountId>) -> Select<transfer::Entity> {
    transfers(
        livemode,
        &TransferFilter {
            viewer,
            ..Default::default()
        },
    )
}

/// The rows one payout accounts for: its seller's, under `payouts::reconciliation_condition`.
#[derive(Debug)]
pub struct PayoutRows {
    pub seller: Uuid,
    pub condition: Condition,
}

/// `GET /v1/balance_transactions`.
#[derive(Debug)]
pub struct BalanceTransactionFilter {
    /// The platform, or the seller acting through `Agora-Account`.
    pub owner: Owner,
    pub kind: Option<String>,
    pub source: Option<Uuid>,
    /// When set, replaces the owner: the payout's seller's rows it accounts for. Every other
    /// filter still applies (a row must match each one given; none is ever dropped).
    pub payout: Option<PayoutRows>,
    pub available_on_gte: Option<DateTime<Utc>>,
    pub available_on_lte: Option<DateTime<Utc>>,
}

pub fn balance_transactions(
    livemode: bool,
    f: BalanceTransactionFilter,
) -> Select<balance_transaction::Entity> {
    use balance_transaction::Column;
    let mut select = match f.payout {
        Some(p) => {
            scoped_balance_transactions(livemode, Owner::Seller(p.seller)).filter(p.condition)
        }
        None => scoped_balance_transactions(livemode, f.owner),
    };
    if let Some(id) = f.source {
        select = select.filter(Column::SourceId.eq(id));
    }
    if let Some(kind) = f.kind {
        select = select.filter(Column::Kind.eq(kind));
    }
    if let Some(t) = f.available_on_gte {
        select = select.filter(Column::AvailableOn.gte(t));
    }
    if let Some(t) = f.available_on_lte {
        select = select.filter(Column::AvailableOn.lte(t));
    }
    select
}
