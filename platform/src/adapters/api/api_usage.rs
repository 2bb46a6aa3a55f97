//! `GET /v1/api_usage`: one API key's requests, errors and latency per route, in minute, hour
//! or day buckets (domain::usage). Secret keys only (gateway::permissions), and a key sees only
//! the keys of its own mode.

use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{ApiQuery, Auth};
use crate::domain::usage::{self, Granularity, KeyRef, Range, UsageRow};
use crate::infra::wire::ids::{self, IdKind};
use crate::infra::wire::timestamp;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// The key: its id (`key_…`, as `agora keys list` and the restricted-keys API show it) or
    /// its public prefix (`sk_test_AbCd`, or with its last four: `sk_test_AbCd…wxyz`).
    #[param(
        pattern = "^(key_[0-7][0-9a-hjkmnp-tv-z]{25}|(sk|rk)_(test|live)_[A-Za-z0-9_-]{4}((…|\\.\\.\\.)[A-Za-z0-9_-]{4})?)$"
    )]
    pub key: String,
    /// Start (RFC 3339), rounded down to the granularity; default 24 hours before `to` (with
    /// `minute`: the last 1440 minutes).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// End (RFC 3339, exclusive), rounded up to the granularity; default now.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// `minute`, `hour` (default) or `day` (UTC days). At most 1440 buckets per answer.
    #[param(value_type = Option<String>, pattern = "^(minute|hour|day)$")]
    pub granularity: Option<String>,
}

/// Requests by status class.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCounts {
    #[serde(rename = "2xx")]
    #[schema(rename = "2xx")]
    pub s2xx: u64,
    #[serde(rename = "3xx")]
    #[schema(rename = "3xx")]
    pub s3xx: u64,
    #[serde(rename = "4xx")]
    #[schema(rename = "4xx")]
    pub s4xx: u64,
    #[serde(rename = "5xx")]
    #[schema(rename = "5xx")]
    pub s5xx: u64,
}

/// Latency percentiles in milliseconds, from fixed log-spaced buckets: within ±19 % of the
/// measured latency (0.25 ms for anything faster; 65536 means at least that).
#[derive(Debug, Serialize, ToSchema)]
pub struct LatencyPercentiles {
    pub p50: f64,
    pub p99: f64,
}

/// A key's requests to one route with one method in one bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiUsageRow {
    /// The bucket's start (RFC 3339).
    pub start: String,
    /// The route pattern.
    #[schema(example = "/v1/charges/{id}")]
    pub route: String,
    #[schema(example = "GET")]
    pub method: String,
    pub requests: u64,
    /// Answered 4xx or 5xx.
    pub errors: u64,
    pub status: StatusCounts,
    pub latency_ms: LatencyPercentiles,
}

/// One key's usage over a range of buckets; buckets without requests are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiUsageObject {
    #[schema(example = "api_usage")]
    pub object: &'static str,
    /// The key's id.
    #[schema(example = "key_01h455vb4pex5vsknk084sn02q")]
    pub key: String,
    /// The key as lists show it.
    #[schema(example = "sk_test_AbCd…wxyz")]
    pub redacted: String,
    pub livemode: bool,
    /// `minute`, `hour` or `day`.
    pub granularity: &'static str,
    /// The first bucket's start.
    pub from: String,
    /// The end of the last bucket (exclusive).
    pub to: String,
    /// In order of bucket, route, method.
    pub data: Vec<ApiUsageRow>,
}

/// Round to the microsecond: the buckets are far coarser, and `0.17677669529663687` is noise.
fn ms(value: Option<f64>) -> f64 {
    (value.unwrap_or(0.0) * 1000.0).round() / 1000.0
}

fn row(row: &UsageRow) -> ApiUsageRow {
    ApiUsageRow {
        start: unix(row.start),
        route: row.route.clone(),
        method: row.method.clone(),
        requests: row.requests,
        errors: row.errors(),
        status: StatusCounts {
            s2xx: row.status[0],
            s3xx: row.status[1],
            s4xx: row.status[2],
            s5xx: row.status[3],
        },
        latency_ms: LatencyPercentiles {
            p50: ms(row.latency.quantile_ms(0.5)),
            p99: ms(row.latency.quantile_ms(0.99)),
        },
    }
}

fn unix(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(String::new, timestamp)
}

/// `from` / `to`: RFC 3339, as the list filters take them.
fn instant(param: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .as_deref()
        .map(|v| super::parse_instant(param, v.trim()).map(|t| t.timestamp()))
        .transpose()
}

#[utoipa::path(
    tag = "API usage",
    params(UsageQuery),
    responses(
        (status = 200, description = "The key's requests, errors (4xx and 5xx) and latency p50/p99 per route and bucket; usage is written every `api_usage_flush_ms` and kept `api_usage_retention_days`", body = ApiUsageObject),
        (status = 400, description = "A parameter is invalid, `from` is not before `to`, the range needs more than 1440 buckets or the answer more than 10000 rows, or the prefix names several keys", body = crate::adapters::api::openapi::ErrorBody),
        (status = 403, description = "A restricted key, or a request with Agora-Account", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such key in the calling key's mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/api_usage")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    // Read after the key is checked: as an extractor beside `Auth`, the query's error (its
    // `key` is required) would be answered before a restricted key's 403.
    let q = ApiQuery::<UsageQuery>::extract(&req).await?.0;
    let key_ref = KeyRef::parse(&q.key).ok_or_else(|| {
        ApiError::invalid(
            "key",
            "parameter_invalid",
            "key must be a key id (key_…) or a key's public prefix (sk_test_AbCd or sk_test_AbCd…wxyz)",
        )
    })?;
    let granularity = match q.granularity.as_deref() {
        None => Granularity::Hour,
        Some(g) => Granularity::parse(g.trim()).ok_or_else(|| {
            ApiError::invalid(
                "granularity",
                "parameter_invalid",
                format!(
                    "granularity must be one of {}",
                    Granularity::NAMES.join(", ")
                ),
            )
        })?,
    };
    let from = instant("from", &q.from)?;
    let to = instant("to", &q.to)?;
    // Wall clock in both modes: usage is operational, not the test clock's.
    let range = Range::new(from, to, granularity, chrono::Utc::now().timestamp())?;
    let key = usage::find_key(&state.db, Some(auth.livemode), &key_ref)
        .await?
        .ok_or_else(|| ApiError::not_found("API key", q.key.trim()).with_param("key"))?;
    let rows = usage::report(&state.db, key.id, &range).await?;
    Ok(HttpResponse::Ok().json(ApiUsageObject {
        object: "api_usage",
        key: ids::encode(IdKind::ApiKey, key.id),
        redacted: format!("{}…{}", key.display_prefix, key.last4),
        livemode: key.livemode,
        granularity: range.granularity.name(),
        from: unix(range.from),
        to: unix(range.to),
        data: rows.iter().map(row).collect(),
    }))
}
