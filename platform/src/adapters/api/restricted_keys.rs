//! Restricted API keys, made by the holder of a secret key for a service that needs less:
//! `POST /v1/restricted_keys` (the secret is in this one response), `GET` one and the list,
//! `DELETE` (revokes at once). Only secret keys reach these routes (gateway::permissions):
//! a restricted key never mints or revokes keys.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::listing;
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{idempotency, ApiQuery, Auth, JsonBody};
use crate::domain::keys::{self, permissions::MAX_PERMISSIONS, ApiKey, Mode, Permissions};
use crate::infra::wire::ids::{self, IdKind};
use crate::infra::wire::timestamp;

/// A restricted key as the API shows it: never its secret, except once at creation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestrictedKeyObject {
    #[schema(example = "key_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "restricted_key")]
    pub object: &'static str,
    pub livemode: bool,
    pub name: Option<String>,
    /// What it may do, `resource:read|write` (write includes read).
    #[schema(example = json!(["accounts:read", "charges:write"]))]
    pub permissions: Vec<String>,
    /// Enough to recognise it: `rk_test_AbCd…wxyz`.
    #[schema(example = "rk_test_AbCd…wxyz")]
    pub redacted: String,
    pub created: String,
    /// To the minute; null if never used.
    pub last_used: Option<String>,
    /// When it was revoked; null while it works.
    pub revoked: Option<String>,
}

impl RestrictedKeyObject {
    pub fn from_model(key: &ApiKey) -> Self {
        Self {
            id: ids::encode(IdKind::ApiKey, key.id),
            object: "restricted_key",
            livemode: key.livemode,
            name: key.name.clone(),
            permissions: key
                .grants()
                .map(|g| g.list().iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            redacted: format!("{}…{}", key.display_prefix, key.last4),
            created: timestamp(key.created_at),
            last_used: key.last_used_at.map(timestamp),
            revoked: key.revoked_at.map(timestamp),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRestrictedKeyRequest {
    /// `resource:read` or `resource:write` for each resource the key needs, e.g.
    /// `["charges:write", "accounts:read"]`. Resources: accounts, external_accounts,
    /// account_links, files, reviews, events, charges, refunds, transfers, disputes, balance,
    /// payouts, fee_rules, webhook_endpoints, test_clocks.
    #[schema(value_type = Vec<PermissionName>, min_items = 1, max_items = 30, example = json!(["charges:write", "accounts:read"]))]
    pub permissions: Vec<String>,
    /// Which service holds it (at most 100 characters).
    #[schema(max_length = 100, example = "checkout service")]
    pub name: Option<String>,
}

/// One permission as the document states it: `resource:read` or `resource:write`.
pub struct PermissionName;

impl utoipa::PartialSchema for PermissionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let resources = keys::Resource::ALL.map(keys::Resource::name).join("|");
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^({resources}):(read|write)$")))
            .into()
    }
}

impl ToSchema for PermissionName {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyRequest {}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(pattern = "^key_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub starting_after: Option<String>,
    #[param(pattern = "^key_[0-7][0-9a-hjkmnp-tv-z]{25}$")]
    pub ending_before: Option<String>,
}

listing::paged!(ListQuery);

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RestrictedKeyList {
    #[schema(example = "list")]
    object: String,
    data: Vec<RestrictedKeyObject>,
    has_more: bool,
    url: String,
}

fn parse(input: CreateRestrictedKeyRequest) -> Result<(Permissions, Option<String>), ApiError> {
    if input.permissions.len() > MAX_PERMISSIONS {
        return Err(ApiError::invalid(
            "permissions",
            "parameter_invalid",
            format!("permissions can list at most {MAX_PERMISSIONS} items"),
        ));
    }
    let permissions = Permissions::parse(input.permissions.iter().map(String::as_str))
        .map_err(|message| ApiError::invalid("permissions", "parameter_invalid", message))?;
    let name = input
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    super::check_text("name", &name, keys::MAX_NAME)?;
    Ok((permissions, name))
}

fn mode(auth: &Auth) -> Mode {
    if auth.livemode {
        Mode::Live
    } else {
        Mode::Test
    }
}

#[utoipa::path(
    tag = "Restricted keys",
    request_body = CreateRestrictedKeyRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours.")),
    responses(
        (status = 200, description = "The new key, with its `secret` (shown only here), in the calling key's mode", body = RestrictedKeyObject),
        (status = 400, description = "Invalid parameters", body = crate::adapters::api::openapi::ErrorBody),
        (status = 403, description = "A restricted key cannot make keys", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/restricted_keys")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    // The answer carries the new key's secret: kept for replay sealed.
    idempotency::run_with_secret(&state, &auth, &req, &body, async |txn| {
        let (permissions, name) = parse(body.parse()?)?;
        let created = keys::create_restricted(txn, mode(&auth), &permissions, name).await?;
        tracing::info!(
            key = %ids::encode(IdKind::ApiKey, created.key.id),
            by = %ids::encode(IdKind::ApiKey, auth.key_id),
            permissions = %permissions,
            "created a restricted API key"
        );
        let mut value = serde_json::to_value(RestrictedKeyObject::from_model(&created.key))
            .map_err(ApiError::internal)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("secret".to_owned(), Value::String(created.secret));
        }
        Ok(value)
    })
    .await
}

#[utoipa::path(
    tag = "Restricted keys",
    params(ListQuery),
    responses((status = 200, description = "The mode's restricted keys, newest first, revoked ones too", body = RestrictedKeyList)),
    security(("api_key" = []))
)]
#[get("/restricted_keys")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    listing::page(
        &state.db,
        "/v1/restricted_keys",
        IdKind::ApiKey,
        &query.0,
        async || Ok(keys::restricted(auth.livemode)),
        RestrictedKeyObject::from_model,
    )
    .await
}

