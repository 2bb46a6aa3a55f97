//! Charges: `POST /v1/charges`, `POST /v1/charges/{id}/capture`, `GET /v1/charges/{id}`,
//! `GET /v1/charges`.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use agora_ledger::Money;
use chrono::Duration;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::listing;
use super::{
    check_text, parse_account_id, parse_currency, parse_instant, MAX_SHORT_TEXT, MAX_TEXT,
};
use crate::adapters::gateway::error::{ApiError, ErrorType};
use crate::adapters::gateway::metadata::MetadataParam;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{batch, idempotency, ApiQuery, Auth, JsonBody};
use crate::domain::payments::processor::{PaymentMethod, Processor, Simulator, TEST_TOKENS};
use crate::domain::payments::{self, Charge, NewCharge};
use crate::infra::clock;
use crate::infra::wire::typed::ChargeId;

pub use crate::domain::payments::view::{ChargeObject, SplitObject};
use crate::infra::wire::ids::{self, IdKind};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitParam {
    /// An `acct_` id.
    pub destination: String,
    pub amount: i64,
    #[serde(default)]
    pub application_fee_amount: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChargeRequest {
    /// Minor units: 1050 is 10.50 EUR.
    pub amount: i64,
    #[schema(example = "eur")]
    pub currency: String,
    /// The seller (`acct_…`); or give `splits` for a cart of several sellers.
    pub destination: Option<String>,
    /// The platform's fee; when absent, the platform's fee rules decide.
    pub application_fee_amount: Option<i64>,
    pub splits: Option<Vec<SplitParam>>,
    /// A test token (`pm_card_visa`, `pm_card_chargeDeclined`, `pm_card_insufficientFunds`) or
    /// `{"type": "external", "reference": "…"}` for a payment captured by the platform's own
    /// processor.
    #[schema(value_type = Object)]
    pub payment_method: Value,
    /// Capture now (default) or only authorise.
    pub capture: Option<bool>,
    pub description: Option<String>,
    pub transfer_group: Option<String>,
    pub metadata: Option<MetadataParam>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// At most the authorised amount; default all of it. The rest is released.
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
}

fn parse_payment_method(value: &Value) -> Result<PaymentMethod, ApiError> {
    match value {
        Value::String(token) if TEST_TOKENS.contains(&token.as_str()) => {
            Ok(PaymentMethod::TestToken(token.clone()))
        }
        Value::String(token) => Err(ApiError::invalid(
            "payment_method",
            "payment_method_unknown",
            format!(
                "Unknown payment method '{}'; test tokens are {}",
                token.chars().take(40).collect::<String>(),
                TEST_TOKENS.join(", ")
            ),
        )),
        Value::Object(map) => {
            if let Some(extra) = map.keys().find(|k| *k != "type" && *k != "reference") {
                return Err(ApiError::invalid(
                    format!("payment_method.{extra}"),
                    "parameter_unknown",
                    format!("Received unknown parameter: payment_method.{extra}"),
                ));
            }
            if map.get("type").and_then(Value::as_str) != Some("external") {
                return Err(ApiError::invalid(
                    "payment_method.type",
                    "parameter_invalid",
                    "payment_method.type must be \"external\"",
                ));
            }
            match map.get("reference").and_then(Value::as_str) {
                Some(r) if !r.trim().is_empty() && r.chars().count() <= super::MAX_SHORT_TEXT => {
                    Ok(PaymentMethod::External {
                        reference: r.to_owned(),
                    })
                }
                _ => Err(ApiError::invalid(
                    "payment_method.reference",
                    "parameter_invalid",
                    "give the processor's reference, 1 to 255 characters",
                )),
            }
        }
        _ => Err(ApiError::invalid(
            "payment_method",
            "parameter_invalid",
            "payment_method must be a test token or an object",
        )),
    }
}

/// The platform sees every charge; a connected account those it has a split in.
fn visible_to(auth: &Auth, c: &Charge) -> bool {
    match auth.account {
        None => true,
        Some(acting) => payments::has_split(c, acting),
    }
}

#[utoipa::path(
    tag = "Charges",
    request_body = CreateChargeRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours.")),
    responses(
        (status = 200, description = "The charge (succeeded, or pending when capture is false)", body = ChargeObject),
        (status = 402, description = "The card was declined; the failed charge is recorded", body = crate::adapters::api::openapi::ErrorBody),
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/charges")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let origin = idempotency::origin(&req);
    let new = match parse_charge(&body) {
        Ok(new) => new,
        // Bad input is answered as before: through the idempotency key (its claim, a 400 on
        // another body, and the error stored for replay), without joining a batch.
        Err(error) => {
            return idempotency::run_with_status(&state, &auth, &req, &body, async |_| Err(error))
                .await
        }
    };
    let livemode = auth.livemode;
    let config = &state.config;
    // Planned here, on this request's own connection (reads only, no transaction), then
    // written by the charge writer with the rest of its batch (gateway::batch). The processor
    // answers in the plan: never inside a database transaction.
    idempotency::run_planned(
        &state,
        &auth,
        &req,
        &body,
        Simulator.reaches_outside(),
        async || {
            // One reading of the mode's clock for the whole charge: pricing, the rows, the event.
            let now = clock::now_cached(&state.db, livemode, &state.caches.clock).await?;
            let settings = payments::ChargeSettings {
                settlement_delay: Duration::days(i64::from(config.settlement_delay_days)),
                default_fee_percent: config.default_fee_percent,
                dispute_fee_major: config.dispute_fee,
                processor: &Simulator,
                sellers: Some(&state.caches.sellers),
            };
            let plan =
                payments::plan_charge(&state.db, livemode, now, &settings, new, &origin).await?;
            let (status, body) = render_created(&plan.created())?;
            Ok(batch::Planned {
                plan,
                status,
                body,
                dispute_fee_major: config.dispute_fee,
            })
        },
    )
    .await
}

/// The request parsed into the domain's input; every error here is the client's.
fn parse_charge(body: &JsonBody) -> Result<NewCharge, ApiError> {
    let input: CreateChargeRequest = body.parse()?;
    let currency = parse_currency("currency", &input.currency)?;
    let method = parse_payment_method(&input.payment_method)?;
    check_text("description", &input.description, MAX_TEXT)?;
    check_text("transfer_group", &input.transfer_group, MAX_SHORT_TEXT)?;
    let (splits, single) = match (&input.destination, &input.splits) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "splits",
                "parameter_conflict",
                "Give destination or splits, not both.",
            ))
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "destination",
                "parameter_missing",
                "Give destination (one seller) or splits (a cart).",
            ))
        }
        (Some(destination), None) => (
            vec![payments::SplitRequest {
                destination: parse_account_id("destination", destination)?,
                amount: input.amount,
                application_fee_amount: input.application_fee_amount,
            }],
            true,
        ),
        (None, Some(parts)) => {
            if input.application_fee_amount.is_some() {
                return Err(ApiError::invalid(
                    "application_fee_amount",
                    "parameter_conflict",
                    "With splits, give application_fee_amount on each split.",
                ));
            }
            if parts.len() > payments::MAX_SPLITS {
                return Err(ApiError::invalid(
                    "splits",
                    "splits_invalid",
                    format!("give 1 to {} splits", payments::MAX_SPLITS),
                ));
            }
            let splits = parts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    Ok(payments::SplitRequest {
                        destination: parse_account_id(
                            &format!("splits[{i}].destination"),
                            &p.destination,
                        )?,
                        amount: p.amount,
                        application_fee_amount: p.application_fee_amount,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            (splits, false)
        }
    };
    Ok(NewCharge {
        amount: Money::new(input.amount, currency),
        splits,
        single,
        method,
        capture: input.capture.unwrap_or(true),
        description: input.description,
        transfer_group: input.transfer_group,
        metadata: input.metadata.unwrap_or_default().into_new()?,
    })
}

