//! Rotation of the encryption key: `agora keys rotate-encryption` re-seals, under the current
//! `encryption_key`, every value and file a previous key sealed, so the previous key can then
//! be dropped from `encryption_previous_keys`.
//!
//! What is sealed, and where (everything here, nowhere else):
//! - `accounts.profile`: national ids, SSNs, tax ids, registration numbers (`Profile::
//!   sealed_values`);
//! - `external_accounts.account_number_sealed` (and its fingerprint, recomputed under the
//!   fingerprint key: fingerprints of before that key are moved over by the same pass);
//! - `emails.message_sealed` (queued emails);
//! - `webhook_endpoints.secret` and `previous_secret` (secrets stored in the clear by older
//!   versions are sealed by the same pass);
//! - the identity documents under `data_dir/files/`;
//! - the bank files under `data_dir/payout_batches/` (plain files of before migration 000014
//!   are sealed and their checksums recorded).
//!
//! Each table is walked in pages of `batch_size` rows by id, and each row rewritten by one
//! conditional statement (it changes only if the row still holds what was read), files by an
//! atomic replace: no transaction is held, the server keeps running, and a run that is killed
//! loses nothing. Running it again continues: what is already under the current key is
//! skipped. A row changed by someone else meanwhile is read again (three times), then left for
//! the next run, and the report says the run is not complete. Every instance must already run
//! with the new key (and the old one among the previous keys) before the rotation, so nothing
//! seals under the old key meanwhile.

use std::collections::BTreeMap;

use agora_onboarding::accounts::entity as account;
use agora_onboarding::kyc::entities::{external_account as bank, file};
use agora_onboarding::kyc::Profile;
use agora_onboarding::seal::{SealError, Sealer};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::domain::kyc::{self, Runtime};
use crate::domain::payouts::entity::payout_batch;
use crate::domain::payouts::files as bank_files;
use crate::domain::webhooks;
use crate::infra::config::Config;
use crate::infra::email::{self, entity as email_row};
use crate::infra::wire::ids::{self, IdKind};

/// How a rotation is run.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    /// Rows read per page (1–10,000).
    pub batch_size: u64,
    /// Stop after this many rewrites (a partial run, as a kill would leave); None: all.
    pub max_changes: Option<u64>,
}

/// What a rotation did.
#[derive(Debug, Default, Clone)]
pub struct RotationReport {
    /// Rows and files rewritten: re-sealed under the current key, sealed from the clear, or
    /// (bank accounts) given a fingerprint under the fingerprint key.
    pub resealed: u64,
    /// The same, per kind (`profile`, `bank_account`, `email`, `webhook_secret`, `document`,
    /// `bank_file`).
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Bank-account fingerprints recomputed under the fingerprint key.
    pub fingerprints: u64,
    /// Rows changed by someone else three times while being rewritten: left for the next run.
    pub conflicts: u64,
    /// Left as they are, logged by id: files a row names that are missing or fail their
    /// checksum, profiles this version cannot read (the rotation never rewrites what it cannot
    /// vouch for; they were unreadable before it too).
    pub skipped: u64,
    /// Every value seen is under the current key: the previous keys can be removed. False
    /// when the run stopped at `max_changes` or left conflicts; run it again.
    pub complete: bool,
}

impl RotationReport {
    fn count(&mut self, kind: &'static str) {
        self.resealed += 1;
        *self.by_kind.entry(kind).or_default() += 1;
    }
}

/// What can stop a rotation. A value that no configured key opens stops it: carrying on
/// would report a rotation complete that is not.
#[derive(Debug)]
pub enum SealingError {
    Db(DbErr),
    /// A sealed value (`what`, with its id) does not open with any configured key.
    Seal {
        what: String,
        error: SealError,
    },
    /// A file could not be read or written.
    Io {
        what: String,
        error: std::io::Error,
    },
}

impl std::fmt::Display for SealingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealingError::Db(e) => write!(f, "database: {e}"),
            SealingError::Seal { what, error } => write!(f, "{what}: {error}"),
            SealingError::Io { what, error } => write!(f, "{what}: {error}"),
        }
    }
}

