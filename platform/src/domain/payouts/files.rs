//! Batches: pending standard payouts grouped per rail and currency into one bank file each,
//! written under `<data_dir>/payout_batches/`, the payouts moving to `in_transit`.
//!
//! A bank file holds full account numbers, so it is kept like a document: sealed (purpose
//! `bank_file`) in a private file (`infra::files`: 0600, fsynced, renamed into place), with
//! the SHA-256 of the plain file recorded in the batch row. It is served ([`contents`]) only
//! while it opens and matches that checksum, and deleted ([`sweep_sent`]) once the batch has
//! been marked sent for `bank_file_retention_days`; after that a request for it is told so
//! (`bank_file_expired`). A file whose batch did not commit is an orphan: [`sweep_orphans`].
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

use super::entity::payout_batch::BatchStatus;
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

/// What a bank file is sealed for (AES-GCM associated data).
pub const PURPOSE: &str = "bank_file";

/// The stored (sealed) file of a batch whose row records a checksum.
pub fn sealed_name(file_name: &str) -> String {
    format!("{file_name}.sealed")
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
            .open_str(
                crate::domain::kyc::banks::PURPOSE,
                &bank.account_number_sealed,
            )
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
    let file_sha256 = crate::domain::kyc::files::sha256_hex(contents.as_bytes());
    let sealed = sealer.seal(PURPOSE, contents.as_bytes());
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
        file_sha256: Set(Some(file_sha256)),
        file_deleted_at: Set(None),
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
    // Written before the commit: a batch row never lacks its file (a failed commit leaves an
    // orphan file, sealed, which `sweep_orphans` deletes).
    crate::infra::files::write(
        &batches_dir(config),
        &sealed_name(&file_name),
        sealed.into_bytes(),
    )
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

/// Whether a batch's file is past its retention at `now` (the mode's clock, as `sent_at`).
fn expired(config: &Config, batch: &PayoutBatch, now: DateTime<Utc>) -> bool {
    batch.file_deleted_at.is_some()
        || batch.sent_at.is_some_and(|sent| {
            sent + chrono::Duration::days(i64::from(config.bank_file_retention_days)) <= now
        })
}

/// A batch's bank file as written, for `GET /v1/payout_batches/{id}/file`: opened and checked
/// against the checksum recorded when it was written. Refused with `bank_file_expired` once
/// deleted (or due for deletion) after the retention, and with `bank_file_checksum_mismatch`
/// when the stored file is not the one written for this batch (altered, or another's).
pub async fn contents(
    db: &impl sea_orm::ConnectionTrait,
    config: &Config,
    sealer: &Sealer,
    batch: &PayoutBatch,
) -> Result<Vec<u8>, PayoutError> {
    let now = crate::infra::clock::now(db, batch.livemode).await?;
    let pob = ids::encode(IdKind::PayoutBatch, batch.id);
    if expired(config, batch, now) {
        return Err(PayoutError::Gone {
            code: "bank_file_expired",
            message: format!(
                "This batch's bank file was deleted {} days after the batch was marked sent (bank_file_retention_days); the batch and its payouts are kept.",
                config.bank_file_retention_days
            ),
        });
    }
    let dir = batches_dir(config);
    let Some(want) = &batch.file_sha256 else {
        // A batch from before checksums: its plain file, until the rotation seals it.
        tracing::warn!(batch = %pob, "serving an unsealed bank file from before migration 000014; `agora keys rotate-encryption` seals it");
        return crate::infra::files::read(&dir, &batch.file_name)
            .await
            .map_err(PayoutError::internal);
    };
    let stored = crate::infra::files::read(&dir, &sealed_name(&batch.file_name))
        .await
        .map_err(PayoutError::internal)?;
    let plain = std::str::from_utf8(&stored)
        .ok()
        .and_then(|s| sealer.open(PURPOSE, s).ok());
    match plain {
        Some(plain) if crate::domain::kyc::files::sha256_hex(&plain) == *want => Ok(plain),
        _ => {
            tracing::error!(batch = %pob, "bank file refused: it does not open or does not match the checksum recorded when it was written");
            Err(PayoutError::Integrity {
                code: "bank_file_checksum_mismatch",
                message: "The stored bank file is not the one written for this batch (its checksum differs), so it is not served. The operator has been told in the server log.".to_owned(),
            })
        }
    }
}

/// Deletes the bank files of this mode's batches marked sent more than
/// `bank_file_retention_days` ago (by the mode's clock, as `sent_at`), at most `max` per call,
/// and records when; returns how many. Unsent batches keep their files.
pub async fn sweep_sent(
    db: &DatabaseConnection,
    config: &Config,
    livemode: bool,
    max: u64,
) -> Result<usize, PayoutError> {
    let now = crate::infra::clock::now(db, livemode).await?;
    let cutoff = now - chrono::Duration::days(i64::from(config.bank_file_retention_days));
    let due = super::scoped_batches(livemode)
        .filter(payout_batch::Column::Status.eq(BatchStatus::Sent))
        .filter(payout_batch::Column::FileDeletedAt.is_null())
        .filter(payout_batch::Column::SentAt.lte(cutoff))
        .order_by_asc(payout_batch::Column::Id)
        .limit(max)
        .all(db)
        .await?;
    let dir = batches_dir(config);
    let mut deleted = 0;
    for batch in due {
        // The file goes first: a crash before the row's update only means deleting it again.
        for name in [sealed_name(&batch.file_name), batch.file_name.clone()] {
            crate::infra::files::remove(&dir, &name)
                .await
                .map_err(PayoutError::internal)?;
        }
        let marked = payout_batch::Entity::update_many()
            .col_expr(payout_batch::Column::FileDeletedAt, Expr::value(now))
            .filter(payout_batch::Column::Id.eq(batch.id))
            .filter(payout_batch::Column::FileDeletedAt.is_null())
            .exec(db)
            .await?;
        if marked.rows_affected == 1 {
            tracing::info!(batch = %ids::encode(IdKind::PayoutBatch, batch.id), "bank file deleted after its retention");
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Deletes bank files no batch row points at (a batch whose transaction failed after its
/// file was written), once older than [`crate::domain::kyc::files::ORPHAN_GRACE`], and stale
/// temporary files; at most 1,000 per pass. Returns how many it deleted.
pub async fn sweep_orphans(db: &DatabaseConnection, config: &Config) -> Result<usize, PayoutError> {
    use crate::infra::files::Stale;
    let dir = batches_dir(config);
    let stale = crate::infra::files::stale(&dir, crate::domain::kyc::files::ORPHAN_GRACE)
        .await
        .map_err(PayoutError::internal)?;
    let mut swept = 0;
    let mut candidates: Vec<(Uuid, String)> = Vec::new();
    for entry in stale {
        match entry {
            Stale::Temp(path) => {
                crate::infra::files::remove_temp(&path)
                    .await
                    .map_err(PayoutError::internal)?;
                swept += 1;
            }
            // `pob_….xml.sealed` (or a plain file from before): the batch id leads the name.
            Stale::File(name) => {
                let id = name
                    .split('.')
                    .next()
                    .and_then(|pob| ids::decode(IdKind::PayoutBatch, pob).ok());
                candidates.extend(id.map(|id| (id, name)));
            }
        }
    }
    for chunk in candidates.chunks(500) {
        let known: std::collections::HashSet<Uuid> = payout_batch::Entity::find()
            .select_only()
            .column(payout_batch::Column::Id)
            .filter(payout_batch::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .into_tuple::<Uuid>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        for (id, name) in chunk.iter().filter(|(id, _)| !known.contains(id)) {
            if swept >= 1_000 {
                return Ok(swept);
            }
            if crate::infra::files::remove(&dir, name)
                .await
                .map_err(PayoutError::internal)?
            {
                tracing::info!(batch = %ids::encode(IdKind::PayoutBatch, *id), "orphaned bank file deleted");
                swept += 1;
            }
        }
    }
    Ok(swept)
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
