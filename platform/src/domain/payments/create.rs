//! Creating charges in two halves, so many can be written together (group commit, DESIGN.md
//! Scale): [`plan_charge`] does every read and every decision (the sellers and their KYC
//! gate, the price, the processor's answer, the ledger entry's checks) and builds every row;
//! [`write_charges`] writes the rows of any number of planned charges with a fixed number of
//! statements, the ledger's hot balance rows last. A charge that can be refused is refused in
//! its plan, so a batch of plans never fails because of one of them.
//!
//! [`create_charge_planned`] writes one plan in the caller's transaction (a savepoint of the
//! writer's), opening its dispute when the simulator's card asks for it.

use agora_ledger::batch::{Batch, SharedAccountIds};
use agora_ledger::NewEntry;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::entity::{balance_transaction, charge, charge_destination};
use super::processor::Decline;
use super::{
    bt_models, capture_bts, capture_lines, check_splits, load_sellers, price_splits, slowest_delay,
    view, Charge, ChargeSettings, ChargeStatus, Created, NewCharge, PaymentError, PaymentMethod,
    Split, CAPTURE_KIND,
};
use crate::infra::events::{EventType, NewEvent, Origin};
use crate::infra::wire::typed::ChargeId;

/// A charge decided and priced, its rows built, nothing written yet.
#[derive(Clone)]
pub struct PlannedCharge {
    livemode: bool,
    now: DateTime<Utc>,
    /// The capture (or, uncaptured, the authorisation) entry with its id; none for a decline.
    entry: Option<(Uuid, NewEntry)>,
    charge: Charge,
    destinations: Vec<Uuid>,
    bts: Vec<balance_transaction::ActiveModel>,
    event: NewEvent,
    origin: Origin,
    /// The simulator's dispute-at-once card: the dispute is opened after the charge is
    /// written, in the same transaction (see [`PlannedCharge::needs_own_savepoint`]).
    disputed_at_once: Option<&'static str>,
    decline: Option<Decline>,
}

impl PlannedCharge {
    /// What the charge will be once written (the response shows it).
    pub fn created(&self) -> Created {
        Created {
            charge: self.charge.clone(),
            decline: self.decline.clone(),
        }
    }

    /// The charge row as it will be written (for the metrics counted once it commits).
    pub fn row(&self) -> &Charge {
        &self.charge
    }

    /// A plan whose writing does more than its rows (opening a dispute at once) is written on
    /// its own, with [`create_charge_planned`], not in a batch of rows.
    pub fn needs_own_savepoint(&self) -> bool {
        self.disputed_at_once.is_some()
    }
}

