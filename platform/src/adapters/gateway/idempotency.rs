//! `Idempotency-Key` on POST: the first request with a key runs and its response is stored in
//! the same transaction as its effect; a repeat replays it (`Idempotent-Replayed: true`), the
//! same key with another request is refused (400), and a repeat while the first still runs gets
//! 409. Keys live 24 hours per mode and scope (the platform, or one connected account).
//!
//! A stored response is the answer to one API key: the request's fingerprint includes the key's
//! id, so another key of the mode that repeats the Idempotency-Key and body is refused (400
//! `idempotency_key_reused`), never given the response nor run again. A response that carries a
//! secret or a bearer URL (a webhook signing secret, an account link, a new API key) goes
//! through [`run_with_secret`]: it is stored sealed (AES-256-GCM under the KYC encryption key,
//! bound to its row), so the table never holds it in the clear, and it still replays byte for
//! byte to the key that made it.
//!
//! The unique index on (livemode, scope, key) is the lock: of any number of concurrent identical
//! requests exactly one inserts the in-flight row, on SQLite and on PostgreSQL alike, without
//! relying on row locks. Because the stored response commits together with the effect, a crash
//! leaves either both or neither; an in-flight row abandoned by a crash is taken over after
//! [`LOCK_TIMEOUT`].

pub mod entity;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use agora_onboarding::seal::Sealer;
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use futures_util::FutureExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, TransactionTrait,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::Auth;
use super::batch::{Answer, Effect, Planned, Work};
use super::context::RequestId;
use super::error::{ApiError, ErrorType};
use super::input::JsonBody;
use crate::adapters::gateway::state::AppState;
use crate::infra::events::Origin;

pub const HEADER: &str = "idempotency-key";
pub use super::request_id::REPLAYED_HEADER;
/// How long a key and its response are kept.
pub const RETENTION: Duration = Duration::hours(24);
/// An in-flight request older than this is presumed dead (its process crashed) and may be
/// taken over. Longer than any request may run (see `request_timeout_ms`).
pub const LOCK_TIMEOUT: Duration = Duration::seconds(90);
pub const MAX_KEY_LEN: usize = 255;

const STATE_IN_FLIGHT: &str = "in_flight";
const STATE_DONE: &str = "done";

/// Where a request came from, for its events: request id and idempotency key.
pub fn origin(req: &HttpRequest) -> Origin {
    Origin {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        idempotency_key: req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// Runs a POST's effect in one transaction, idempotently when the caller sent a key.
/// `effect` returns the response body (status 200); any error rolls the whole effect back.
pub async fn run<F>(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    body: &JsonBody,
    effect: F,
) -> Result<HttpResponse, ApiError>
where
    F: for<'t> AsyncFnOnce(&'t DatabaseTransaction) -> Result<Value, ApiError>,
{
    run_stored(state, auth, req, body, Storage::Plain, async |txn| {
        effect(txn).await.map(|value| (StatusCode::OK, value))
    })
    .await
}

/// [`run`] for a response that carries a secret or a bearer URL (a webhook endpoint's signing
/// secret, an account link's URL, a new API key): the response kept for replay is sealed, so
/// the idempotency table never holds the secret in the clear. It is still idempotent: a
/// repeat by the same API key with the same body runs nothing and gets the first response
/// back byte for byte (the secret the client may have lost with the first answer); any other
/// API key is refused, as for every stored response.
pub async fn run_with_secret<F>(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    body: &JsonBody,
    effect: F,
) -> Result<HttpResponse, ApiError>
where
    F: for<'t> AsyncFnOnce(&'t DatabaseTransaction) -> Result<Value, ApiError>,
{
    run_stored(state, auth, req, body, Storage::Sealed, async |txn| {
        effect(txn).await.map(|value| (StatusCode::OK, value))
    })
    .await
}

