//! Balances (`GET /v1/balance`) and the test clock (`POST /v1/test_helpers/advance_clock`).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_ledger::Owner;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::events::{self, NewEvent, Origin};
use crate::gateway::error::ApiError;
use crate::gateway::{idempotency, Auth, JsonBody};
use crate::payments::{self, clock};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceAmount {
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceObject {
    #[schema(example = "balance")]
    pub object: &'static str,
    pub livemode: bool,
    /// Can be transferred or paid out now (may be negative after refunds: later settlements
    /// recover it).
    pub available: Vec<BalanceAmount>,
    /// Captured but not yet available.
    pub pending: Vec<BalanceAmount>,
}

fn amounts(map: std::collections::BTreeMap<String, i64>) -> Vec<BalanceAmount> {
    map.into_iter()
        .map(|(currency, amount)| BalanceAmount { amount, currency })
        .collect()
}

pub async fn balance_json(
    db: &impl ConnectionTrait,
    livemode: bool,
    owner: Owner,
) -> Result<Value, ApiError> {
    let summary = payments::balance(db, livemode, owner).await?;
    serde_json::to_value(BalanceObject {
        object: "balance",
        livemode,
        available: amounts(summary.available),
        pending: amounts(summary.pending),
    })
    .map_err(ApiError::internal)
}

#[utoipa::path(
    tag = "Balance",
    responses((status = 200, description = "The platform's balance, or a seller's with Agora-Account", body = BalanceObject)),
    security(("api_key" = []))
)]
#[get("/balance")]
pub async fn retrieve(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let owner = auth.account.map_or(Owner::Platform, Owner::Seller);
    Ok(HttpResponse::Ok().json(balance_json(&state.db, auth.livemode, owner).await?))
}

/// Runs settlement for one mode at `now` until nothing is due (bounded), recording a
/// `balance.available` event per owner whose funds became available. Returns how many
/// owners gained.
pub async fn settle(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: chrono::DateTime<chrono::Utc>,
    origin: &Origin,
) -> Result<usize, ApiError> {
    // Bounded: a backlog larger than this is left for the next run.
    const MAX_BATCHES: usize = 50;
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let owners = payments::settle_due(db, livemode, now).await?;
        if owners.is_empty() {
            break;
        }
        total += owners.len();
        for owner in owners {
            let object = balance_json(db, livemode, owner).await?;
            let account_id = match owner {
                Owner::Platform => None,
                Owner::Seller(id) => Some(id),
            };
            events::record(
                db,
                NewEvent {
                    livemode,
                    account_id,
                    kind: "balance.available",
                    object,
                    previous_attributes: None,
                },
                origin,
            )
            .await?;
        }
    }
    Ok(total)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClockRequest {
    /// 1 to 31,622,400 (366 days).
    pub seconds: i64,
}

#[utoipa::path(
    tag = "Test helpers",
    request_body = AdvanceClockRequest,
    responses((status = 200, description = "The test clock's new time; settlement has run at it"), (status = 404, description = "With a live key")),
    security(("api_key" = []))
)]
#[post("/test_helpers/advance_clock")]
pub async fn advance_clock(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    if auth.livemode {
        // Test helpers do not exist for live keys.
        return Err(ApiError::from_status(
            actix_web::http::StatusCode::NOT_FOUND,
        ));
    }
    auth.require_platform()?;
    let origin = idempotency::origin(&req);
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: AdvanceClockRequest = body.parse()?;
        if input.seconds < 1 || input.seconds > clock::MAX_ADVANCE_SECONDS {
            return Err(ApiError::invalid("seconds", "parameter_invalid", format!("seconds must be between 1 and {}", clock::MAX_ADVANCE_SECONDS)));
        }
        let now = clock::advance_test_clock(txn, input.seconds).await?;
        let settled = settle(txn, false, now, &origin).await?;
        Ok(serde_json::json!({"object": "test_clock", "livemode": false, "now": super::timestamp(now), "balances_updated": settled}))
    })
    .await
}