/// Everything of a new charge but the writing: reads (sellers, fee rules, volumes) on `db`,
/// the processor's answer, the rows. `now` is the mode's clock. Every refusal of the charge
/// happens here, so the plan can join any batch.
pub async fn plan_charge(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
    settings: &ChargeSettings<'_>,
    new: NewCharge,
    origin: &Origin,
) -> Result<PlannedCharge, PaymentError> {
    // What can be checked before any read: amounts, fees given, the cart's shape.
    let asked: Vec<Split> = new
        .splits
        .iter()
        .map(|s| Split {
            destination: s.destination.uuid(),
            amount: s.amount,
            application_fee_amount: s.application_fee_amount.unwrap_or(0),
            tax_amount: 0,
            fee_rule: None,
        })
        .collect();
    check_splits(new.amount.amount_minor, &asked, new.single)?;
    let sellers = load_sellers(db, livemode, &new.splits, new.single, settings.sellers).await?;
    if matches!(new.method, PaymentMethod::TestToken(_)) && livemode {
        return Err(PaymentError::invalid(
            super::Field::PaymentMethod,
            "test_token_in_live_mode",
            "test payment methods work only with a test key",
        ));
    }
    let splits = price_splits(db, livemode, now, settings, &new, &sellers).await?;
    check_splits(new.amount.amount_minor, &splits, new.single)?;
    // A cart settles when its slowest seller would: one available_on per charge.
    let delay = slowest_delay(&sellers, settings.settlement_delay);
    let authorized = settings
        .processor
        .authorize(livemode, new.amount.amount_minor, &new.method);
    let (decline, disputed_at_once) = match authorized {
        Ok(a) => (None, a.disputed_at_once),
        Err(d) => (Some(d), None),
    };
    let id = Uuid::now_v7();
    let bt_id = Uuid::now_v7();
    let fees: i64 = splits.iter().map(|s| s.application_fee_amount).sum();
    let status = match (&decline, new.capture) {
        (Some(_), _) => ChargeStatus::Failed,
        (None, true) => ChargeStatus::Succeeded,
        (None, false) => ChargeStatus::Pending,
    };
    let captured = decline.is_none() && new.capture;
    // In the request's span, like every line of the request: it names the charge the request
    // made (ids only, never card or seller details).
    tracing::debug!(
        charge = %ChargeId::from_uuid(id),
        livemode,
        status = status.as_str(),
        splits = splits.len(),
        "charge planned"
    );
    let entry = match decline {
        Some(_) => None,
        None => {
            let entry = NewEntry {
                key: format!(
                    "charge:{id}:{}",
                    if new.capture { "capture" } else { "authorize" }
                ),
                kind: if new.capture {
                    CAPTURE_KIND
                } else {
                    "charge.authorized"
                }
                .to_owned(),
                source_id: Some(id),
                pending: !new.capture,
                lines: capture_lines(new.amount.currency, &splits),
                effective_at: now,
            };
            // The ledger's own checks, here, so that writing the batch cannot refuse it.
            Batch::check(&entry)?;
            Some((Uuid::now_v7(), entry))
        }
    };
    let available_on = captured.then_some(now + delay);
    let charge = charge::Model {
        id,
        livemode,
        amount: new.amount.amount_minor,
        currency: new.amount.currency.api_code(),
        status,
        captured,
        amount_captured: if captured { new.amount.amount_minor } else { 0 },
        amount_refunded: 0,
        application_fee_amount: fees,
        destination_id: if new.single {
            splits.first().map(|s| s.destination)
        } else {
            None
        },
        splits: super::to_json(&splits)?,
        payment_method: new.method.kind().to_owned(),
        payment_method_reference: new.method.reference().map(str::to_owned),
        description: new.description,
        transfer_group: new.transfer_group,
        metadata: super::to_json(&new.metadata)?,
        failure_code: decline.as_ref().map(|d| d.code.to_owned()),
        failure_message: decline.as_ref().map(|d| d.message.to_owned()),
        authorization_entry_id: match (&entry, new.capture) {
            (Some((entry_id, _)), false) => Some(*entry_id),
            _ => None,
        },
        balance_transaction_id: (captured && new.single).then_some(bt_id),
        available_on,
        settled: false,
        disputed: false,
        created_at: now,
    };
    let bts = match available_on {
        Some(available_on) => bt_models(
            livemode,
            new.amount.currency,
            ("charge", id),
            now,
            capture_bts(&splits, available_on, bt_id),
        ),
        None => Vec::new(),
    };
    let kind = match (&decline, captured) {
        (Some(_), _) => EventType::ChargeFailed,
        (None, true) => EventType::ChargeSucceeded,
        (None, false) => EventType::ChargePending,
    };
    let event = NewEvent {
        livemode,
        account_id: charge.destination_id,
        kind,
        object: view::ChargeObject::json(&charge)?,
        previous_attributes: None,
    };
    Ok(PlannedCharge {
        livemode,
        now,
        entry,
        destinations: splits.iter().map(|s| s.destination).collect(),
        charge,
        bts,
        event,
        origin: origin.clone(),
        disputed_at_once: disputed_at_once.filter(|_| captured),
        decline,
    })
}

/// Creates (committed, outside any batch: see `ledger::batch::learn_accounts`) the ledger
/// accounts the plans' entries use and do not find in `ids`. Call on the pool, before the
/// batch's transaction begins.
pub async fn prepare_accounts(
    db: &impl ConnectionTrait,
    plans: &[&PlannedCharge],
    ids: &SharedAccountIds,
) -> Result<(), PaymentError> {
    for livemode in [false, true] {
        let refs: std::collections::BTreeSet<agora_ledger::AccountRef> = plans
            .iter()
            .filter(|p| p.livemode == livemode)
            .filter_map(|p| p.entry.as_ref())
            .flat_map(|(_, e)| e.lines.iter().map(|l| l.account))
            .collect();
        if !refs.is_empty() {
            agora_ledger::batch::learn_accounts(db, livemode, &refs, ids, Utc::now()).await?;
        }
    }
    Ok(())
}