#[utoipa::path(
    tag = "Restricted keys",
    params(("id" = String, Path, description = "A `key_` id", pattern = "^key_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The key (never its secret)", body = RestrictedKeyObject),
        (status = 404, description = "No such restricted key in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/restricted_keys/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    listing::retrieve_in(
        &state.db,
        IdKind::ApiKey,
        "restricted_key",
        &path.into_inner(),
        keys::restricted(auth.livemode),
        RestrictedKeyObject::from_model,
    )
    .await
}

#[utoipa::path(
    tag = "Restricted keys",
    params(
        ("id" = String, Path, description = "A `key_` id", pattern = "^key_[0-7][0-9a-hjkmnp-tv-z]{25}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry for 24 hours."),
    ),
    responses(
        (status = 200, description = "The key, revoked: it stops working at once (within `cache_ttl_ms` on other instances)", body = RestrictedKeyObject),
        (status = 404, description = "No such restricted key in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[delete("/restricted_keys/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    auth.require_platform()?;
    let raw = path.into_inner();
    let id = ids::decode(IdKind::ApiKey, &raw)
        .map_err(|_| ApiError::not_found("restricted_key", &raw))?;
    idempotency::run(&state, &auth, &req, &body, async |txn| {
        let _: EmptyRequest = body.parse()?;
        let found = keys::find_restricted(txn, auth.livemode, id)
            .await?
            .ok_or_else(|| ApiError::not_found("restricted_key", &raw))?;
        if found.revoked_at.is_none() {
            keys::revoke_restricted(txn, auth.livemode, id).await?;
            tracing::info!(key = %raw, by = %ids::encode(IdKind::ApiKey, auth.key_id), "revoked a restricted API key");
        }
        let key = keys::find_restricted(txn, auth.livemode, id)
            .await?
            .ok_or_else(|| ApiError::not_found("restricted_key", &raw))?;
        serde_json::to_value(RestrictedKeyObject::from_model(&key)).map_err(ApiError::internal)
    })
    .await
}
