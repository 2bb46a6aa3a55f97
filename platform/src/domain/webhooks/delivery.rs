//! The delivery worker's step: claim due deliveries, POST each signed event, record the
//! attempt, schedule the retry or give up, disable endpoints that failed for three days.
//!
//! Claiming is a conditional UPDATE that sets `locked_until` (now + 60 s) only on a row that
//! is still due and unlocked, so among several `agora serve` instances exactly one wins each
//! attempt, on SQLite and PostgreSQL alike, without row locks. A worker that dies holding a
//! claim loses it when `locked_until` passes; the attempt is then made again (at least once).

use crate::infra::events::EventType;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::entity::{attempt as attempts, delivery as deliveries, endpoint as endpoints};
use crate::infra::config::Config;
use crate::infra::events::view::EventObject;
use crate::infra::events::{self, NewEvent, Origin};
use crate::infra::wire::ids::{self, IdKind};

/// Most deliveries claimed per step and mode.
pub const CLAIM_BATCH: usize = 50;
/// How long a claim holds. Each endpoint gets at most `per_endpoint` rows per step and they
/// run at once, so one step takes about one timeout (10 s) plus DNS: well inside the claim.
pub const CLAIM_FOR: Duration = Duration::seconds(60);
/// A 2xx within this time counts as delivered.
pub const TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// Response bytes read (and ignored): enough to let the connection be reused.
const MAX_RESPONSE_BYTES: usize = 4096;
/// Longest error text kept in the log.
const MAX_ERROR_LEN: usize = 255;

/// What delivery needs from the process: the database, its own runtime, the sealer (KYC's
/// keys open endpoint secrets and seal the operator's email) and the config (who that email
/// is from and to). The worker builds it from the application state. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub webhooks: Arc<Runtime>,
    pub kyc: Arc<crate::domain::kyc::Runtime>,
}

/// What the delivery worker shares across steps: HTTP clients and the in-flight bound.
pub struct Runtime {
    test_client: reqwest::Client,
    live_client: reqwest::Client,
    in_flight: Arc<Semaphore>,
    per_endpoint: usize,
}

impl Runtime {
    pub fn new(max_in_flight: usize, per_endpoint: usize) -> anyhow::Result<Self> {
        // reqwest is built without a default crypto provider; ring is the workspace's.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = || {
            reqwest::Client::builder()
                // A redirect could lead anywhere, past the SSRF guard; receivers must answer.
                .redirect(reqwest::redirect::Policy::none())
                .timeout(TIMEOUT)
                .connect_timeout(TIMEOUT)
                .user_agent("Agora-Webhooks/1")
        };
        Ok(Self {
            test_client: builder().build()?,
            live_client: builder()
                .dns_resolver(Arc::new(super::ssrf::GuardedResolver))
                .build()?,
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            per_endpoint: per_endpoint.max(1),
        })
    }
}

/// One step of the worker for one mode at `now` (that mode's clock): claims up to 50 due
/// deliveries (at most `per_endpoint` per endpoint, within the free in-flight permits),
/// attempts them concurrently and records the outcomes. Returns the number attempted.
pub async fn deliver_due(
    state: &Context,
    livemode: bool,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let runtime = state.webhooks.clone();
    let batch = CLAIM_BATCH.min(runtime.in_flight.available_permits());
    if batch == 0 {
        return Ok(0);
    }
    let due = Condition::all()
        .add(deliveries::Column::Livemode.eq(livemode))
        .add(deliveries::Column::Status.eq(deliveries::PENDING))
        .add(deliveries::Column::NextAttemptAt.lte(now))
        .add(
            Condition::any()
                .add(deliveries::Column::LockedUntil.is_null())
                .add(deliveries::Column::LockedUntil.lt(now)),
        );
    // Read more than a batch so the per-endpoint cap can skip some and still fill it.
    let candidates = deliveries::Entity::find()
        .filter(due.clone())
        .order_by_asc(deliveries::Column::NextAttemptAt)
        .limit((batch * 4) as u64)
        .all(&state.db)
        .await?;
    let mut per_endpoint: HashMap<Uuid, usize> = HashMap::new();
    let mut claimed = Vec::new();
    for row in candidates {
        if claimed.len() >= batch {
            break;
        }
        let count = per_endpoint.entry(row.endpoint_id).or_default();
        if *count >= runtime.per_endpoint {
            continue;
        }
        let won = deliveries::Entity::update_many()
            .col_expr(
                deliveries::Column::LockedUntil,
                Expr::value(now + CLAIM_FOR),
            )
            .filter(deliveries::Column::Id.eq(row.id))
            .filter(due.clone())
            .exec(&state.db)
            .await?
            .rows_affected
            == 1;
        if won {
            *count += 1;
            claimed.push(row);
        }
    }
    let attempted = claimed.len();
    let tasks = claimed.into_iter().map(|row| {
        let state = state.clone();
        let permits = runtime.in_flight.clone();
        async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let id = row.id;
            if let Err(e) = attempt(&state, row, now).await {
                // The claim expires and another step tries again.
                tracing::warn!(delivery = %id, error = %e, "webhook attempt not recorded");
            }
        }
    });
    futures_util::future::join_all(tasks).await;
    Ok(attempted)
}