impl std::error::Error for SealingError {}

impl From<DbErr> for SealingError {
    fn from(e: DbErr) -> Self {
        SealingError::Db(e)
    }
}

fn seal_err(what: String) -> impl FnOnce(SealError) -> SealingError {
    move |error| SealingError::Seal { what, error }
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> SealingError {
    move |error| SealingError::Io { what, error }
}

/// A row is read again at most this often when someone else changes it under the rotation.
const ATTEMPTS: usize = 3;

/// Largest page.
pub const MAX_BATCH_SIZE: u64 = 10_000;

/// Re-seals everything under the current key (see the module). Returns what it did.
pub async fn rotate(
    db: &DatabaseConnection,
    config: &Config,
    runtime: &Runtime,
    options: &RotateOptions,
) -> Result<RotationReport, SealingError> {
    let mut run = Run {
        db,
        sealer: &runtime.sealer,
        batch: options.batch_size.clamp(1, MAX_BATCH_SIZE),
        budget: options.max_changes,
        report: RotationReport::default(),
    };
    run.profiles().await?;
    run.bank_accounts().await?;
    run.emails().await?;
    run.webhook_secrets().await?;
    run.documents(runtime).await?;
    run.bank_files(config).await?;
    let stopped = run.exhausted();
    let mut report = run.report;
    report.complete = !stopped && report.conflicts == 0;
    Ok(report)
}

struct Run<'a> {
    db: &'a DatabaseConnection,
    sealer: &'a Sealer,
    batch: u64,
    budget: Option<u64>,
    report: RotationReport,
}

