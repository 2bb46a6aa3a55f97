//! A seller's bank accounts (external accounts): checked (IBAN, ABA, sort code), sealed at
//! once and shown only as `last4`; one default per currency. Every write locks the account
//! row first, so the duplicate and default checks cannot race, records its
//! `account.external_account.*` event and, when the set of usable accounts may change,
//! re-evaluates the account. The API and the hosted onboarding pages both come here.

use crate::infra::events::EventType;
use agora_onboarding::accounts::{self, Account, CountryCode};
use agora_onboarding::kyc::entities::external_account as bank;
use agora_onboarding::seal::{self, Sealer};
use agora_onboarding::verify::{self, Failure};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::view::AccountObject;
use super::KycError;
use crate::infra::clock;
use crate::infra::events::{self, NewEvent, Origin};
use crate::infra::wire::ids::{self, IdKind};

pub use bank::Model as BankAccount;

/// Most bank accounts one seller may keep.
pub const MAX_EXTERNAL_ACCOUNTS: usize = 20;

/// Longest account holder name.
const MAX_HOLDER_NAME: usize = 140;

/// A bank account to add, as the caller gave it.
#[derive(Debug, Clone, Default)]
pub struct NewBankAccount {
    pub country: String,
    pub currency: String,
    pub iban: Option<String>,
    pub routing_number: Option<String>,
    pub sort_code: Option<String>,
    pub account_number: Option<String>,
    pub account_holder_name: Option<String>,
    pub account_holder_type: Option<String>,
    pub default_for_currency: Option<bool>,
}

/// A change to a bank account.
#[derive(Debug, Clone, Default)]
pub struct BankUpdate {
    pub default_for_currency: Option<bool>,
    pub account_holder_name: Option<String>,
}

/// The API shape of a bank account (`bank_account`), also what its events carry.
pub fn object(b: &BankAccount) -> Value {
    json!({
        "id": ids::encode(IdKind::ExternalAccount, b.id),
        "object": "bank_account",
        "account": ids::encode(IdKind::Account, b.account_id),
        "country": b.country,
        "currency": b.currency,
        "routing_number": b.routing_number,
        // Empty for a personkonto (see `shown_last4`): nothing of it is shown.
        "last4": (!b.last4.is_empty()).then_some(&b.last4),
        "fingerprint": b.fingerprint,
        "account_holder_name": b.account_holder_name,
        "account_holder_type": b.account_holder_type,
        "default_for_currency": b.default_for_currency,
        "status": b.status,
        "failure_code": b.failure_code,
        "created": crate::infra::wire::timestamp(b.created_at),
    })
}

/// The last four to keep and show of a bank account number; none for a Swedish personkonto,
/// whose number (Nordea's, clearing 3300, in its IBAN too) is the holder's personnummer: with
/// the date of birth shown, its end would rebuild it. Told apart by its last 10 digits being a
/// valid personnummer (a real date and its Luhn digit): about one ordinary account number in
/// 250 looks like one and shows nothing either, which costs nothing.
fn shown_last4(checked: &Checked, country: &str, today: chrono::NaiveDate) -> String {
    let number = &checked.number;
    let tail = number.get(number.len().saturating_sub(10)..).unwrap_or("");
    let personkonto = country == "SE"
        && checked.kind == "iban"
        && tail.len() == 10
        && tail.bytes().all(|b| b.is_ascii_digit())
        && verify::personnummer(tail, today).is_ok();
    if personkonto {
        String::new()
    } else {
        seal::last4(number)
    }
}

fn fail(param: &str, failure: Failure) -> KycError {
    KycError::invalid(param, failure.code, failure.reason)
}

fn required<'a>(param: &str, value: &'a Option<String>, why: &str) -> Result<&'a str, KycError> {
    value.as_deref().ok_or_else(|| {
        KycError::invalid(
            param,
            "parameter_missing",
            format!("{param} is required {why}"),
        )
    })
}