/// 200 with the charge, or 402 with the card error and the failed charge's id.
fn render_created(created: &payments::Created) -> Result<(StatusCode, Value), ApiError> {
    let object = ChargeObject::json(&created.charge)?;
    match &created.decline {
        None => Ok((StatusCode::OK, object)),
        Some(decline) => {
            let error = ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                ErrorType::CardError,
                decline.code,
                decline.message,
            );
            let request_id = crate::adapters::gateway::context::current_request_id();
            let mut body: Value = serde_json::from_str(&error.body_json(request_id.as_deref()))
                .map_err(ApiError::internal)?;
            // Like Stripe: the failed charge's id, so the platform can look it up.
            body["error"]["charge"] = Value::String(ids::encode(IdKind::Charge, created.charge.id));
            Ok((StatusCode::PAYMENT_REQUIRED, body))
        }
    }
}

fn charge_id(raw: &str) -> Result<ChargeId, ApiError> {
    listing::path_id("charge", raw)
}

#[utoipa::path(
    tag = "Charges",
    request_body = CaptureRequest,
    params(("id" = String, Path, description = "A `ch_` id", pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$"), ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry.")),
    responses((status = 200, description = "The captured charge", body = ChargeObject), (status = 400, description = "Not capturable", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[post("/charges/{id}/capture")]
pub async fn capture(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = charge_id(&raw)?;
    let origin = idempotency::origin(&req);
    let delay = Duration::days(i64::from(state.config.settlement_delay_days));
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let input: CaptureRequest = body.parse()?;
        let new = payments::NewCapture {
            charge_id: id,
            amount: input.amount,
        };
        let charge = payments::capture(txn, auth.livemode, delay, new, &origin)
            .await
            .map_err(|e| match e {
                payments::PaymentError::NotFound("charge") => ApiError::not_found("charge", &raw),
                other => other.into(),
            })?;
        Ok(ChargeObject::json(&charge)?)
    })
    .await
}