/// What one HTTP attempt came to.
struct Outcome {
    status_code: Option<i32>,
    error: Option<String>,
    latency_ms: i64,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|c| (200..300).contains(&c))
    }

    fn failed(error: impl Into<String>) -> Self {
        Self {
            status_code: None,
            error: Some(truncate(error.into())),
            latency_ms: 0,
        }
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_ERROR_LEN {
        let mut cut = MAX_ERROR_LEN;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

async fn attempt(state: &Context, row: deliveries::Model, now: DateTime<Utc>) -> Result<(), DbErr> {
    let db = &state.db;
    let endpoint = endpoints::Entity::find_by_id(row.endpoint_id)
        .filter(endpoints::Column::Livemode.eq(row.livemode))
        .one(db)
        .await?;
    let event = events::entity::Entity::find_by_id(row.event_id)
        .filter(events::entity::Column::Livemode.eq(row.livemode))
        .one(db)
        .await?;
    let (Some(endpoint), Some(event)) = (endpoint, event) else {
        return give_up(db, row.id, "endpoint or event no longer exists").await;
    };
    if endpoint.disabled {
        // A disabled endpoint gets nothing, not even what was queued before.
        return give_up(db, row.id, "endpoint disabled").await;
    }
    let outcome = send(state, &endpoint, &event, now).await;
    record(state, row, endpoint, outcome, now).await
}

async fn give_up(db: &DatabaseConnection, id: Uuid, why: &str) -> Result<(), DbErr> {
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(deliveries::FAILED))
        .col_expr(deliveries::Column::LastError, Expr::value(why))
        .col_expr(
            deliveries::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(deliveries::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

async fn send(
    state: &Context,
    endpoint: &endpoints::Model,
    event: &events::Event,
    now: DateTime<Utc>,
) -> Outcome {
    // DNS can change after the endpoint was saved: check again, every time.
    let url = match super::ssrf::check_url(&endpoint.url, endpoint.livemode).await {
        Ok(url) => url,
        Err(message) => return Outcome::failed(message),
    };
    let Ok(body) = serde_json::to_vec(&EventObject::from_model(event)) else {
        return Outcome::failed("event could not be serialised");
    };
    let id = ids::encode(IdKind::Event, event.id);
    // Receivers check the timestamp against their own clock (5 minutes' tolerance in the
    // reference libraries), so it is real time even when the test clock has been advanced.
    let timestamp = Utc::now().timestamp();
    let mut signatures = Vec::with_capacity(2);
    let sealer = &state.kyc.sealer;
    if let Some(secret) = super::open_secret(sealer, &endpoint.secret) {
        signatures.extend(super::sign(&secret, &id, timestamp, &body));
    }
    if let (Some(previous), Some(until)) = (
        &endpoint.previous_secret,
        endpoint.previous_secret_expires_at,
    ) {
        if until > now {
            if let Some(secret) = super::open_secret(sealer, previous) {
                signatures.extend(super::sign(&secret, &id, timestamp, &body));
            }
        }
    }
    if signatures.is_empty() {
        return Outcome::failed("endpoint secret is malformed");
    }
    let client = if endpoint.livemode {
        &state.webhooks.live_client
    } else {
        &state.webhooks.test_client
    };
    let started = Instant::now();
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures.join(" "))
        .body(body);
    let result = tokio::time::timeout(TIMEOUT, async {
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let mut read = 0;
        while read < MAX_RESPONSE_BYTES {
            match response.chunk().await? {
                Some(chunk) => read += chunk.len(),
                None => break,
            }
        }
        Ok::<u16, reqwest::Error>(status)
    })
    .await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match result {
        Ok(Ok(status)) => Outcome {
            status_code: Some(i32::from(status)),
            error: (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
            latency_ms,
        },
        Ok(Err(e)) => Outcome {
            status_code: None,
            // Without the URL: it may carry a token the platform put in its path.
            error: Some(truncate(e.without_url().to_string())),
            latency_ms,
        },
        Err(_) => Outcome {
            status_code: None,
            error: Some("timed out after 10 s".to_owned()),
            latency_ms,
        },
    }
}

/// Writes the attempt, the delivery's new state and the endpoint's failure bookkeeping in one
/// transaction; emails the operator after commit if this attempt disabled the endpoint.
async fn record(
    state: &Context,
    row: deliveries::Model,
    endpoint: endpoints::Model,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let attempts = row.attempts.saturating_add(1);
    let delivered = outcome.delivered();
    // Retries stop at the 3-day deadline, with one last attempt at it, so an endpoint that
    // failed from the first attempt to the last has failed for 3 days and gets disabled.
    let deadline = row.created_at + super::RETRY_WINDOW;
    let next_retry = if delivered || now >= deadline {
        None
    } else {
        Some((now + super::retry_delay(attempts)).min(deadline))
    };
    let txn = state.db.begin().await?;
    attempts::Entity::insert(attempts::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(row.id),
        endpoint_id: Set(row.endpoint_id),
        event_id: Set(row.event_id),
        status_code: Set(outcome.status_code),
        error: Set(outcome.error.clone()),
        latency_ms: Set(outcome.latency_ms),
        attempted_at: Set(now),
        next_retry_at: Set(next_retry),
    })
    .exec_without_returning(&txn)
    .await?;
    let status = match (delivered, next_retry) {
        (true, _) => deliveries::DELIVERED,
        (false, Some(_)) => deliveries::PENDING,
        (false, None) => deliveries::FAILED,
    };
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(status))
        .col_expr(deliveries::Column::Attempts, Expr::value(attempts))
        .col_expr(
            deliveries::Column::NextAttemptAt,
            Expr::value(next_retry.unwrap_or(row.next_attempt_at)),
        )
        .col_expr(
            deliveries::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            deliveries::Column::LastStatusCode,
            Expr::value(outcome.status_code),
        )
        .col_expr(deliveries::Column::LastError, Expr::value(outcome.error))
        .col_expr(
            deliveries::Column::LastLatencyMs,
            Expr::value(outcome.latency_ms),
        )
        .col_expr(
            deliveries::Column::DeliveredAt,
            Expr::value(delivered.then_some(now)),
        )
        .filter(deliveries::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    let mut disabled = None;
    if delivered {
        endpoints::Entity::update_many()
            .col_expr(
                endpoints::Column::FailingSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(endpoints::Column::Id.eq(endpoint.id))
            .filter(endpoints::Column::FailingSince.is_not_null())
            .exec(&txn)
            .await?;
    } else {
        // The first failure of a run starts the clock; later ones keep it.
        endpoints::Entity::update_many()
            .col_expr(endpoints::Column::FailingSince, Expr::value(now))
            .filter(endpoints::Column::Id.eq(endpoint.id))
            .filter(endpoints::Column::FailingSince.is_null())
            .exec(&txn)
            .await?;
        let failing_since = endpoint.failing_since.unwrap_or(now);
        if now - failing_since >= super::RETRY_WINDOW {
            // Conditional, so of racing workers exactly one disables and records the event.
            let changed = endpoints::Entity::update_many()
                .col_expr(endpoints::Column::Disabled, Expr::value(true))
                .filter(endpoints::Column::Id.eq(endpoint.id))
                .filter(endpoints::Column::Disabled.eq(false))
                .exec(&txn)
                .await?
                .rows_affected;
            if changed == 1 {
                let mut after = endpoint.clone();
                after.disabled = true;
                let object = super::view::EndpointObject::from_model(&after);
                let object = serde_json::to_value(object)
                    .map_err(|e| DbErr::Custom(format!("endpoint JSON: {e}")))?;
                events::record_at(
                    &txn,
                    NewEvent {
                        livemode: endpoint.livemode,
                        account_id: None,
                        kind: EventType::WebhookEndpointDisabled,
                        object,
                        previous_attributes: Some(serde_json::json!({"disabled": false})),
                    },
                    &Origin::default(),
                    now,
                )
                .await?;
                disabled = Some(after);
            }
        }
    }
    if let Some(endpoint) = &disabled {
        // In the transaction that disables it: the email goes out if and only if it is.
        notify_operator(&txn, state, endpoint).await;
    }
    txn.commit().await?;
    if let Some(endpoint) = disabled {
        tracing::warn!(
            endpoint = %ids::encode(IdKind::WebhookEndpoint, endpoint.id),
            "webhook endpoint disabled after 3 days of failures"
        );
    }
    Ok(())
}

/// Queues the operator's email that an endpoint was disabled (the email outbox sends it).
/// Best effort: the endpoint is disabled and the event recorded whether or not this works.
async fn notify_operator(
    db: &impl sea_orm::ConnectionTrait,
    state: &Context,
    endpoint: &endpoints::Model,
) {
    use lettre::Message;
    let Some(to) = state.config.operator_email.as_deref() else {
        tracing::warn!("operator_email is not set; no email about the disabled endpoint");
        return;
    };
    let id = ids::encode(IdKind::WebhookEndpoint, endpoint.id);
    let mode = if endpoint.livemode { "live" } else { "test" };
    let result = async {
        let message = Message::builder()
            .from(state.config.email_from.parse()?)
            .to(to.parse()?)
            .subject(format!("Webhook endpoint {id} disabled"))
            .body(format!(
                "The {mode}-mode webhook endpoint {id} ({}) failed every delivery for 3 days and \
                 has been disabled. Fix the receiver, then re-enable it with \
                 POST /v1/webhook_endpoints/{id} {{\"disabled\": false}} and redeliver missed \
                 events with POST /v1/events/{{id}}/redeliver.\n",
                endpoint.url
            ))?;
        crate::infra::email::enqueue(db, &state.kyc.sealer, "endpoint_disabled", &message)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not queue the operator email");
    }
}
