//! KYC as a service: the encryption keys and sanctions list loaded at start, evaluation of an
//! account's requirements after every change (with its `account.updated` and
//! `capability.updated` events), sanctions screening, and the operator's reviews.
//!
//! Every function takes the caller's transaction, so a change, its new evaluation and its
//! events commit together.

pub mod banks;
pub mod files;
pub mod input;
pub mod links;
pub mod reviews;
pub mod view;

use crate::infra::events::EventType;
use std::path::{Path, PathBuf};

use agora_onboarding::accounts::{self, Account};
use agora_onboarding::kyc::entities::{external_account, review};
use agora_onboarding::kyc::{self as engine, Evaluation, Facts, Profile};
use agora_onboarding::sanctions::SanctionsList;
use agora_onboarding::seal::{self, Sealer};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{json, Value};

use crate::infra::config::Config;
pub use crate::infra::config::DocumentReview;
use crate::infra::events::{self, NewEvent, Origin};
use view::AccountObject;

/// What KYC refuses or fails at. The adapters map it to HTTP once (`api/errors.rs`); the
/// codes, params and messages are the API's.
#[derive(Debug)]
pub enum KycError {
    /// A parameter is wrong: `param` names it as the caller wrote it (`individual.dob`).
    Invalid {
        param: String,
        code: &'static str,
        message: String,
    },
    /// An id in the input names no `what` the caller may see.
    Missing {
        param: String,
        what: &'static str,
        id: String,
    },
    /// The object named in the path (`id`, its public id) is not in this mode.
    NotFound {
        what: &'static str,
        id: String,
    },
    /// The request is valid but the account's state forbids it (rejected, too many banks).
    State {
        code: &'static str,
        message: String,
    },
    /// An uploaded file is larger than `files::MAX_FILE_BYTES`.
    FileTooLarge,
    Db(sea_orm::DbErr),
    /// A stored value cannot be read or written; never the caller's fault.
    Internal(String),
}

impl KycError {
    pub fn invalid(
        param: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        KycError::Invalid {
            param: param.into(),
            code,
            message: message.into(),
        }
    }

    pub fn missing(param: impl Into<String>, what: &'static str, id: &str) -> Self {
        KycError::Missing {
            param: param.into(),
            what,
            id: id.to_owned(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        KycError::Internal(cause.to_string())
    }
}

impl std::fmt::Display for KycError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KycError::Invalid { code, message, .. } => write!(f, "{code}: {message}"),
            KycError::Missing { what, id, .. } => write!(f, "no such {what}: {id}"),
            KycError::NotFound { what, id } => write!(f, "no such {what}: {id}"),
            KycError::State { code, message } => write!(f, "{code}: {message}"),
            KycError::FileTooLarge => write!(f, "file too large"),
            KycError::Db(e) => write!(f, "database: {e}"),
            KycError::Internal(e) => write!(f, "internal: {e}"),
        }
    }
}

impl std::error::Error for KycError {}

impl From<sea_orm::DbErr> for KycError {
    fn from(err: sea_orm::DbErr) -> Self {
        KycError::Db(err)
    }
}

/// What KYC needs at run time, loaded once at start.
pub struct Runtime {
    pub sealer: Sealer,
    pub sanctions: Option<SanctionsList>,
    pub files_dir: PathBuf,
    pub document_review: DocumentReview,
    /// Identity documents one connected account may hold (`max_documents_per_account`).
    pub max_documents_per_account: u32,
    /// The key settings the operator did not provide (generated into the data dir instead):
    /// while any is missing, live mode is refused ([`Runtime::live_mode_refusal`]).
    pub missing_keys: Vec<&'static str>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("sealer", &self.sealer)
            .field(
                "sanctions_entries",
                &self.sanctions.as_ref().map(|s| s.len()),
            )
            .field("missing_keys", &self.missing_keys)
            .finish()
    }
}

/// Where a key the operator did not provide is generated (test mode only).
const DEV_KEY_FILE: &str = "encryption.key";
const DEV_FINGERPRINT_KEY_FILE: &str = "fingerprint.key";

