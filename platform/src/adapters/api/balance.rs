//! Balances (`GET /v1/balance`) and the test clock (`POST /v1/test_helpers/advance_clock`).

use crate::infra::events::EventType;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_ledger::Owner;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, Auth, JsonBody};
use crate::domain::payments;
use crate::infra::clock;
use crate::infra::events::{self, NewEvent, Origin};

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
    let owner = auth.account_uuid().map_or(Owner::Platform, Owner::Seller);
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
            events::record_at(
                db,
                NewEvent {
                    livemode,
                    account_id,
                    kind: EventType::BalanceAvailable,
                    object,
                    previous_attributes: None,
                },
                origin,
                now,
            )
            .await?;
        }
    }
    Ok(total)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClockRequest {
    /// 1 to 31,622,400 (366 days); the test clock is never more than 10 years ahead in all.
    #[schema(minimum = 1, maximum = 31_622_400)]
    pub seconds: i64,
}

#[utoipa::path(
    tag = "Test helpers",
    request_body = AdvanceClockRequest,
    responses((status = 200, description = "The test clock's new time; settlement has run at it"), (status = 400, description = "`seconds` out of range, or past the 10-year cap", body = crate::adapters::api::openapi::ErrorBody), (status = 404, description = "With a live key")),
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
        let now = match clock::advance_test_clock(txn, input.seconds).await? {
            clock::Advanced::To(now) => now,
            clock::Advanced::PastCap { ahead } => {
                let left = (clock::MAX_OFFSET_SECONDS - ahead.num_seconds()).max(0);
                return Err(ApiError::invalid(
                    "seconds",
                    "parameter_invalid",
                    format!(
                        "the test clock can be at most {} ahead of real time; it is {} days \
                         ahead, so it can move at most {left} seconds more",
                        clock::MAX_OFFSET_WORDS,
                        ahead.num_days()
                    ),
                ));
            }
        };
        let settled = settle(txn, false, now, &origin).await?;
        Ok(serde_json::json!({"object": "test_clock", "livemode": false, "now": super::timestamp(now), "balances_updated": settled}))
    })
    .await
}

/// One part of a balance transaction's `fee`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeeDetail {
    /// `application_fee` (the platform's fee), `tax` (VAT on it) or `dispute_fee`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub amount: i64,
}

fn fee_details(bt: &payments::BalanceTransaction) -> Vec<FeeDetail> {
    let kind = if bt.kind == "dispute" {
        "dispute_fee"
    } else {
        "application_fee"
    };
    [(kind, bt.fee - bt.fee_tax), ("tax", bt.fee_tax)]
        .into_iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|(kind, amount)| FeeDetail { kind, amount })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceTransactionObject {
    #[schema(example = "bt_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "balance_transaction")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    /// `charge`, `application_fee`, `refund`, `transfer`, `transfer_reversal`, `dispute`,
    /// `dispute_fee` or `dispute_reversal`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Gross, signed: negative when money leaves the balance.
    pub amount: i64,
    /// Everything taken from `amount` on its way to this balance: on a seller's `charge` the
    /// platform's application fee plus the VAT on it, on a seller's `dispute` the dispute
    /// fee; 0 elsewhere. `fee_details` breaks it down.
    pub fee: i64,
    pub fee_details: Vec<FeeDetail>,
    /// `amount - fee`: what the balance moved by.
    pub net: i64,
    pub currency: String,
    pub available_on: String,
    /// `pending` until `available_on` (by the mode's clock), then `available`. Money a refund
    /// or dispute takes from the pending balance is a `pending` row (until those funds would
    /// have become available); what it takes from the available balance an `available` one.
    pub status: &'static str,
    /// The charge, refund, transfer or dispute that moved the balance.
    pub source: String,
}

