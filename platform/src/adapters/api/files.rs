//! Files: `POST /v1/files` (multipart: `purpose`, `file`), `GET /v1/files/{id}`, and
//! `GET /v1/files/{id}/contents` for the platform's operators reviewing a document.

use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpResponse};
use agora_onboarding::kyc::entities::file;
use futures_util::StreamExt;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::adapters::gateway::error::{ApiError, ErrorType};
use crate::adapters::gateway::Auth;
use crate::adapters::state::AppState;
use crate::domain::kyc::files::{self as store, IDENTITY_DOCUMENT, MAX_FILE_BYTES};
use crate::infra::wire::ids::{self, IdKind};

/// Longest `purpose` or file name read from the form.
const MAX_FIELD_TEXT: usize = 255;

fn object(f: &file::Model) -> Value {
    json!({
        "id": ids::encode(IdKind::File, f.id),
        "object": "file",
        "livemode": f.livemode,
        "account": f.account_id.map(|a| ids::encode(IdKind::Account, a)),
        "purpose": f.purpose,
        "type": f.mime_type,
        "size": f.size,
        "sha256": f.sha256,
        "filename": f.filename,
        "created": super::timestamp(f.created_at),
    })
}

/// Recognises, seals and stores an identity document and records its metadata. Shared by the
/// API and the hosted onboarding pages, so both accept and refuse the same files.
pub(crate) async fn save_identity_document(
    state: &AppState,
    livemode: bool,
    account: Option<Uuid>,
    bytes: &[u8],
    filename: Option<String>,
) -> Result<file::Model, ApiError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let mime = store::recognise(bytes).ok_or_else(|| {
        ApiError::invalid(
            "file",
            "file_type_invalid",
            "the file is not a PNG, JPEG or PDF (recognised by its content, not its name)",
        )
    })?;
    let id = Uuid::now_v7();
    store::store(&state.kyc, id, bytes)
        .await
        .map_err(ApiError::internal)?;
    let now = crate::infra::clock::now(&state.db, livemode).await?;
    let row = file::ActiveModel {
        id: Set(id),
        livemode: Set(livemode),
        account_id: Set(account),
        purpose: Set(IDENTITY_DOCUMENT.to_owned()),
        mime_type: Set(mime.to_owned()),
        size: Set(i64::try_from(bytes.len()).unwrap_or(i64::MAX)),
        sha256: Set(store::sha256_hex(bytes)),
        filename: Set(filename),
        created_at: Set(now),
    }
    .insert(&state.db)
    .await?;
    Ok(row)
}

pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        ErrorType::InvalidRequestError,
        "file_too_large",
        format!(
            "a file can be at most {} MB",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
    .with_param("file")
}

fn bad_form(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("multipart_invalid", message)
}

#[utoipa::path(
    tag = "Files",
    request_body(content = crate::adapters::api::openapi::FileUpload, content_type = "multipart/form-data", description = "`purpose` (`identity_document`) and `file` (PNG, JPEG or PDF, at most 10 MB)"),
    responses(
        (status = 200, description = "The stored file", body = crate::adapters::api::openapi::FileObject),
        (status = 400, description = "Not a PNG, JPEG or PDF, or a bad form", body = crate::adapters::api::openapi::ErrorBody),
        (status = 413, description = "Larger than 10 MB", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/files")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let mut purpose: Option<String> = None;
    let mut content: Option<(Vec<u8>, Option<String>)> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| bad_form(format!("could not read the form: {e}")))?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "purpose" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| bad_form(e.to_string()))?;
                    if text.len() + chunk.len() > MAX_FIELD_TEXT {
                        return Err(ApiError::invalid(
                            "purpose",
                            "parameter_invalid",
                            "purpose is too long",
                        ));
                    }
                    text.extend_from_slice(&chunk);
                }
                purpose = Some(String::from_utf8_lossy(&text).trim().to_owned());
            }
            "file" => {
                let filename = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .map(|n| n.chars().take(MAX_FIELD_TEXT).collect::<String>());
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| bad_form(e.to_string()))?;
                    // Counted as it arrives: a huge upload is cut off, never buffered whole.
                    if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                content = Some((bytes, filename));
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "parameter_unknown",
                    format!(
                        "unknown form field `{}`",
                        other.chars().take(40).collect::<String>()
                    ),
                ))
            }
        }
    }
    let purpose = purpose
        .ok_or_else(|| ApiError::invalid("purpose", "parameter_missing", "purpose is required"))?;
    if purpose != IDENTITY_DOCUMENT {
        return Err(ApiError::invalid(
            "purpose",
            "parameter_invalid",
            "purpose must be identity_document",
        ));
    }
    let (bytes, filename) = content
        .ok_or_else(|| ApiError::invalid("file", "parameter_missing", "file is required"))?;
    let row = save_identity_document(&state, auth.livemode, auth.account, &bytes, filename).await?;
    Ok(HttpResponse::Ok().json(object(&row)))
}

async fn find(state: &AppState, auth: &Auth, raw: &str) -> Result<file::Model, ApiError> {
    let id = ids::decode(IdKind::File, raw).map_err(|_| ApiError::not_found("file", raw))?;
    file::Entity::find_by_id(id)
        .filter(file::Column::Livemode.eq(auth.livemode))
        .one(&state.db)
        .await?
        .filter(|f| auth.account.is_none() || auth.account == f.account_id)
        .ok_or_else(|| ApiError::not_found("file", raw))
}

#[utoipa::path(
    tag = "Files",
    params(("id" = String, Path, description = "A `file_` id", pattern = "^file_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The file's metadata", body = crate::adapters::api::openapi::FileObject),
        (status = 404, description = "No such file in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/files/{id}")]
pub async fn retrieve(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let f = find(&state, &auth, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(object(&f)))
}

#[utoipa::path(
    tag = "Files",
    params(("id" = String, Path, description = "A `file_` id", pattern = "^file_[0-7][0-9a-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 200, description = "The file's bytes, decrypted"),
        (status = 403, description = "Not available with Agora-Account", body = crate::adapters::api::openapi::ErrorBody),
        (status = 404, description = "No such file in this mode", body = crate::adapters::api::openapi::ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/files/{id}/contents")]
pub async fn contents(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Identity documents are for the operator's eyes: the platform's key only.
    auth.require_platform()?;
    let f = find(&state, &auth, &path.into_inner()).await?;
    let bytes = store::load(&state.kyc, f.id)
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(f.mime_type.as_str())
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}
