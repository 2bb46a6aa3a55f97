//! Batches: pending standard payouts grouped per rail and currency into one bank file each,
//! written under `<data_dir>/payout_batches/`, the payouts moving to `in_transit`.
//!
//! SEPA → pain.001.001.09, ACH → NACHA, Bacs → Standard 18, anything else → CSV for the
//! platform's bank. End-to-end ids (SEPA) and references (NACHA, Bacs) are derived from the
//! payout id, so a status report or a return names the payout again (see [`reference_of`]).

use std::collections::BTreeMap;

use agora_ledger::Currency;
use agora_onboarding::kyc::entities::external_account;
use agora_onboarding::seal::Sealer;
use agora_payouts::{bacs, csv_file, nacha, sepa, Rail, MAX_BATCH_ENTRIES};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr, TransactionTrait,
};
use uuid::Uuid;

use super::entity::{payout, payout_batch, PayoutStatus};
use super::{parse_rail, Payout, PayoutBatch, PayoutError};
use crate::infra::config::Config;
use crate::infra::events::Origin;
use crate::infra::wire::ids::{self, IdKind};

/// Most pending payouts one run puts into files; the rest wait for the next run.
const MAX_PENDING_PER_RUN: u64 = MAX_BATCH_ENTRIES as u64;

pub fn batches_dir(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("payout_batches")
}

/// The reference a payout carries in bank files: the last 15 hex digits of its UUID (the
/// random part of a UUIDv7), upper case. 15 characters fit NACHA's individual id field and
/// Bacs' 18-character reference; SEPA carries the full 32 hex digits as end-to-end id.
pub fn reference_of(id: Uuid) -> String {
    let hex = id.simple().to_string().to_uppercase();
    hex[hex.len() - 15..].to_owned()
}

pub fn end_to_end_of(id: Uuid) -> String {
    id.simple().to_string().to_uppercase()
}

struct Credit {
    payout: Payout,
    bank: external_account::Model,
    number: String,
    name: String,
}

/// Puts this mode's pending standard payouts into batch files; returns the batches made.
pub async fn create_batches(
    db: &DatabaseConnection,
    config: &Config,
    sealer: &Sealer,
    livemode: bool,
    now: DateTime<Utc>,
) -> Result<Vec<PayoutBatch>, PayoutError> {
    let pending = super::scoped(livemode)
        .filter(payout::Column::Status.eq(PayoutStatus::Pending))
        .filter(payout::Column::Method.eq("standard"))
        .filter(payout::Column::BatchId.is_null())
        .order_by_asc(payout::Column::Id)
        .limit(MAX_PENDING_PER_RUN)
        .all(db)
        .await?;
    let mut groups: BTreeMap<(String, String), Vec<Payout>> = BTreeMap::new();
    for p in pending {
        groups
            .entry((p.rail.clone(), p.currency.clone()))
            .or_default()
            .push(p);
    }
    let mut made = Vec::new();
    for ((rail, currency), payouts) in groups {
        // A lost race for the day's file number (another instance batched the same rail at
        // the same moment) rolls back and takes the next number; bounded, as everything is.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match batch_one(
                db,
                config,
                sealer,
                livemode,
                now,
                &rail,
                &currency,
                payouts.clone(),
            )
            .await
            {
                Ok(Batched::Made(b)) => made.push(*b),
                Ok(Batched::Taken) => {}
                Ok(Batched::FileNumberTaken) if attempt < MAX_FILE_NUMBER_ATTEMPTS => continue,
                Ok(Batched::FileNumberTaken) => {
                    tracing::warn!(
                        rail,
                        currency,
                        "payout batch not made: the day's file numbers kept colliding; will retry"
                    );
                }
                Err(e) => {
                    tracing::warn!(rail, currency, error = %e, "payout batch not made; will retry");
                }
            }
            break;
        }
    }
    Ok(made)
}

/// Tries to take the day's next file number before giving the group to the next run.
const MAX_FILE_NUMBER_ATTEMPTS: u32 = 5;

enum Batched {
    Made(Box<PayoutBatch>),
    /// Another run claimed (or someone canceled) one of the payouts meanwhile.
    Taken,
    /// Another run took this day's next file number of the rail at the same moment.
    FileNumberTaken,
}