impl BalanceTransactionObject {
    fn from_model(bt: &payments::BalanceTransaction, now: chrono::DateTime<chrono::Utc>) -> Self {
        use crate::infra::wire::ids::{self, IdKind};
        let kind = match bt.source_kind.as_str() {
            "charge" => IdKind::Charge,
            "refund" => IdKind::Refund,
            "transfer" => IdKind::Transfer,
            "payout" => IdKind::Payout,
            _ => IdKind::Dispute,
        };
        Self {
            id: ids::encode(IdKind::BalanceTransaction, bt.id),
            object: "balance_transaction",
            livemode: bt.livemode,
            created: super::timestamp(bt.created_at),
            kind: bt.kind.clone(),
            amount: bt.amount,
            fee: bt.fee,
            fee_details: fee_details(bt),
            net: bt.net,
            currency: bt.currency.clone(),
            available_on: super::timestamp(bt.available_on),
            status: if bt.available_on <= now {
                "available"
            } else {
                "pending"
            },
            source: ids::encode(kind, bt.source_id),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BtListQuery {
    /// Only this type, e.g. `charge` or `refund`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    #[param(min_length = 1, max_length = 32)]
    pub kind: Option<String>,
    /// Only movements caused by this object (`ch_…`, `re_…`, `tr_…`, `dp_…`, `po_…`).
    #[param(pattern = "^(ch|re|tr|dp|po)_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub source: Option<String>,
    /// Only what this payout (`po_…`) accounts for: its debit, if it failed or was canceled
    /// the return of the money, and for a scheduled payout the seller's movements it swept.
    /// The other filters (`source`, `type`, `available_on`) apply too: a row must match
    /// every filter given.
    #[param(pattern = "^po_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub payout: Option<String>,
    #[serde(rename = "available_on[gte]")]
    #[param(rename = "available_on[gte]")]
    #[param(format = DateTime)]
    pub available_on_gte: Option<String>,
    #[serde(rename = "available_on[lte]")]
    #[param(rename = "available_on[lte]")]
    #[param(format = DateTime)]
    pub available_on_lte: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^bt_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^bt_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

super::listing::paged!(BtListQuery);

/// Longest `type` filter accepted.
const MAX_TYPE_LEN: usize = 32;

#[utoipa::path(
    tag = "Balance",
    params(BtListQuery),
    responses((status = 200, description = "The platform's balance transactions, or a seller's with Agora-Account; newest first")),
    security(("api_key" = []))
)]
#[get("/balance_transactions")]
pub async fn transactions(
    state: web::Data<AppState>,
    auth: Auth,
    query: crate::adapters::gateway::ApiQuery<BtListQuery>,
) -> Result<HttpResponse, ApiError> {
    use crate::domain::payments::lists::{BalanceTransactionFilter, PayoutRows};
    use crate::infra::wire::ids::{self, IdKind};
    let q = query.0;
    let now = clock::now(&state.db, auth.livemode).await?;
    super::listing::page(
        &state.db,
        "/v1/balance_transactions",
        IdKind::BalanceTransaction,
        &q,
        async || {
            super::listing::check_type(&q.kind, MAX_TYPE_LEN, "type must be 1 to 32 characters")?;
            let source = match &q.source {
                None => None,
                Some(source) => Some(
                    [
                        IdKind::Charge,
                        IdKind::Refund,
                        IdKind::Transfer,
                        IdKind::Dispute,
                        IdKind::Payout,
                    ]
                    .into_iter()
                    .find_map(|k| ids::decode(k, source).ok())
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "source",
                            "parameter_invalid",
                            "source must be a ch_, re_, tr_, dp_ or po_ id",
                        )
                    })?,
                ),
            };
            let payout = match &q.payout {
                None => None,
                Some(raw) => {
                    let id = super::listing::filter_id::<crate::infra::wire::typed::PayoutId>(
                        "payout", raw,
                    )?;
                    // The payout's seller's rows: the platform may ask for any payout, a seller
                    // for its own.
                    let p = crate::domain::payouts::find_for(
                        &state.db,
                        auth.livemode,
                        auth.account,
                        id,
                    )
                    .await?
                    .ok_or_else(|| ApiError::not_found("payout", raw))?;
                    let condition =
                        crate::domain::payouts::reconciliation_condition(&state.db, &p).await?;
                    Some(PayoutRows {
                        seller: p.account_id,
                        condition,
                    })
                }
            };
            let available_on = |param: &str, t: &Option<String>| {
                t.as_deref()
                    .map(|t| super::parse_instant(param, t))
                    .transpose()
            };
            let filter = BalanceTransactionFilter {
                owner: auth.account_uuid().map_or(Owner::Platform, Owner::Seller),
                kind: q.kind.clone(),
                source,
                payout,
                available_on_gte: available_on("available_on[gte]", &q.available_on_gte)?,
                available_on_lte: available_on("available_on[lte]", &q.available_on_lte)?,
            };
            Ok(payments::lists::balance_transactions(auth.livemode, filter))
        },
        |bt| BalanceTransactionObject::from_model(bt, now),
    )
    .await
}