#[utoipa::path(
    tag = "Charges",
    params(("id" = String, Path, description = "A `ch_` id", pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses((status = 200, description = "The charge", body = ChargeObject), (status = 404, description = "No such charge", body = crate::adapters::api::openapi::ErrorBody)),
    security(("api_key" = []))
)]
#[get("/charges/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve(
        "charge",
        &path.into_inner(),
        async |id: crate::infra::wire::typed::ChargeId| {
            let Some(charge) = payments::find_charge(&state.db, auth.livemode, id)
                .await?
                .filter(|c| visible_to(&auth, c))
            else {
                return Ok(None);
            };
            Ok(as_viewed(&state, &auth, std::slice::from_ref(&charge))
                .await?
                .pop())
        },
        |object| object,
    )
    .await
}

/// Charges as the caller sees them: whole for the platform, a seller its own parts of a cart.
async fn as_viewed(
    state: &AppState,
    auth: &Auth,
    charges: &[Charge],
) -> Result<Vec<ChargeObject>, ApiError> {
    let parts = match auth.account {
        Some(seller) => payments::seller_parts(&state.db, auth.livemode, seller, charges).await?,
        None => Default::default(),
    };
    Ok(charges
        .iter()
        .map(|c| ChargeObject::for_viewer(c, auth.account_uuid(), parts.get(&c.id)))
        .collect())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only charges to this seller (`acct_…`).
    #[param(pattern = "^acct_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub destination: Option<String>,
    pub transfer_group: Option<String>,
    /// Created at or after (RFC 3339).
    #[serde(rename = "created[gte]")]
    #[param(rename = "created[gte]")]
    #[param(format = DateTime)]
    pub created_gte: Option<String>,
    /// Created at or before (RFC 3339).
    #[serde(rename = "created[lte]")]
    #[param(rename = "created[lte]")]
    #[param(format = DateTime)]
    pub created_lte: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^ch_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

#[utoipa::path(
    tag = "Charges",
    params(ListQuery),
    responses((status = 200, description = "Charges, newest first")),
    security(("api_key" = []))
)]
#[get("/charges")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    listing::list(
        "/v1/charges",
        IdKind::Charge,
        &q,
        async |cursor| {
            let filter = payments::lists::ChargeFilter {
                viewer: auth.account,
                destination: listing::optional(&q.destination, |d| {
                    parse_account_id("destination", d)
                })?,
                transfer_group: q.transfer_group.clone(),
                created_gte: listing::optional(&q.created_gte, |t| {
                    parse_instant("created[gte]", t)
                })?,
                created_lte: listing::optional(&q.created_lte, |t| {
                    parse_instant("created[lte]", t)
                })?,
            };
            let select = payments::lists::charges(auth.livemode, &filter);
            Ok(cursor.fetch_by_id(&state.db, select).await?)
        },
        async |rows| as_viewed(&state, &auth, rows).await,
    )
    .await
}