/// Like [`run`], for effects that commit and still answer with another status: a declined
/// card records its failed charge and answers 402.
pub async fn run_with_status<F>(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    body: &JsonBody,
    effect: F,
) -> Result<HttpResponse, ApiError>
where
    F: for<'t> AsyncFnOnce(&'t DatabaseTransaction) -> Result<(StatusCode, Value), ApiError>,
{
    run_stored(state, auth, req, body, Storage::Plain, effect).await
}

/// How a successful response is kept under its key for replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    Plain,
    /// Sealed: the response carries a secret (see [`run_with_secret`]).
    Sealed,
}

async fn run_stored<F>(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    body: &JsonBody,
    storage: Storage,
    effect: F,
) -> Result<HttpResponse, ApiError>
where
    F: for<'t> AsyncFnOnce(&'t DatabaseTransaction) -> Result<(StatusCode, Value), ApiError>,
{
    let db = &state.db;
    let keyed = keyed(req, auth, body)?;
    let owner = match &keyed {
        None => None,
        Some(keyed) => match claim(db, keyed).await? {
            Claim::Owner(owner) => Some((owner, keyed)),
            Claim::Replay { status, body } => {
                let body = opened(Some(&state.kyc.sealer), keyed, body)?;
                return Ok(replay(status, body));
            }
        },
    };

    let txn = db.begin().await?;
    match effect(&txn).await {
        Ok((status, value)) => {
            let body = serde_json::to_string(&value).map_err(ApiError::internal)?;
            if let Some((owner, keyed)) = &owner {
                let stored = match storage {
                    Storage::Plain => body.clone(),
                    Storage::Sealed => sealed(&state.kyc.sealer, keyed, &body),
                };
                if !complete(&txn, owner, status, &stored).await? {
                    txn.rollback().await?;
                    return Err(in_progress());
                }
            }
            txn.commit().await?;
            // A change to a seller or the test clock bumped its cache epoch before COMMIT; a
            // charge planned in between may have cached the old row under the new epoch.
            // Bumping again now (any committed POST: rare next to charges) closes that gap.
            crate::infra::cache::ACCOUNTS.bump();
            crate::infra::cache::CLOCK.bump();
            Ok(HttpResponse::build(status)
                .content_type("application/json")
                .body(body))
        }
        Err(error) => {
            txn.rollback().await?;
            // An error's body carries no secret: stored as it is.
            if let Some((owner, _)) = &owner {
                if error.status.is_server_error() {
                    // Nothing happened and the fault is ours: let a retry with the key run again.
                    release(db, owner).await?;
                } else {
                    // A client error is the answer to this request: replay it as such.
                    let request_id = super::context::current_request_id();
                    let body = error.body_json(request_id.as_deref());
                    complete(db, owner, error.status, &body).await?;
                }
            }
            Err(error)
        }
    }
}