#[allow(clippy::too_many_arguments)]
async fn batch_one(
    db: &DatabaseConnection,
    config: &Config,
    sealer: &Sealer,
    livemode: bool,
    now: DateTime<Utc>,
    rail: &str,
    currency: &str,
    payouts: Vec<Payout>,
) -> Result<Batched, PayoutError> {
    let txn = db.begin().await?;
    let batch_id = Uuid::now_v7();
    let ids: Vec<Uuid> = payouts.iter().map(|p| p.id).collect();
    // Claim them all or none: a payout canceled meanwhile leaves the group for the next run.
    let claimed = payout::Entity::update_many()
        .col_expr(payout::Column::BatchId, Expr::value(batch_id))
        .filter(payout::Column::Id.is_in(ids.clone()))
        .filter(payout::Column::Status.eq(PayoutStatus::Pending))
        .filter(payout::Column::BatchId.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != ids.len() as u64 {
        txn.rollback().await?;
        return Ok(Batched::Taken);
    }
    let banks: BTreeMap<Uuid, external_account::Model> = external_account::Entity::find()
        .filter(external_account::Column::Id.is_in(payouts.iter().map(|p| p.external_account_id)))
        .all(&txn)
        .await?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    let mut credits = Vec::with_capacity(payouts.len());
    for p in payouts {
        let bank = banks
            .get(&p.external_account_id)
            .cloned()
            .ok_or_else(|| PayoutError::internal("payout without its bank account"))?;
        let number = sealer
            .open_str("bank_account", &bank.account_number_sealed)
            .map_err(PayoutError::internal)?;
        let name = bank
            .account_holder_name
            .clone()
            .unwrap_or_else(|| format!("Seller {}", reference_of(p.account_id)));
        credits.push(Credit {
            payout: p,
            bank,
            number,
            name,
        });
    }
    let cur = Currency::parse(currency).map_err(PayoutError::internal)?;
    let pob = ids::encode(IdKind::PayoutBatch, batch_id);
    // The day's how-many-th file of this rail: NACHA's file id modifier and the Bacs file
    // number must differ between a day's files. The row goes in before the file is written so
    // that the unique index decides a race before anything reaches the disk.
    let file_day = now.date_naive();
    let last_seq: Option<Option<i32>> = payout_batch::Entity::find()
        .select_only()
        .column_as(payout_batch::Column::FileSeq.max(), "last")
        .filter(payout_batch::Column::Livemode.eq(livemode))
        .filter(payout_batch::Column::Rail.eq(rail))
        .filter(payout_batch::Column::FileDay.eq(file_day))
        .into_tuple()
        .one(&txn)
        .await?;
    let file_seq = last_seq.flatten().unwrap_or(0).saturating_add(1);
    let (ext, contents) = write_file(
        config,
        parse_rail(rail),
        cur,
        batch_id,
        now,
        file_seq,
        &credits,
    )?;
    let file_name = format!("{pob}.{ext}");
    let total: i64 = credits.iter().map(|c| c.payout.amount).sum();
    let inserted = payout_batch::ActiveModel {
        id: Set(batch_id),
        livemode: Set(livemode),
        rail: Set(rail.to_owned()),
        currency: Set(currency.to_owned()),
        status: Set(crate::domain::payouts::entity::payout_batch::BatchStatus::Created),
        file_name: Set(file_name.clone()),
        entry_count: Set(i32::try_from(credits.len()).unwrap_or(i32::MAX)),
        total: Set(total),
        created_at: Set(now),
        sent_at: Set(None),
        file_day: Set(Some(file_day)),
        file_seq: Set(Some(file_seq)),
    }
    .insert(&txn)
    .await;
    let batch = match inserted {
        Ok(batch) => batch,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // PostgreSQL has aborted the transaction; SQLite never gets here (one writer).
            txn.rollback().await?;
            return Ok(Batched::FileNumberTaken);
        }
        Err(e) => return Err(e.into()),
    };
    let dir = batches_dir(config);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(PayoutError::internal)?;
    tokio::fs::write(dir.join(&file_name), contents)
        .await
        .map_err(PayoutError::internal)?;
    for c in &credits {
        super::transition(
            &txn,
            livemode,
            now,
            super::PayoutId::from_uuid(c.payout.id),
            super::Outcome::InTransit(batch_id),
            &Origin::default(),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Batched::Made(Box::new(batch)))
}

/// NACHA file id modifiers in order: a day's first file is `A`.
const FILE_ID_MODIFIERS: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn file_err(e: impl std::fmt::Display) -> PayoutError {
    PayoutError::state(
        "bank_file_invalid",
        format!("the bank file cannot be written: {e}"),
    )
}

fn write_file(
    config: &Config,
    rail: Rail,
    currency: Currency,
    batch_id: Uuid,
    now: DateTime<Utc>,
    file_seq: i32,
    credits: &[Credit],
) -> Result<(&'static str, String), PayoutError> {
    let today = now.date_naive();
    let id_hex = end_to_end_of(batch_id);
    match rail {
        Rail::Sepa => {
            let batch = sepa::SepaBatch {
                message_id: id_hex.clone(),
                created_at: now,
                initiating_party_name: config.payout_originator_name.clone(),
                payment_information_id: id_hex,
                requested_execution_date: rail.calendar().business_day_on_or_after(today),
                batch_booking: true,
                debtor: sepa::SepaDebtor {
                    name: config.payout_originator_name.clone(),
                    iban: config.payout_sepa_iban.clone(),
                    bic: None,
                },
                credits: credits
                    .iter()
                    .map(|c| sepa::SepaCredit {
                        payout_id: end_to_end_of(c.payout.id),
                        amount_minor: c.payout.amount,
                        currency,
                        creditor_name: c.name.clone(),
                        creditor_iban: c.number.clone(),
                        creditor_bic: None,
                        remittance_information: format!(
                            "Payout {}",
                            ids::encode(IdKind::Payout, c.payout.id)
                        ),
                    })
                    .collect(),
            };
            Ok(("xml", sepa::pain001(&batch).map_err(file_err)?.xml))
        }
        Rail::Ach => {
            let file = nacha::AchFile {
                originator: nacha::AchOriginator {
                    immediate_destination: config.payout_ach_routing.clone(),
                    immediate_origin: config.payout_ach_company_id.clone(),
                    destination_name: "ODFI".to_owned(),
                    origin_name: config.payout_originator_name.clone(),
                    company_name: config.payout_originator_name.clone(),
                    company_id: config.payout_ach_company_id.clone(),
                    entry_description: "PAYOUT".to_owned(),
                    odfi_routing: config.payout_ach_routing.clone(),
                },
                created_at: now.naive_utc(),
                // The day's first file is `A`.
                file_id_modifier: FILE_ID_MODIFIERS
                    .get(usize::try_from(file_seq - 1).unwrap_or(usize::MAX))
                    .copied()
                    .map(char::from)
                    .ok_or_else(|| file_err("more than 36 ACH files today"))?,
                effective_entry_date: rail.calendar().next_business_day(today),
                entries: credits
                    .iter()
                    .map(|c| nacha::AchEntry {
                        payout_id: ids::encode(IdKind::Payout, c.payout.id),
                        sec_code: if c.bank.account_holder_type.as_deref() == Some("company") {
                            nacha::SecCode::Ccd
                        } else {
                            nacha::SecCode::Ppd
                        },
                        account_type: nacha::AccountType::Checking,
                        routing_number: c.bank.routing_number.clone().unwrap_or_default(),
                        account_number: c.number.clone(),
                        amount_cents: c.payout.amount,
                        name: c.name.clone(),
                        reference: reference_of(c.payout.id),
                    })
                    .collect(),
            };
            Ok(("ach", nacha::nacha_file(&file).map_err(file_err)?.text))
        }
        Rail::UkBacs => {
            let batch = bacs::BacsBatch {
                originator: bacs::BacsOriginator {
                    service_user_number: config.payout_bacs_sun.clone(),
                    sort_code: config.payout_bacs_sort_code.clone(),
                    account_number: config.payout_bacs_account.clone(),
                    name: config.payout_originator_name.clone(),
                },
                created_on: today,
                processing_day: rail.calendar().add_business_days(today, 2),
                file_number: u16::try_from(file_seq)
                    .ok()
                    .filter(|n| *n <= 999)
                    .ok_or_else(|| file_err("more than 999 Bacs files today"))?,
                credits: credits
                    .iter()
                    .map(|c| bacs::BacsCredit {
                        payout_id: ids::encode(IdKind::Payout, c.payout.id),
                        sort_code: c.bank.routing_number.clone().unwrap_or_default(),
                        account_number: c.number.clone(),
                        amount_pence: c.payout.amount,
                        name: c.name.clone(),
                        reference: reference_of(c.payout.id),
                    })
                    .collect(),
            };
            Ok(("txt", bacs::standard18(&batch).map_err(file_err)?.text))
        }
        Rail::UkFasterPayments | Rail::Other => {
            let rows: Vec<csv_file::CsvPayout> = credits
                .iter()
                .map(|c| {
                    let iban = c.bank.kind == "iban";
                    csv_file::CsvPayout {
                        payout_id: ids::encode(IdKind::Payout, c.payout.id),
                        account_id: ids::encode(IdKind::Account, c.payout.account_id),
                        name: c.name.clone(),
                        country: c.bank.country.clone(),
                        currency,
                        amount_minor: c.payout.amount,
                        iban: iban.then(|| c.number.clone()),
                        account_number: (!iban).then(|| c.number.clone()),
                        routing_code: c.bank.routing_number.clone(),
                        reference: reference_of(c.payout.id),
                        arrival_date: chrono::NaiveDate::parse_from_str(
                            &c.payout.arrival_date,
                            "%Y-%m-%d",
                        )
                        .unwrap_or(today),
                    }
                })
                .collect();
            Ok(("csv", csv_file::csv_file(&rows).map_err(file_err)?))
        }
    }
}
