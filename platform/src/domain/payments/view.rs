//! The API's view of charges, disputes, refunds and transfers ([`ChargeObject`],
//! [`DisputeObject`], [`RefundObject`], [`TransferObject`]): what the handlers answer and what
//! the `charge.*` and `transfer.*` events carry.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{Charge, Dispute, PaymentError, Refund, RefundShare, Split, Transfer};
use crate::infra::wire::ids::{self, IdKind};

#[derive(Debug, Serialize, ToSchema)]
pub struct SplitObject {
    pub destination: String,
    pub amount: i64,
    pub application_fee_amount: i64,
    /// VAT on the fee, when a fee rule priced it.
    pub application_fee_tax_amount: i64,
    /// The fee rule (`fee_…`) and version that priced it, when no fee was given.
    pub fee_rule: Option<String>,
    pub fee_rule_version: Option<u32>,
}

/// A payment from a customer, split between the platform's fee and one or more sellers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargeObject {
    #[schema(example = "ch_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "charge")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    /// Authorised amount, minor units.
    pub amount: i64,
    pub currency: String,
    /// `succeeded`, `pending` (authorised, not captured) or `failed`.
    pub status: String,
    pub captured: bool,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub refunded: bool,
    /// The platform's fee, without VAT (the sum over the splits; a seller sees its own).
    pub application_fee_amount: i64,
    /// VAT on the platform's fee, owed to the tax authority (the sum over the splits; a seller
    /// sees its own). What the sellers keep is `amount_captured - application_fee_amount -
    /// application_fee_tax_amount`.
    pub application_fee_tax_amount: i64,
    /// The seller of a single-destination charge.
    pub destination: Option<String>,
    /// Each seller's part (one for a single-destination charge).
    pub splits: Vec<SplitObject>,
    pub payment_method: String,
    pub payment_method_reference: Option<String>,
    pub description: Option<String>,
    pub transfer_group: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub disputed: bool,
    /// The seller's share of a single-destination charge: `{"destination", "amount"}` (after the
    /// platform's fee and its VAT); a cart lists its shares in `splits`.
    #[schema(value_type = Option<Object>)]
    pub transfer: Option<Value>,
    /// The seller's balance transaction (`bt_…`) of a captured single-destination charge.
    pub balance_transaction: Option<String>,
    /// When the sellers' shares become available (captured charges).
    pub available_on: Option<String>,
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl ChargeObject {
    /// The charge as a connected account acting for itself sees it: only its own split, and
    /// the platform's fee and VAT on that split; other sellers of a cart stay hidden.
    ///
    /// In a cart (no single destination) the amounts are the seller's part too: `amount` and
    /// `amount_captured` its split (after a partial capture, the captured part), `amount_refunded`
    /// what refunds took of it, `balance_transaction` its own row.
    pub fn for_viewer(
        c: &Charge,
        seller: Option<uuid::Uuid>,
        part: Option<&super::SellerPart>,
    ) -> Self {
        let mut object = Self::from_model(c);
        if let Some(seller) = seller {
            if c.destination_id.is_none() {
                let own: i64 = super::splits_of(c)
                    .iter()
                    .filter(|s| s.destination == seller)
                    .map(|s| s.amount)
                    .sum();
                let part = part.copied().unwrap_or_default();
                object.amount = own;
                object.amount_captured = if c.captured { own } else { 0 };
                object.amount_refunded = part.refunded;
                object.refunded = c.captured && part.refunded == own;
                object.balance_transaction = part
                    .balance_transaction
                    .map(|b| ids::encode(IdKind::BalanceTransaction, b));
            }
            let own = ids::encode(IdKind::Account, seller);
            object.splits.retain(|s| s.destination == own);
            object.application_fee_amount =
                object.splits.iter().map(|s| s.application_fee_amount).sum();
            object.application_fee_tax_amount = object
                .splits
                .iter()
                .map(|s| s.application_fee_tax_amount)
                .sum();
            if object.transfer.is_none() {
                let net: i64 = super::splits_of(c)
                    .iter()
                    .filter(|s| s.destination == seller)
                    .map(Split::net)
                    .sum();
                object.transfer = Some(serde_json::json!({"destination": own, "amount": net}));
            }
        }
        object
    }

    pub fn from_model(c: &Charge) -> Self {
        let splits = super::splits_of(c);
        Self {
            id: ids::encode(IdKind::Charge, c.id),
            object: "charge",
            livemode: c.livemode,
            created: crate::infra::wire::timestamp(c.created_at),
            amount: c.amount,
            currency: c.currency.clone(),
            status: c.status.as_str().to_owned(),
            captured: c.captured,
            amount_captured: c.amount_captured,
            amount_refunded: c.amount_refunded,
            refunded: c.captured && c.amount_refunded == c.amount_captured,
            application_fee_amount: c.application_fee_amount,
            application_fee_tax_amount: splits.iter().map(|s| s.tax_amount).sum(),
            destination: c.destination_id.map(|d| ids::encode(IdKind::Account, d)),
            splits: splits
                .iter()
                .map(|s| SplitObject {
                    destination: ids::encode(IdKind::Account, s.destination),
                    amount: s.amount,
                    application_fee_amount: s.application_fee_amount,
                    application_fee_tax_amount: s.tax_amount,
                    fee_rule: s.fee_rule.map(|(id, _)| ids::encode(IdKind::FeeRule, id)),
                    fee_rule_version: s.fee_rule.map(|(_, v)| v),
                })
                .collect(),
            payment_method: c.payment_method.clone(),
            payment_method_reference: c.payment_method_reference.clone(),
            description: c.description.clone(),
            transfer_group: c.transfer_group.clone(),
            failure_code: c.failure_code.clone(),
            failure_message: c.failure_message.clone(),
            disputed: c.disputed,
            transfer: c.destination_id.and_then(|d| {
                splits.first().map(|s| {
                    serde_json::json!({"destination": ids::encode(IdKind::Account, d), "amount": s.net()})
                })
            }),
            balance_transaction: c.balance_transaction_id.map(|b| ids::encode(IdKind::BalanceTransaction, b)),
            available_on: c.available_on.map(crate::infra::wire::timestamp),
            metadata: serde_json::from_value(c.metadata.clone()).unwrap_or_default(),
        }
    }

    pub fn json(c: &Charge) -> Result<Value, PaymentError> {
        super::to_json(&Self::from_model(c))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeObject {
    #[schema(example = "dp_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "dispute")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    pub amount: i64,
    /// Paid by the seller(s) to the platform when the dispute opened.
    pub fee: i64,
    pub currency: String,
    pub charge: String,
    pub reason: String,
    /// `needs_response`, `won` or `lost`.
    pub status: String,
    pub closed: Option<String>,
}

impl DisputeObject {
    pub fn from_model(d: &Dispute) -> Self {
        Self {
            id: ids::encode(IdKind::Dispute, d.id),
            object: "dispute",
            livemode: d.livemode,
            created: crate::infra::wire::timestamp(d.created_at),
            amount: d.amount,
            fee: d.fee,
            currency: d.currency.clone(),
            charge: ids::encode(IdKind::Charge, d.charge_id),
            reason: d.reason.clone(),
            status: d.status.as_str().to_owned(),
            closed: d.closed_at.map(crate::infra::wire::timestamp),
        }
    }

    pub fn json(d: &Dispute) -> Result<Value, PaymentError> {
        super::to_json(&Self::from_model(d))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundShareObject {
    pub destination: String,
    /// Taken back from the seller.
    pub seller_amount: i64,
    /// Taken back from the platform's balance: its fee share (without VAT), or the whole part
    /// when the platform bears the refund.
    pub platform_amount: i64,
    /// VAT on the platform's fee share, reversed from the platform's `tax_payable`.
    pub tax_amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundObject {
    #[schema(example = "re_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "refund")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub reason: Option<String>,
    /// Always `succeeded`: refunds are recorded at once.
    pub status: &'static str,
    pub reverse_transfer: bool,
    pub refund_application_fee: bool,
    /// Who bore the refund, per seller of the charge.
    pub allocation: Vec<RefundShareObject>,
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl RefundObject {
    pub fn from_model(r: &Refund) -> Self {
        let shares: Vec<RefundShare> =
            serde_json::from_value(r.allocation.clone()).unwrap_or_default();
        Self {
            id: ids::encode(IdKind::Refund, r.id),
            object: "refund",
            livemode: r.livemode,
            created: crate::infra::wire::timestamp(r.created_at),
            amount: r.amount,
            currency: r.currency.clone(),
            charge: ids::encode(IdKind::Charge, r.charge_id),
            reason: r.reason.clone(),
            status: "succeeded",
            reverse_transfer: r.reverse_transfer,
            refund_application_fee: r.refund_application_fee,
            allocation: shares
                .into_iter()
                .map(|s| RefundShareObject {
                    destination: ids::encode(IdKind::Account, s.destination),
                    seller_amount: s.seller_amount,
                    platform_amount: s.platform_amount,
                    tax_amount: s.tax_amount,
                })
                .collect(),
            metadata: serde_json::from_value(r.metadata.clone()).unwrap_or_default(),
        }
    }

    pub fn json(r: &Refund) -> Result<Value, PaymentError> {
        super::to_json(&Self::from_model(r))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferObject {
    #[schema(example = "tr_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "transfer")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    pub amount: i64,
    pub currency: String,
    pub destination: String,
    pub source_transaction: Option<String>,
    pub transfer_group: Option<String>,
    pub amount_reversed: i64,
    pub reversed: bool,
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl TransferObject {
    pub fn from_model(t: &Transfer) -> Self {
        Self {
            id: ids::encode(IdKind::Transfer, t.id),
            object: "transfer",
            livemode: t.livemode,
            created: crate::infra::wire::timestamp(t.created_at),
            amount: t.amount,
            currency: t.currency.clone(),
            destination: ids::encode(IdKind::Account, t.destination_id),
            source_transaction: t.source_transaction.map(|c| ids::encode(IdKind::Charge, c)),
            transfer_group: t.transfer_group.clone(),
            amount_reversed: t.amount_reversed,
            reversed: t.amount_reversed == t.amount,
            metadata: serde_json::from_value(t.metadata.clone()).unwrap_or_default(),
        }
    }

    pub fn json(t: &Transfer) -> Result<Value, PaymentError> {
        super::to_json(&Self::from_model(t))
    }
}