fn check_text(param: &str, value: &Option<String>, max: usize) -> Result<(), KycError> {
    match value {
        Some(v) if v.chars().count() > max => Err(KycError::invalid(
            param,
            "parameter_too_long",
            format!("{param} can be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

/// What to store of a checked bank account: kind, routing number, the number to seal.
struct Checked {
    kind: &'static str,
    routing: Option<String>,
    number: String,
}

fn check(input: &NewBankAccount, country: &str) -> Result<Checked, KycError> {
    if let Some(iban) = &input.iban {
        let iban = verify::iban(iban).map_err(|e| fail("iban", e))?;
        if iban.country() != country {
            return Err(KycError::invalid(
                "iban",
                "invalid_iban_country",
                format!(
                    "the IBAN is from {}, not {country}; give the bank's country",
                    iban.country()
                ),
            ));
        }
        return Ok(Checked {
            kind: "iban",
            routing: None,
            number: iban.as_str().to_owned(),
        });
    }
    match country {
        "US" => {
            let routing = required("routing_number", &input.routing_number, "for US banks")?;
            let number = required("account_number", &input.account_number, "for US banks")?;
            Ok(Checked {
                kind: "us_aba",
                routing: Some(
                    verify::aba_routing_number(routing).map_err(|e| fail("routing_number", e))?,
                ),
                number: verify::us_account_number(number).map_err(|e| fail("account_number", e))?,
            })
        }
        "GB" => {
            let sort = required(
                "sort_code",
                &input.sort_code,
                "for UK banks without an IBAN",
            )?;
            let number = required(
                "account_number",
                &input.account_number,
                "for UK banks without an IBAN",
            )?;
            Ok(Checked {
                kind: "gb_sort_code",
                routing: Some(verify::sort_code(sort).map_err(|e| fail("sort_code", e))?),
                number: verify::gb_account_number(number).map_err(|e| fail("account_number", e))?,
            })
        }
        _ => Err(KycError::invalid(
            "iban",
            "parameter_missing",
            format!("iban is required for banks in {country}"),
        )),
    }
}

/// The account's bank accounts that are not deleted, newest first.
/// What a bank account number is sealed for, and its fingerprint's purpose.
pub const PURPOSE: &str = "bank_account";

/// What a bank account's fingerprint is taken of: country, routing code and number, as
/// checked (normalised), so the same account given twice has one fingerprint.
pub fn fingerprint_input(country: &str, routing: Option<&str>, number: &str) -> String {
    format!("{country}|{}|{number}", routing.unwrap_or(""))
}

pub async fn live_banks(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: Uuid,
) -> Result<Vec<BankAccount>, sea_orm::DbErr> {
    bank::Entity::find()
        .filter(bank::Column::AccountId.eq(account))
        .filter(bank::Column::Livemode.eq(livemode))
        .filter(bank::Column::DeletedAt.is_null())
        .order_by_desc(bank::Column::Id)
        .all(db)
        .await
}

fn account_missing(id: Uuid) -> KycError {
    KycError::NotFound {
        what: "account",
        id: ids::encode(IdKind::Account, id),
    }
}

fn bank_missing(id: Uuid) -> KycError {
    KycError::NotFound {
        what: "external_account",
        id: ids::encode(IdKind::ExternalAccount, id),
    }
}

/// The bank accounts of `account` (newest first; at most [`MAX_EXTERNAL_ACCOUNTS`]), or
/// `NotFound` when the account is not in this mode.
pub async fn list(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: Uuid,
) -> Result<Vec<BankAccount>, KycError> {
    accounts::find(db, livemode, account)
        .await?
        .ok_or_else(|| account_missing(account))?;
    Ok(live_banks(db, livemode, account).await?)
}

/// One bank account of `account` that is not deleted.
pub async fn find(
    db: &impl ConnectionTrait,
    livemode: bool,
    account: Uuid,
    id: Uuid,
) -> Result<Option<BankAccount>, sea_orm::DbErr> {
    bank::Entity::find_by_id(id)
        .filter(bank::Column::AccountId.eq(account))
        .filter(bank::Column::Livemode.eq(livemode))
        .filter(bank::Column::DeletedAt.is_null())
        .one(db)
        .await
}

/// Makes `chosen` the only default in its currency (at `now`, the mode's clock).
async fn make_default(
    db: &impl ConnectionTrait,
    banks: &[BankAccount],
    chosen: &BankAccount,
    now: DateTime<Utc>,
) -> Result<(), KycError> {
    for b in banks
        .iter()
        .filter(|b| b.currency == chosen.currency && b.id != chosen.id && b.default_for_currency)
    {
        let mut model: bank::ActiveModel = b.clone().into();
        model.default_for_currency = Set(false);
        model.updated_at = Set(now);
        model.update(db).await?;
    }
    Ok(())
}

async fn record(
    db: &impl ConnectionTrait,
    kind: EventType,
    b: &BankAccount,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<(), KycError> {
    events::record_at(
        db,
        NewEvent {
            livemode: b.livemode,
            account_id: Some(b.account_id),
            kind,
            object: object(b),
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    Ok(())
}

async fn lock_account(
    txn: &DatabaseTransaction,
    livemode: bool,
    id: Uuid,
) -> Result<Account, KycError> {
    // The account row lock serialises this seller's bank changes: the duplicate and default
    // checks cannot race.
    accounts::find_for_update(txn, livemode, id)
        .await?
        .ok_or_else(|| account_missing(id))
}

/// Adds a bank account to the account `account` of this mode (`NotFound` when there is
/// none): locks it, then as [`add_to`].
pub async fn add(
    txn: &DatabaseTransaction,
    sealer: &Sealer,
    livemode: bool,
    account: Uuid,
    input: &NewBankAccount,
    origin: &Origin,
) -> Result<BankAccount, KycError> {
    let account = lock_account(txn, livemode, account).await?;
    add_to(txn, sealer, account, input, origin).await
}

/// Checks and adds a bank account to `account` (locked by the caller: the duplicate and
/// default checks below cannot race), records its event and re-evaluates the account.
pub async fn add_to(
    txn: &DatabaseTransaction,
    sealer: &Sealer,
    account: Account,
    input: &NewBankAccount,
    origin: &Origin,
) -> Result<BankAccount, KycError> {
    if account.rejected_reason.is_some() {
        return Err(KycError::State {
            code: "account_rejected",
            message: "This account was rejected and can no longer be changed.".to_owned(),
        });
    }
    let id = account.id;
    let livemode = account.livemode;
    let country = CountryCode::parse(&input.country)
        .map_err(|e| KycError::invalid("country", e.code, e.message))?;
    let currency = agora_ledger::Currency::parse(&input.currency)
        .map_err(|e| KycError::invalid("currency", "currency_invalid", e.to_string()))?;
    let checked = check(input, country.as_str())?;
    check_text(
        "account_holder_name",
        &input.account_holder_name,
        MAX_HOLDER_NAME,
    )?;
    if let Some(t) = &input.account_holder_type {
        if t != "individual" && t != "company" {
            return Err(KycError::invalid(
                "account_holder_type",
                "parameter_invalid",
                "account_holder_type must be individual or company",
            ));
        }
    }
    let identity = fingerprint_input(
        country.as_str(),
        checked.routing.as_deref(),
        &checked.number,
    );
    let fingerprint = sealer.fingerprint(PURPOSE, &identity);
    // Stored fingerprints from before the fingerprint key count too, until the key rotation
    // recomputes them.
    let matching = sealer.fingerprints_to_match(PURPOSE, &identity);
    let banks = live_banks(txn, livemode, id).await?;
    if banks.iter().any(|b| matching.contains(&b.fingerprint)) {
        // Name the field the caller gave the number in.
        let param = if input.iban.is_some() {
            "iban"
        } else {
            "account_number"
        };
        return Err(KycError::invalid(
            param,
            "bank_account_exists",
            "this bank account is already on the account",
        ));
    }
    if banks.len() >= MAX_EXTERNAL_ACCOUNTS {
        return Err(KycError::State {
            code: "too_many_external_accounts",
            message: format!("an account can have at most {MAX_EXTERNAL_ACCOUNTS} bank accounts"),
        });
    }
    let code = currency.api_code();
    // An errored bank account (a payout to it failed) does not keep the default: the seller's
    // replacement takes over, so the next payout goes to the working one.
    let first_in_currency = !banks.iter().any(|b| {
        b.currency == code
            && b.default_for_currency
            && b.status
                != agora_onboarding::kyc::entities::external_account::BankAccountStatus::Errored
    });
    let now = clock::now(txn, livemode).await?;
    let before = AccountObject::json(&account)?;
    let created = bank::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(livemode),
        account_id: Set(id),
        country: Set(country.as_str().to_owned()),
        currency: Set(code),
        kind: Set(checked.kind.to_owned()),
        routing_number: Set(checked.routing.clone()),
        account_number_sealed: Set(sealer.seal_str(PURPOSE, &checked.number)),
        last4: Set(shown_last4(&checked, country.as_str(), now.date_naive())),
        fingerprint: Set(fingerprint),
        account_holder_name: Set(input
            .account_holder_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)),
        account_holder_type: Set(input.account_holder_type.clone()),
        default_for_currency: Set(first_in_currency || input.default_for_currency.unwrap_or(false)),
        status: Set(agora_onboarding::kyc::entities::external_account::BankAccountStatus::New),
        failure_code: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(txn)
    .await?;
    if created.default_for_currency {
        make_default(txn, &banks, &created, now).await?;
    }
    record(
        txn,
        EventType::AccountExternalAccountCreated,
        &created,
        origin,
        now,
    )
    .await?;
    super::refresh(txn, account, Some(&before), origin).await?;
    Ok(created)
}

/// Changes a bank account's holder name or makes it its currency's default (never takes the
/// default away: another account must take it), and records
/// `account.external_account.updated`.
pub async fn update(
    txn: &DatabaseTransaction,
    livemode: bool,
    account: Uuid,
    id: Uuid,
    input: &BankUpdate,
    origin: &Origin,
) -> Result<BankAccount, KycError> {
    lock_account(txn, livemode, account).await?;
    let b = find(txn, livemode, account, id)
        .await?
        .ok_or_else(|| bank_missing(id))?;
    if input.default_for_currency == Some(false) && b.default_for_currency {
        return Err(KycError::invalid(
            "default_for_currency",
            "parameter_invalid",
            "make another bank account the default for this currency instead",
        ));
    }
    check_text(
        "account_holder_name",
        &input.account_holder_name,
        MAX_HOLDER_NAME,
    )?;
    let mut model: bank::ActiveModel = b.clone().into();
    if let Some(name) = &input.account_holder_name {
        model.account_holder_name = Set(Some(name.trim().to_owned()));
    }
    if input.default_for_currency == Some(true) {
        model.default_for_currency = Set(true);
    }
    let now = clock::now(txn, livemode).await?;
    model.updated_at = Set(now);
    let updated = model.update(txn).await?;
    if updated.default_for_currency && !b.default_for_currency {
        let banks = live_banks(txn, livemode, account).await?;
        make_default(txn, &banks, &updated, now).await?;
    }
    record(
        txn,
        EventType::AccountExternalAccountUpdated,
        &updated,
        origin,
        now,
    )
    .await?;
    Ok(updated)
}

/// Deletes a bank account (kept, marked deleted); the newest other one in its currency takes
/// over as default. Records `account.external_account.deleted` and re-evaluates the account.
pub async fn delete(
    txn: &DatabaseTransaction,
    livemode: bool,
    account: Uuid,
    id: Uuid,
    origin: &Origin,
) -> Result<BankAccount, KycError> {
    let locked = lock_account(txn, livemode, account).await?;
    let b = find(txn, livemode, account, id)
        .await?
        .ok_or_else(|| bank_missing(id))?;
    let before = AccountObject::json(&locked)?;
    let now = clock::now(txn, livemode).await?;
    let mut model: bank::ActiveModel = b.clone().into();
    model.deleted_at = Set(Some(now));
    model.default_for_currency = Set(false);
    let deleted = model.update(txn).await?;
    if b.default_for_currency {
        let banks = live_banks(txn, livemode, account).await?;
        if let Some(next) = banks.iter().find(|o| o.currency == b.currency) {
            let mut model: bank::ActiveModel = next.clone().into();
            model.default_for_currency = Set(true);
            model.updated_at = Set(now);
            model.update(txn).await?;
        }
    }
    record(
        txn,
        EventType::AccountExternalAccountDeleted,
        &deleted,
        origin,
        now,
    )
    .await?;
    super::refresh(txn, locked, Some(&before), origin).await?;
    Ok(deleted)
}