impl Runtime {
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let mut missing_keys = Vec::new();
        let current = match &config.encryption_key {
            Some(key) => {
                seal::decode_key(key).map_err(|e| anyhow::anyhow!("encryption_key: {e}"))?
            }
            None => {
                missing_keys.push("encryption_key");
                dev_key(&config.data_dir, DEV_KEY_FILE)?
            }
        };
        let fingerprint_key = match &config.fingerprint_key {
            Some(key) => {
                seal::decode_key(key).map_err(|e| anyhow::anyhow!("fingerprint_key: {e}"))?
            }
            None => {
                missing_keys.push("fingerprint_key");
                dev_key(&config.data_dir, DEV_FINGERPRINT_KEY_FILE)?
            }
        };
        if !missing_keys.is_empty() {
            tracing::warn!(
                missing = %missing_keys.join(", "),
                data_dir = %config.data_dir.display(),
                "live mode is refused (503 live_mode_unavailable): keys generated into the data dir sit beside the data they protect; test mode uses them. Set {}",
                env_names(&missing_keys)
            );
        }
        let mut previous = config
            .encryption_previous_keys
            .iter()
            .map(|k| seal::decode_key(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("encryption_previous_keys: {e}"))?;
        // Moving from the generated key to an operator's: what the generated key sealed must
        // still open (or every stored secret, document and replay would fail), so it is a
        // previous key for as long as its file is there. Rotating removes the need.
        if config.encryption_key.is_some() {
            let path = config.data_dir.join(DEV_KEY_FILE);
            if let Ok(text) = std::fs::read_to_string(&path) {
                let old = seal::decode_key(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                if !previous.contains(&old) {
                    previous.push(old);
                }
                tracing::warn!(
                    path = %path.display(),
                    "values sealed under the generated development key still open with it; run `agora keys rotate-encryption` to re-seal them under encryption_key, then delete this file"
                );
            }
        }
        if config.fingerprint_key.is_some()
            && config.data_dir.join(DEV_FINGERPRINT_KEY_FILE).exists()
        {
            tracing::warn!(
                "fingerprint_key replaces the generated one: bank accounts added before match duplicates again after `agora keys rotate-encryption` recomputes their fingerprints"
            );
        }
        let sanctions = match &config.sanctions_list {
            Some(path) => {
                let list = SanctionsList::from_path(path)
                    .map_err(|e| anyhow::anyhow!("sanctions_list {}: {e}", path.display()))?;
                tracing::info!(entries = list.len(), path = %path.display(), "sanctions list loaded");
                Some(list)
            }
            None => {
                tracing::warn!(
                    "no sanctions list configured (AGORA_SANCTIONS_LIST): sellers are not screened"
                );
                None
            }
        };
        let files_dir = config.data_dir.join("files");
        std::fs::create_dir_all(&files_dir)?;
        Ok(Self {
            sealer: Sealer::new(current, &previous, fingerprint_key),
            sanctions,
            files_dir,
            document_review: config.document_review,
            max_documents_per_account: config.max_documents_per_account,
            missing_keys,
        })
    }

    /// Why live mode cannot be served, for the 503 `live_mode_unavailable` of live-mode
    /// requests and pages; `None` when the operator provided every key.
    pub fn live_mode_refusal(&self) -> Option<String> {
        if self.missing_keys.is_empty() {
            return None;
        }
        Some(format!(
            "Live mode is unavailable: this server has no operator-provided {} ({}); keys generated into the data directory serve test mode only.",
            self.missing_keys.join(" and "),
            env_names(&self.missing_keys)
        ))
    }
}

/// `AGORA_ENCRYPTION_KEY, AGORA_FINGERPRINT_KEY` for the settings named.
fn env_names(settings: &[&str]) -> String {
    settings
        .iter()
        .map(|s| format!("AGORA_{}", s.to_uppercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A development key: generated into the data dir on first start so `agora serve` works
/// with no configuration, in test mode. Production sets its keys (and keeps them out of the
/// data dir); until then live mode is refused.
fn dev_key(data_dir: &Path, file: &str) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let key = seal::generate_key();
            match write_private(&path, &key) {
                Ok(()) => key,
                // Another process starting at the same moment wrote it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::read_to_string(&path)?
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    tracing::warn!(
        path = %path.display(),
        "using a development key from the data dir (test mode only)"
    );
    seal::decode_key(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // create_new, not the rename of infra::files: two processes must never each keep a key
    // of their own.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// The facts the engine needs beyond the profile, read in the caller's transaction.
async fn evaluate(
    db: &impl ConnectionTrait,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<Evaluation, KycError> {
    let profile = Profile::from_json(account.profile.as_ref());
    let banks = external_account::Entity::find()
        .filter(external_account::Column::AccountId.eq(account.id))
        .filter(external_account::Column::Livemode.eq(account.livemode))
        .filter(external_account::Column::DeletedAt.is_null())
        .order_by_desc(external_account::Column::UpdatedAt)
        .all(db)
        .await?;
    let usable = banks.iter().any(|b| {
        b.status != agora_onboarding::kyc::entities::external_account::BankAccountStatus::Errored
    });
    let bank_error = banks
        .iter()
        .find(|b| {
            b.status
                == agora_onboarding::kyc::entities::external_account::BankAccountStatus::Errored
        })
        .map(|b| {
            b.failure_code
                .clone()
                .unwrap_or_else(|| "declined".to_owned())
        });
    let open_reviews = review::Entity::find()
        .filter(review::Column::AccountId.eq(account.id))
        .filter(
            review::Column::Status.eq(agora_onboarding::kyc::entities::review::ReviewStatus::Open),
        )
        .count(db)
        .await?;
    Ok(engine::evaluate(&Facts {
        country: &account.country,
        business_type: account.business_type.as_deref(),
        profile: &profile,
        account_email: account.email.as_deref(),
        has_usable_bank_account: usable,
        bank_account_error: bank_error,
        rejected_reason: account.rejected_reason.as_deref(),
        open_reviews: usize::try_from(open_reviews).unwrap_or(usize::MAX),
        deadline: account.requirements_deadline,
        now,
    }))
}

/// Evaluates the account again, stores the result, and records what changed since `before`
/// (the account's API object before the caller's change): `account.updated` if anything
/// differs, and one `capability.updated` per capability whose status moved.
pub async fn refresh(
    db: &impl ConnectionTrait,
    account: Account,
    before: Option<&Value>,
    origin: &Origin,
) -> Result<Account, KycError> {
    let now = crate::infra::clock::now(db, account.livemode).await?;
    refresh_at(db, account, before, origin, now).await
}

/// [`refresh`] at `now`, the mode's clock already read by the caller.
async fn refresh_at(
    db: &impl ConnectionTrait,
    account: Account,
    before: Option<&Value>,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Account, KycError> {
    let evaluation = evaluate(db, &account, now).await?;
    let state = serde_json::to_value(&evaluation).map_err(KycError::internal)?;
    let account = if account.kyc_state.as_ref() != Some(&state)
        || account.charges_enabled != evaluation.charges_enabled
        || account.payouts_enabled != evaluation.payouts_enabled
    {
        let mut model: accounts::entity::ActiveModel = account.into();
        model.kyc_state = Set(Some(state));
        model.charges_enabled = Set(evaluation.charges_enabled);
        model.payouts_enabled = Set(evaluation.payouts_enabled);
        model.updated_at = Set(now);
        crate::infra::cache::ACCOUNTS.bump(); // charges' cached sellers (infra::cache)
        model.update(db).await?
    } else {
        account
    };
    let Some(before) = before else {
        return Ok(account);
    };
    let after = AccountObject::json(&account)?;
    let previous = events::previous_attributes(before, &after);
    if previous.as_object().is_some_and(|m| !m.is_empty()) {
        events::record_at(
            db,
            NewEvent {
                livemode: account.livemode,
                account_id: Some(account.id),
                kind: EventType::AccountUpdated,
                object: after.clone(),
                previous_attributes: Some(previous),
            },
            origin,
            now,
        )
        .await?;
    }
    for capability in ["card_payments", "transfers"] {
        let old = before.pointer(&format!("/capabilities/{capability}"));
        let new = after.pointer(&format!("/capabilities/{capability}"));
        if old != new {
            events::record_at(
                db,
                NewEvent {
                    livemode: account.livemode,
                    account_id: Some(account.id),
                    kind: EventType::CapabilityUpdated,
                    object: json!({
                        "id": capability,
                        "object": "capability",
                        "account": after["id"],
                        "status": new,
                        "requirements": after["requirements"],
                    }),
                    previous_attributes: Some(json!({ "status": old })),
                },
                origin,
                now,
            )
            .await?;
        }
    }
    Ok(account)
}

/// Writes a new profile and re-evaluates (see [`refresh`]).
pub async fn save_profile(
    db: &impl ConnectionTrait,
    account: Account,
    profile: &Profile,
    before: Option<&Value>,
    origin: &Origin,
) -> Result<Account, KycError> {
    let now = crate::infra::clock::now(db, account.livemode).await?;
    let mut model: accounts::entity::ActiveModel = account.into();
    model.profile = Set(Some(profile.to_json()));
    model.updated_at = Set(now);
    crate::infra::cache::ACCOUNTS.bump(); // charges' cached sellers (infra::cache)
    let account = model.update(db).await?;
    refresh_at(db, account, before, origin, now).await
}

/// Accounts whose deadline has passed and that the worker has not yet evaluated after it:
/// evaluates each (what is due becomes past due) and records the events. Returns how many.
pub async fn apply_deadlines(
    db: &sea_orm::DatabaseConnection,
    livemode: bool,
    batch: u64,
) -> Result<usize, KycError> {
    use sea_orm::{QuerySelect, TransactionTrait};
    let now = crate::infra::clock::now(db, livemode).await?;
    let due = accounts::scoped(livemode)
        .filter(accounts::entity::Column::DeadlineApplied.eq(false))
        .filter(accounts::entity::Column::RequirementsDeadline.lte(now))
        .limit(batch)
        .all(db)
        .await?;
    let mut applied = 0;
    for candidate in due {
        let txn = db.begin().await?;
        // Read again under the row lock: another instance may have applied it meanwhile.
        let Some(account) = accounts::find_for_update(&txn, livemode, candidate.id).await? else {
            continue;
        };
        if account.deadline_applied
            || account.requirements_deadline != candidate.requirements_deadline
        {
            continue;
        }
        let before = AccountObject::json(&account)?;
        let mut model: accounts::entity::ActiveModel = account.into();
        model.deadline_applied = Set(true);
        crate::infra::cache::ACCOUNTS.bump(); // charges' cached sellers (infra::cache)
        let account = model.update(&txn).await?;
        refresh(&txn, account, Some(&before), &Origin::default()).await?;
        txn.commit().await?;
        applied += 1;
    }
    Ok(applied)
}

/// The account `id` of this mode, locked for the caller's change (a row lock on PostgreSQL;
/// SQLite has one writer), or `NotFound`.
pub async fn lock_account(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    id: uuid::Uuid,
) -> Result<Account, KycError> {
    accounts::find_for_update(txn, livemode, id)
        .await?
        .ok_or_else(|| KycError::NotFound {
            what: "account",
            id: crate::infra::wire::ids::encode(crate::infra::wire::ids::IdKind::Account, id),
        })
}

/// The account `id` of this mode, read again in the caller's transaction.
pub async fn reload(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: uuid::Uuid,
) -> Result<Account, KycError> {
    accounts::find(db, livemode, id)
        .await?
        .ok_or_else(|| KycError::NotFound {
            what: "account",
            id: crate::infra::wire::ids::encode(crate::infra::wire::ids::IdKind::Account, id),
        })
}

/// Merges the KYC parameters (refused as a whole on any bad value), screens whoever changed,
/// stores the profile and re-evaluates the account, recording what changed since `before`.
/// With no KYC parameters, only re-evaluates. The API (create, update) and the hosted pages
/// all come here.
pub async fn apply(
    txn: &sea_orm::DatabaseTransaction,
    runtime: &Runtime,
    account: Account,
    kyc: &input::KycParams,
    before: Option<&Value>,
    origin: &Origin,
) -> Result<Account, KycError> {
    if kyc.is_empty() {
        return refresh(txn, account, before, origin).await;
    }
    if account.rejected_reason.is_some() {
        return Err(KycError::State {
            code: "account_rejected",
            message: "This account was rejected and can no longer be changed.".to_owned(),
        });
    }
    let now = crate::infra::clock::now(txn, account.livemode).await?;
    let ctx = input::Context {
        runtime,
        livemode: account.livemode,
        account_id: account.id,
        country: &account.country,
        now,
    };
    let profile = Profile::from_json(account.profile.as_ref());
    let mut profile =
        input::merge(txn, &ctx, account.business_type.as_deref(), profile, kyc).await?;
    reviews::screen_and_queue(txn, runtime, &account, &mut profile, origin).await?;
    save_profile(txn, account, &profile, before, origin).await
}

/// Creates a connected account at the mode's clock, applies its KYC parameters ([`apply`])
/// and records `account.created` (the account as it ends up).
pub async fn create_account(
    txn: &sea_orm::DatabaseTransaction,
    runtime: &Runtime,
    livemode: bool,
    new: accounts::NewAccount,
    kyc: &input::KycParams,
    origin: &Origin,
) -> Result<Account, KycError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    let account = accounts::create(txn, livemode, now, new).await?;
    let account = apply(txn, runtime, account, kyc, None, origin).await?;
    events::record_at(
        txn,
        NewEvent {
            livemode,
            account_id: Some(account.id),
            kind: EventType::AccountCreated,
            object: AccountObject::json(&account)?,
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    Ok(account)
}

/// Changes the account's own fields (email, business type, currency, metadata, tags, delay)
/// at the mode's clock; returns the account before and after (no event: the caller's
/// [`apply`] records what changed), or `NotFound`.
pub async fn change_account(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    id: uuid::Uuid,
    changes: accounts::AccountChanges,
) -> Result<(Account, Account), KycError> {
    let now = crate::infra::clock::now(txn, livemode).await?;
    crate::infra::cache::ACCOUNTS.bump(); // charges' cached sellers (infra::cache)
    accounts::update(txn, livemode, id, now, changes)
        .await?
        .ok_or_else(|| KycError::NotFound {
            what: "account",
            id: crate::infra::wire::ids::encode(crate::infra::wire::ids::IdKind::Account, id),
        })
}

/// Sets (or, with None, removes) the deadline after which what is eventually due is past due;
/// the deadline pass applies it again.
pub async fn set_deadline(
    db: &impl ConnectionTrait,
    account: Account,
    deadline: Option<DateTime<Utc>>,
) -> Result<Account, KycError> {
    let mut model: accounts::entity::ActiveModel = account.into();
    model.requirements_deadline = Set(deadline);
    model.deadline_applied = Set(false);
    crate::infra::cache::ACCOUNTS.bump(); // charges' cached sellers (infra::cache)
    Ok(model.update(db).await?)
}

/// Rejects the account `id` for `reason` (checked by the caller): it takes no more charges or
/// payouts and can no longer be changed. Records what changed.
pub async fn reject(
    txn: &sea_orm::DatabaseTransaction,
    livemode: bool,
    id: uuid::Uuid,
    reason: String,
    origin: &Origin,
) -> Result<Account, KycError> {
    let account = lock_account(txn, livemode, id).await?;
    if account.rejected_reason.is_some() {
        return Err(KycError::State {
            code: "account_already_rejected",
            message: "This account is already rejected.".to_owned(),
        });
    }
    let before = AccountObject::json(&account)?;
    let mut model: accounts::entity::ActiveModel = account.into();
    model.rejected_reason = Set(Some(reason));
    crate::infra::cache::ACCOUNTS.bump(); // charges' cached sellers (infra::cache)
    let account = model.update(txn).await?;
    refresh(txn, account, Some(&before), origin).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walk finding (issue 15): setting `encryption_key` on a server that ran on the
    /// generated key made everything that key sealed unreadable (stored replays answered 500).
    #[test]
    fn the_generated_key_still_opens_what_it_sealed_after_an_operator_key_is_set() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let before = Runtime::load(&config).unwrap();
        let sealed = before.sealer.seal_str("webhook_secret", "whsec_abc");
        config.encryption_key = Some(seal::generate_key());
        config.fingerprint_key = Some(seal::generate_key());
        let after = Runtime::load(&config).unwrap();
        assert_eq!(
            after.sealer.open_str("webhook_secret", &sealed).unwrap(),
            "whsec_abc"
        );
        assert!(after.live_mode_refusal().is_none());
        // What it seals now is under the operator's key: the generated one cannot open it.
        let fresh = after.sealer.seal_str("webhook_secret", "whsec_new");
        assert!(before.sealer.open_str("webhook_secret", &fresh).is_err());
    }
}