/// A planned charge (see `payments::plan_charge`) through the charge writer's group commit.
/// With `check_key_first` (a processor that reaches outside) its key is checked before
/// anything else (a replay answers at once, a key in use by another body is refused, a key
/// in flight gets 409), so the processor is never asked twice for one key; without, the
/// batch's claim decides the same (a replay then answers after its batch); `plan` then runs on the handler's own connection (reads only) and the
/// writer writes the planned rows with the rest of its batch, claiming the key as done with
/// the response in the same transaction. A refusal while planning is answered like any
/// other client error: stored under the key for replay.
pub async fn run_planned<P>(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    body: &JsonBody,
    check_key_first: bool,
    plan: P,
) -> Result<HttpResponse, ApiError>
where
    P: AsyncFnOnce() -> Result<Planned, ApiError>,
{
    let keyed = keyed(req, auth, body)?;
    if let Some(keyed) = keyed.as_ref().filter(|_| check_key_first) {
        if let Some(Claim::Replay { status, body }) = peek(&state.db, keyed).await? {
            return Ok(replay(
                status,
                opened(Some(&state.kyc.sealer), keyed, body)?,
            ));
        }
    }
    let planned = match plan().await {
        Ok(planned) => planned,
        Err(error) => {
            return run_with_status(state, auth, req, body, async |_| Err(error)).await;
        }
    };
    let committed = CommittedCharge::of(planned.plan.row());
    let answer = if planned.plan.needs_own_savepoint() {
        // More than rows to write (a dispute at once): a savepoint of its own.
        state
            .charge_writer
            .submit(nested(keyed, planned.effect()))
            .await?
    } else {
        let answer = Answer {
            status: planned.status,
            body: serde_json::to_string(&planned.body).map_err(ApiError::internal)?,
            replayed: false,
        };
        let claim = keyed.as_ref().map(|k| done_row(k, &answer));
        let fallback = nested(keyed, planned.clone().effect());
        state
            .charge_writer
            .submit_planned(claim, planned, answer, fallback)
            .await?
    };
    // The writer answers after COMMIT: this charge is durable (unless it was a replay of an
    // earlier one, counted then).
    if !answer.replayed {
        committed.count();
    }
    let mut response = HttpResponse::build(answer.status);
    response.content_type("application/json");
    if answer.replayed {
        response.insert_header((REPLAYED_HEADER, "true"));
    }
    Ok(response.body(answer.body))
}

/// What the charge metrics need of a charge, taken before its plan goes to the writer.
struct CommittedCharge {
    livemode: bool,
    currency: String,
    amount: i64,
    status: &'static str,
}

impl CommittedCharge {
    fn of(charge: &crate::domain::payments::Charge) -> Self {
        Self {
            livemode: charge.livemode,
            currency: charge.currency.clone(),
            amount: charge.amount,
            status: charge.status.as_str(),
        }
    }

    fn count(self) {
        use crate::infra::metrics::{mode_label, names};
        let mode = mode_label(self.livemode);
        metrics::counter!(
            names::CHARGES,
            "outcome" => self.status,
            "currency" => self.currency.clone(),
            "mode" => mode,
        )
        .increment(1);
        metrics::counter!(
            names::CHARGE_AMOUNT,
            "outcome" => self.status,
            "currency" => self.currency,
            "mode" => mode,
        )
        .increment(u64::try_from(self.amount).unwrap_or(0));
    }
}