impl Run<'_> {
    /// The run has made the changes it was allowed.
    fn exhausted(&self) -> bool {
        self.budget.is_some_and(|max| self.report.resealed >= max)
    }

    /// Profiles: each changed profile is written only if the account's `updated_at` is still
    /// what was read (every profile change moves it: `kyc::save_profile`).
    async fn profiles(&mut self) -> Result<(), SealingError> {
        let mut after = Uuid::nil();
        while !self.exhausted() {
            let page = account::Entity::find()
                .filter(account::Column::Id.gt(after))
                .filter(account::Column::Profile.is_not_null())
                .order_by_asc(account::Column::Id)
                .limit(self.batch)
                .all(self.db)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            for row in page {
                if self.exhausted() {
                    return Ok(());
                }
                self.profile(row).await?;
            }
        }
        Ok(())
    }

    async fn profile(&mut self, mut row: account::Model) -> Result<(), SealingError> {
        for _ in 0..ATTEMPTS {
            let what = || format!("profile of {}", ids::encode(IdKind::Account, row.id));
            let Some(json) = row.profile.clone() else {
                return Ok(());
            };
            // A profile this version cannot read is left alone: rewriting it from a default
            // would lose it.
            let Ok(mut profile) = serde_json::from_value::<Profile>(json) else {
                tracing::warn!(account = %ids::encode(IdKind::Account, row.id), "a profile that does not parse is not rotated");
                self.report.skipped += 1;
                return Ok(());
            };
            let mut changed = false;
            for (purpose, value) in profile.sealed_values_mut() {
                if let Some(new) = self
                    .sealer
                    .reseal(purpose, &value.sealed)
                    .map_err(seal_err(what()))?
                {
                    value.sealed = new;
                    changed = true;
                }
            }
            if !changed {
                return Ok(());
            }
            let done = account::Entity::update_many()
                .col_expr(account::Column::Profile, Expr::value(profile.to_json()))
                .filter(account::Column::Id.eq(row.id))
                .filter(account::Column::UpdatedAt.eq(row.updated_at))
                .exec(self.db)
                .await?;
            if done.rows_affected == 1 {
                self.report.count("profile");
                return Ok(());
            }
            let Some(again) = account::Entity::find_by_id(row.id).one(self.db).await? else {
                return Ok(());
            };
            row = again;
        }
        self.report.conflicts += 1;
        Ok(())
    }

    /// Bank accounts: the number re-sealed and the fingerprint recomputed, written only if
    /// both are still what was read.
    async fn bank_accounts(&mut self) -> Result<(), SealingError> {
        let mut after = Uuid::nil();
        while !self.exhausted() {
            let page = bank::Entity::find()
                .filter(bank::Column::Id.gt(after))
                .order_by_asc(bank::Column::Id)
                .limit(self.batch)
                .all(self.db)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            for row in page {
                if self.exhausted() {
                    return Ok(());
                }
                self.bank_account(row).await?;
            }
        }
        Ok(())
    }

    async fn bank_account(&mut self, mut row: bank::Model) -> Result<(), SealingError> {
        for _ in 0..ATTEMPTS {
            let what = format!(
                "bank account {}",
                ids::encode(IdKind::ExternalAccount, row.id)
            );
            let number = self
                .sealer
                .open_str(kyc::banks::PURPOSE, &row.account_number_sealed)
                .map_err(seal_err(what))?;
            let fingerprint = self.sealer.fingerprint(
                kyc::banks::PURPOSE,
                &kyc::banks::fingerprint_input(
                    &row.country,
                    row.routing_number.as_deref(),
                    &number,
                ),
            );
            let resealed = !self.sealer.is_current(&row.account_number_sealed);
            let refingerprinted = fingerprint != row.fingerprint;
            if !resealed && !refingerprinted {
                return Ok(());
            }
            let sealed = if resealed {
                self.sealer.seal_str(kyc::banks::PURPOSE, &number)
            } else {
                row.account_number_sealed.clone()
            };
            let done = bank::Entity::update_many()
                .col_expr(bank::Column::AccountNumberSealed, Expr::value(sealed))
                .col_expr(bank::Column::Fingerprint, Expr::value(fingerprint))
                .filter(bank::Column::Id.eq(row.id))
                .filter(bank::Column::AccountNumberSealed.eq(row.account_number_sealed.as_str()))
                .filter(bank::Column::Fingerprint.eq(row.fingerprint.as_str()))
                .exec(self.db)
                .await?;
            if done.rows_affected == 1 {
                self.report.count("bank_account");
                if refingerprinted {
                    self.report.fingerprints += 1;
                }
                return Ok(());
            }
            let Some(again) = bank::Entity::find_by_id(row.id).one(self.db).await? else {
                return Ok(());
            };
            row = again;
        }
        self.report.conflicts += 1;
        Ok(())
    }

    /// Queued emails (sent and given-up ones keep no message).
    async fn emails(&mut self) -> Result<(), SealingError> {
        let mut after = Uuid::nil();
        while !self.exhausted() {
            let page = email_row::Entity::find()
                .filter(email_row::Column::Id.gt(after))
                .filter(email_row::Column::MessageSealed.is_not_null())
                .order_by_asc(email_row::Column::Id)
                .limit(self.batch)
                .all(self.db)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            for row in page {
                if self.exhausted() {
                    return Ok(());
                }
                let Some(old) = row.message_sealed else {
                    continue;
                };
                let Some(new) = self
                    .sealer
                    .reseal(email::PURPOSE, &old)
                    .map_err(seal_err(format!("email {}", row.id)))?
                else {
                    continue;
                };
                // Sent meanwhile (the message is dropped then): nothing left to rotate.
                let done = email_row::Entity::update_many()
                    .col_expr(email_row::Column::MessageSealed, Expr::value(new))
                    .filter(email_row::Column::Id.eq(row.id))
                    .filter(email_row::Column::MessageSealed.eq(old.as_str()))
                    .exec(self.db)
                    .await?;
                if done.rows_affected == 1 {
                    self.report.count("email");
                }
            }
        }
        Ok(())
    }

    /// Webhook signing secrets, current and previous (the clear `whsec_…` of older rows is
    /// sealed too).
    async fn webhook_secrets(&mut self) -> Result<(), SealingError> {
        use webhooks::entity::endpoint;
        let mut after = Uuid::nil();
        while !self.exhausted() {
            let page = endpoint::Entity::find()
                .filter(endpoint::Column::Id.gt(after))
                .order_by_asc(endpoint::Column::Id)
                .limit(self.batch)
                .all(self.db)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            for mut row in page {
                if self.exhausted() {
                    return Ok(());
                }
                let mut rewritten = false;
                for _ in 0..ATTEMPTS {
                    let what = format!(
                        "webhook endpoint {}",
                        ids::encode(IdKind::WebhookEndpoint, row.id)
                    );
                    let secret = self.secret(&row.secret, &what)?;
                    let previous = match &row.previous_secret {
                        Some(p) => self.secret(p, &what)?,
                        None => None,
                    };
                    if secret.is_none() && previous.is_none() {
                        rewritten = true;
                        break;
                    }
                    let mut update = endpoint::Entity::update_many()
                        .filter(endpoint::Column::Id.eq(row.id))
                        .filter(endpoint::Column::Secret.eq(row.secret.as_str()));
                    update = match &row.previous_secret {
                        Some(p) => update.filter(endpoint::Column::PreviousSecret.eq(p.as_str())),
                        None => update.filter(endpoint::Column::PreviousSecret.is_null()),
                    };
                    if let Some(s) = secret {
                        update = update.col_expr(endpoint::Column::Secret, Expr::value(s));
                    }
                    if let Some(p) = previous {
                        update = update.col_expr(endpoint::Column::PreviousSecret, Expr::value(p));
                    }
                    if update.exec(self.db).await?.rows_affected == 1 {
                        self.report.count("webhook_secret");
                        rewritten = true;
                        break;
                    }
                    let Some(again) = endpoint::Entity::find_by_id(row.id).one(self.db).await?
                    else {
                        rewritten = true;
                        break;
                    };
                    row = again;
                }
                if !rewritten {
                    self.report.conflicts += 1;
                }
            }
        }
        Ok(())
    }

    /// A webhook secret as it should be stored, when it is not already: sealed by the
    /// current key.
    fn secret(&self, stored: &str, what: &str) -> Result<Option<String>, SealingError> {
        if self.sealer.is_current(stored) {
            return Ok(None);
        }
        let plain =
            webhooks::open_secret(self.sealer, stored).ok_or_else(|| SealingError::Seal {
                what: what.to_owned(),
                error: SealError::Forged,
            })?;
        Ok(Some(webhooks::seal_secret(self.sealer, &plain)))
    }

    /// Identity documents: each file named by a `files` row, replaced atomically.
    async fn documents(&mut self, runtime: &Runtime) -> Result<(), SealingError> {
        let mut after = Uuid::nil();
        while !self.exhausted() {
            let page: Vec<Uuid> = file::Entity::find()
                .select_only()
                .column(file::Column::Id)
                .filter(file::Column::Id.gt(after))
                .order_by_asc(file::Column::Id)
                .limit(self.batch)
                .into_tuple()
                .all(self.db)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = *last;
            for id in page {
                if self.exhausted() {
                    return Ok(());
                }
                let what = format!("document {}", ids::encode(IdKind::File, id));
                let name = kyc::files::file_name(id);
                let stored = match crate::infra::files::read(&runtime.files_dir, &name).await {
                    Ok(stored) => stored,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        tracing::warn!(file = %ids::encode(IdKind::File, id), "a document's file is missing; not rotated");
                        self.report.skipped += 1;
                        continue;
                    }
                    Err(e) => return Err(io_err(what)(e)),
                };
                let stored = String::from_utf8(stored).map_err(|_| SealingError::Seal {
                    what: what.clone(),
                    error: SealError::Malformed,
                })?;
                let Some(new) = self
                    .sealer
                    .reseal(kyc::files::PURPOSE, &stored)
                    .map_err(seal_err(what.clone()))?
                else {
                    continue;
                };
                crate::infra::files::write(&runtime.files_dir, &name, new.into_bytes())
                    .await
                    .map_err(io_err(what))?;
                self.report.count("document");
            }
        }
        Ok(())
    }

    /// Bank files not yet deleted: sealed ones re-sealed (only if they match their
    /// checksum), plain ones of before migration 000014 sealed and their checksum recorded.
    async fn bank_files(&mut self, config: &Config) -> Result<(), SealingError> {
        let dir = bank_files::batches_dir(config);
        let mut after = Uuid::nil();
        while !self.exhausted() {
            let page = payout_batch::Entity::find()
                .filter(payout_batch::Column::Id.gt(after))
                .filter(payout_batch::Column::FileDeletedAt.is_null())
                .order_by_asc(payout_batch::Column::Id)
                .limit(self.batch)
                .all(self.db)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            for batch in page {
                if self.exhausted() {
                    return Ok(());
                }
                self.bank_file(&dir, batch).await?;
            }
        }
        Ok(())
    }

    async fn bank_file(
        &mut self,
        dir: &std::path::Path,
        batch: payout_batch::Model,
    ) -> Result<(), SealingError> {
        let pob = ids::encode(IdKind::PayoutBatch, batch.id);
        let what = format!("bank file of {pob}");
        let sealed_name = bank_files::sealed_name(&batch.file_name);
        let read = |name: String| async move {
            match crate::infra::files::read(dir, &name).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        };
        let Some(want) = &batch.file_sha256 else {
            // From before checksums: a plain file. Seal it, then record its checksum (only if
            // no one did meanwhile), then drop the plain file.
            let Some(plain) = read(batch.file_name.clone())
                .await
                .map_err(io_err(what.clone()))?
            else {
                tracing::warn!(batch = %pob, "a bank file is missing; not rotated");
                self.report.skipped += 1;
                return Ok(());
            };
            let sealed = self.sealer.seal(bank_files::PURPOSE, &plain);
            crate::infra::files::write(dir, &sealed_name, sealed.into_bytes())
                .await
                .map_err(io_err(what.clone()))?;
            payout_batch::Entity::update_many()
                .col_expr(
                    payout_batch::Column::FileSha256,
                    Expr::value(kyc::files::sha256_hex(&plain)),
                )
                .filter(payout_batch::Column::Id.eq(batch.id))
                .filter(payout_batch::Column::FileSha256.is_null())
                .exec(self.db)
                .await?;
            crate::infra::files::remove(dir, &batch.file_name)
                .await
                .map_err(io_err(what))?;
            self.report.count("bank_file");
            return Ok(());
        };
        // A plain file left by a run killed after recording the checksum.
        crate::infra::files::remove(dir, &batch.file_name)
            .await
            .map_err(io_err(what.clone()))?;
        let Some(stored) = read(sealed_name.clone())
            .await
            .map_err(io_err(what.clone()))?
        else {
            tracing::warn!(batch = %pob, "a bank file is missing; not rotated");
            self.report.skipped += 1;
            return Ok(());
        };
        let Ok(stored) = String::from_utf8(stored) else {
            return self.unvouched(&pob);
        };
        if self.sealer.is_current(&stored) {
            return Ok(());
        }
        let Ok(plain) = self.sealer.open(bank_files::PURPOSE, &stored) else {
            return self.unvouched(&pob);
        };
        if kyc::files::sha256_hex(&plain) != *want {
            return self.unvouched(&pob);
        }
        let sealed = self.sealer.seal(bank_files::PURPOSE, &plain);
        crate::infra::files::write(dir, &sealed_name, sealed.into_bytes())
            .await
            .map_err(io_err(what))?;
        self.report.count("bank_file");
        Ok(())
    }

    /// A bank file that does not open or does not match its checksum: left as it is, so
    /// the refusal to serve it stands.
    fn unvouched(&mut self, pob: &str) -> Result<(), SealingError> {
        tracing::error!(batch = %pob, "a bank file does not match its checksum; not rotated");
        self.report.skipped += 1;
        Ok(())
    }
}