/// Writes planned charges (of either mode) in the caller's transaction, with a fixed number
/// of statements however many there are: their ledger entries and lines, charges,
/// destinations, balance transactions, events and webhook deliveries, each kind in one
/// multi-row INSERT; then each distinct ledger account's balance, once, with its summed
/// delta, last (the platform's rows every charge shares stay locked only until COMMIT).
/// `ids` remembers ledger account ids between batches. Plans that
/// [`PlannedCharge::needs_own_savepoint`] are refused (a bug in the caller).
pub async fn write_charges(
    db: &impl ConnectionTrait,
    plans: &[&PlannedCharge],
    ids: &SharedAccountIds,
) -> Result<(), PaymentError> {
    assert!(
        plans.iter().all(|p| !p.needs_own_savepoint()),
        "a plan that opens a dispute was batched"
    );
    if plans.is_empty() {
        return Ok(());
    }
    let now = plans.iter().map(|p| p.now).max().unwrap_or_else(Utc::now);
    let mut moves = Vec::new();
    for livemode in [false, true] {
        let mut batch = Batch::new(livemode);
        for plan in plans.iter().filter(|p| p.livemode == livemode) {
            if let Some((id, entry)) = &plan.entry {
                batch.add(*id, entry.clone())?;
            }
        }
        if !batch.is_empty() {
            moves.push(batch.write(db, ids, now).await?);
        }
    }
    // Built into vectors before any await: iterator closures held across one make the
    // future's lifetimes too general for the writer's boxed effects.
    let mut charges = Vec::with_capacity(plans.len());
    let mut destinations = Vec::with_capacity(plans.len());
    let mut bts = Vec::with_capacity(plans.len() * 2);
    let mut events = Vec::with_capacity(plans.len());
    for p in plans {
        charges.push(charge::ActiveModel::from(p.charge.clone()));
        for account_id in &p.destinations {
            destinations.push(charge_destination::ActiveModel {
                charge_id: Set(p.charge.id),
                account_id: Set(*account_id),
                livemode: Set(p.livemode),
            });
        }
        bts.extend(p.bts.iter().cloned());
        events.push((p.event.clone(), p.origin.clone(), p.now));
    }
    insert_chunked(db, charges).await?;
    insert_chunked(db, destinations).await?;
    insert_chunked(db, bts).await?;
    crate::infra::events::record_many(db, events).await?;
    for m in moves {
        m.apply(db).await?;
    }
    Ok(())
}

/// Rows per INSERT, well within both databases' bound-parameter limits (a charge row has 25
/// columns: 1,000 of them bind 25,000 values, under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 1_000;

async fn insert_chunked<A>(db: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), sea_orm::DbErr>
where
    A: sea_orm::ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        <A::Entity as EntityTrait>::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Writes one planned charge in `txn`, opening its dispute at once when the simulator's card
/// asks for it; returns what was created.
pub async fn create_charge_planned(
    txn: &sea_orm::DatabaseTransaction,
    plan: PlannedCharge,
    dispute_fee_major: u32,
    ids: &SharedAccountIds,
) -> Result<Created, PaymentError> {
    let mut plain = plan.clone();
    plain.disputed_at_once = None;
    write_charges(txn, &[&plain], ids).await?;
    let Some(reason) = plan.disputed_at_once else {
        return Ok(plan.created());
    };
    // The customer's bank disputes at once; the platform sees both events.
    let id = ChargeId::from_uuid(plan.charge.id);
    super::dispute_charge(
        txn,
        plan.livemode,
        id,
        reason,
        dispute_fee_major,
        &plan.origin,
    )
    .await?;
    let charge = super::find_charge(txn, plan.livemode, id)
        .await?
        .ok_or(PaymentError::NotFound("charge"))?;
    Ok(Created {
        charge,
        decline: plan.decline,
    })
}