/// What a key's row says before a planned request runs: `Some(Replay)` for a stored answer
/// to this very request; an error for another request's key (400) or one in flight (409);
/// `None` when the key is free (or its row expired or was abandoned: the claim in the batch
/// then settles it, as [`claim`] does).
async fn peek(db: &impl ConnectionTrait, keyed: &Keyed) -> Result<Option<Claim>, ApiError> {
    let now = Utc::now().trunc_subsecs(6);
    let Some(existing) = entity::Entity::find()
        .filter(entity::Column::Livemode.eq(keyed.livemode))
        .filter(entity::Column::Scope.eq(keyed.scope.clone()))
        .filter(entity::Column::Key.eq(keyed.key.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if existing.expires_at <= now {
        return Ok(None);
    }
    if existing.request_hash != keyed.fingerprint {
        return Err(reused(&keyed.key));
    }
    if existing.state == STATE_DONE {
        return Ok(Some(Claim::Replay {
            status: existing.response_status.map_or(200, |s| s as u16),
            body: existing.response_body.unwrap_or_default(),
        }));
    }
    if now - existing.locked_at < LOCK_TIMEOUT {
        return Err(in_progress());
    }
    Ok(None)
}

/// A planned request's key row as its batch claims it: already done, with its answer (both
/// commit with the effect, or neither does).
fn done_row(keyed: &Keyed, answer: &Answer) -> entity::Model {
    let now = Utc::now().trunc_subsecs(6);
    entity::Model {
        id: Uuid::now_v7(),
        livemode: keyed.livemode,
        scope: keyed.scope.clone(),
        key: keyed.key.clone(),
        request_hash: keyed.fingerprint.clone(),
        state: STATE_DONE.to_owned(),
        response_status: Some(answer.status.as_u16() as i16),
        response_body: Some(answer.body.clone()),
        locked_at: now,
        created_at: now,
        expires_at: now + RETENTION,
    }
}

/// [`run_nested`] for a request whose key the batch could not claim at once, or for any
/// request when a batch is rerun one by one: `work` is its effect.
fn nested(keyed: Option<Keyed>, effect: Effect) -> Work {
    Box::new(move |txn| Box::pin(run_nested(txn, keyed, effect)))
}

/// One batched request inside the writer's transaction `txn`, with exactly the semantics of
/// [`run_with_status`]: replay, 400 on another body, 409 while another holds the key; a
/// successful effect (a declined card's 402 too) and its stored response are released
/// together; an error rolls back this request's savepoint only, and a client error is then
/// stored as the key's answer (in a savepoint of its own) while a server error leaves the key
/// free for a retry. Nothing here is durable until the writer commits the batch.
async fn run_nested(
    txn: &DatabaseTransaction,
    keyed: Option<Keyed>,
    effect: Effect,
) -> Result<Answer, ApiError> {
    let savepoint = txn.begin().await?;
    let owner = match &keyed {
        None => None,
        Some(keyed) => match claim(&savepoint, keyed).await {
            Ok(Claim::Owner(owner)) => Some(owner),
            Ok(Claim::Replay { status, body }) => {
                savepoint.commit().await?;
                return Ok(Answer {
                    status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                    // Charges carry no secret; a sealed body cannot be under their path.
                    body: opened(None, keyed, body)?,
                    replayed: true,
                });
            }
            Err(error) => {
                savepoint.rollback().await?;
                return Err(error);
            }
        },
    };
    // The domain asserts its own invariants (a failed one panics): that must fail this
    // request, not the writer and every other request of its batch.
    let outcome = AssertUnwindSafe(effect(&savepoint))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(ApiError::internal("a batched request panicked")));
    let error = match outcome {
        Ok((status, value)) => match serde_json::to_string(&value) {
            Ok(body) => {
                let ours = match &owner {
                    Some(owner) => complete(&savepoint, owner, status, &body).await?,
                    None => true,
                };
                if ours {
                    savepoint.commit().await?;
                    return Ok(Answer {
                        status,
                        body,
                        replayed: false,
                    });
                }
                in_progress()
            }
            Err(e) => ApiError::internal(e),
        },
        Err(error) => error,
    };
    savepoint.rollback().await?;
    if let Some(keyed) = keyed.filter(|_| !error.status.is_server_error()) {
        let keyed = &keyed;
        // A client error is the answer to this request: replay it as such. Its claim went
        // with the rolled-back savepoint, so claim again (it is ours: nothing else ran on
        // this transaction since) and store the answer.
        let savepoint = txn.begin().await?;
        let request_id = super::context::current_request_id();
        let body = error.body_json(request_id.as_deref());
        match claim(&savepoint, keyed).await {
            Ok(Claim::Owner(owner))
                if complete(&savepoint, &owner, error.status, &body).await? =>
            {
                savepoint.commit().await?
            }
            _ => savepoint.rollback().await?,
        }
    }
    Err(error)
}

/// The request's Idempotency-Key with what a claim checks it against, if it sent one.
fn keyed(req: &HttpRequest, auth: &Auth, body: &JsonBody) -> Result<Option<Keyed>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    Ok(Some(Keyed {
        livemode: auth.livemode,
        scope: scope(auth),
        key: parse_key(value.to_str().ok())?,
        fingerprint: fingerprint(req, auth, body),
    }))
}

fn parse_key(value: Option<&str>) -> Result<String, ApiError> {
    match value {
        Some(v) if !v.is_empty() && v.len() <= MAX_KEY_LEN && v.bytes().all(|b| (0x21..=0x7e).contains(&b)) => {
            Ok(v.to_owned())
        }
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorType::IdempotencyError,
            "idempotency_key_invalid",
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID is a good choice)."),
        )
        .with_param("Idempotency-Key")),
    }
}

/// What makes two requests "the same": API key, method, path, acting account and the exact
/// body. The key is part of it so that a stored response (which may carry a secret) is only
/// ever replayed to the key that made it: another key of the mode repeating the
/// Idempotency-Key gets 400, and the request is not run twice (a retry after a key rotation
/// must not charge twice either).
fn fingerprint(req: &HttpRequest, auth: &Auth, body: &JsonBody) -> String {
    let mut hasher = Sha256::new();
    hasher.update(auth.key_id.as_bytes());
    hasher.update(b"\n");
    hasher.update(req.method().as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(req.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(scope(auth).as_bytes());
    hasher.update(b"\n");
    hasher.update(&body.bytes);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The acting account's UUID (not its public id: stored keys keep their scope).
fn scope(auth: &Auth) -> String {
    auth.account
        .map(|a| a.uuid().to_string())
        .unwrap_or_default()
}

struct Owner {
    id: Uuid,
    locked_at: DateTime<Utc>,
}

enum Claim {
    Owner(Owner),
    Replay { status: u16, body: String },
}

/// A request's key with what it is checked against: the claim's inputs.
#[derive(Debug, Clone)]
struct Keyed {
    livemode: bool,
    scope: String,
    key: String,
    fingerprint: String,
}

async fn claim(db: &impl ConnectionTrait, keyed: &Keyed) -> Result<Claim, ApiError> {
    let Keyed {
        livemode,
        scope,
        key,
        fingerprint,
    } = keyed;
    let livemode = *livemode;
    // Two rounds: the second follows the removal of an expired or released row.
    for _ in 0..2 {
        // Microseconds: what PostgreSQL keeps, so the value compares equal when read back.
        let now = Utc::now().trunc_subsecs(6);
        let id = Uuid::now_v7();
        let row = entity::ActiveModel {
            id: Set(id),
            livemode: Set(livemode),
            scope: Set(scope.clone()),
            key: Set(key.clone()),
            request_hash: Set(fingerprint.clone()),
            state: Set(STATE_IN_FLIGHT.to_owned()),
            response_status: Set(None),
            response_body: Set(None),
            locked_at: Set(now),
            created_at: Set(now),
            expires_at: Set(now + RETENTION),
        };
        let inserted = entity::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    entity::Column::Livemode,
                    entity::Column::Scope,
                    entity::Column::Key,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        if inserted == 1 {
            return Ok(Claim::Owner(Owner { id, locked_at: now }));
        }
        let Some(existing) = entity::Entity::find()
            .filter(entity::Column::Livemode.eq(livemode))
            .filter(entity::Column::Scope.eq(scope.clone()))
            .filter(entity::Column::Key.eq(key.as_str()))
            .one(db)
            .await?
        else {
            continue;
        };
        if existing.expires_at <= now {
            entity::Entity::delete_many()
                .filter(entity::Column::Id.eq(existing.id))
                .filter(entity::Column::ExpiresAt.lte(now))
                .exec(db)
                .await?;
            continue;
        }
        if existing.request_hash != *fingerprint {
            return Err(reused(key));
        }
        if existing.state == STATE_DONE {
            return Ok(Claim::Replay {
                status: existing.response_status.map_or(200, |s| s as u16),
                body: existing.response_body.unwrap_or_default(),
            });
        }
        if now - existing.locked_at < LOCK_TIMEOUT {
            return Err(in_progress());
        }
        // Abandoned by a crashed process: take it over, unless another retry just did.
        let taken = entity::Entity::update_many()
            .col_expr(
                entity::Column::LockedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(entity::Column::Id.eq(existing.id))
            .filter(entity::Column::State.eq(STATE_IN_FLIGHT))
            .filter(entity::Column::LockedAt.eq(existing.locked_at))
            .exec(db)
            .await?;
        if taken.rows_affected == 1 {
            return Ok(Claim::Owner(Owner {
                id: existing.id,
                locked_at: now,
            }));
        }
        return Err(in_progress());
    }
    Err(in_progress())
}

/// Stores the response; `false` if the row is no longer ours (taken over after a stall).
async fn complete(
    db: &impl ConnectionTrait,
    owner: &Owner,
    status: StatusCode,
    body: &str,
) -> Result<bool, DbErr> {
    let result = entity::Entity::update_many()
        .col_expr(
            entity::Column::State,
            sea_orm::sea_query::Expr::value(STATE_DONE),
        )
        .col_expr(
            entity::Column::ResponseStatus,
            sea_orm::sea_query::Expr::value(status.as_u16() as i16),
        )
        .col_expr(
            entity::Column::ResponseBody,
            sea_orm::sea_query::Expr::value(body),
        )
        .filter(entity::Column::Id.eq(owner.id))
        .filter(entity::Column::LockedAt.eq(owner.locked_at))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

async fn release(db: &impl ConnectionTrait, owner: &Owner) -> Result<(), DbErr> {
    entity::Entity::delete_many()
        .filter(entity::Column::Id.eq(owner.id))
        .filter(entity::Column::LockedAt.eq(owner.locked_at))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a stored response that is sealed; a plain one is JSON and starts with `{`.
const SEALED_PREFIX: &str = "sealed:";

/// What a sealed response is bound to (AES-GCM associated data): its row's mode, scope and
/// key, and the request's fingerprint (so its API key), so a sealed body copied to another
/// row does not open.
fn associated_data(keyed: &Keyed) -> String {
    format!(
        "idempotency_response\n{}\n{}\n{}\n{}",
        keyed.livemode, keyed.scope, keyed.key, keyed.fingerprint
    )
}

fn sealed(sealer: &Sealer, keyed: &Keyed, body: &str) -> String {
    format!(
        "{SEALED_PREFIX}{}",
        sealer.seal_str(&associated_data(keyed), body)
    )
}

/// A stored response as it is replayed: a sealed one opened.
fn opened(sealer: Option<&Sealer>, keyed: &Keyed, stored: String) -> Result<String, ApiError> {
    let Some(sealed) = stored.strip_prefix(SEALED_PREFIX) else {
        return Ok(stored);
    };
    let sealer = sealer.ok_or_else(|| ApiError::internal("a sealed response without a sealer"))?;
    // Fails only if the key that sealed it was removed from the configuration within the
    // 24 hours the response is kept.
    sealer
        .open_str(&associated_data(keyed), sealed)
        .map_err(|e| ApiError::internal(format!("a stored response does not open: {e}")))
}

fn replay(status: u16, body: String) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((REPLAYED_HEADER, "true"))
        .body(body)
}

fn reused(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorType::IdempotencyError,
        "idempotency_key_reused",
        format!("Keys for idempotent requests can only be used with the same parameters, and by the same API key, as when they were first used. Use a key other than '{key}' for a different request or another API key."),
    )
    .with_param("Idempotency-Key")
}

fn in_progress() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorType::IdempotencyError,
        "idempotency_request_in_progress",
        "A request with this Idempotency-Key is still being processed. Retry after it finishes.",
    )
    .with_param("Idempotency-Key")
}

/// Deletes expired keys, at most `batch` per statement so the one SQLite writer is never held
/// for long. Returns how many went.
pub async fn expire(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<u64, DbErr> {
    crate::infra::db::delete_in_batches::<entity::Entity>(
        db,
        entity::Column::Id,
        entity::Column::ExpiresAt.lt(now),
        batch,
    )
    .await
}
