//! Files: `POST /v1/files` (multipart: `purpose`, `file`), `GET /v1/files/{id}`, and
//! `GET /v1/files/{id}/contents` for the platform's operators reviewing a document.

use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpResponse};
use futures_util::StreamExt;

use super::listing;
use crate::adapters::gateway::error::{ApiError, ErrorType};
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::Auth;
use crate::domain::kyc::files::{self as store, object, IDENTITY_DOCUMENT, MAX_FILE_BYTES};

/// Longest `purpose` or file name read from the form.
const MAX_FIELD_TEXT: usize = 255;

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
        (status = 400, description = "Not a PNG, JPEG or PDF, a bad form, or `document_quota_exceeded`: the account (`Agora-Account`) already has `max_documents_per_account` documents", body = crate::adapters::api::openapi::ErrorBody),
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
    let row = store::upload_identity_document(
        &state.db,
        &state.kyc,
        auth.livemode,
        auth.account_uuid(),
        &bytes,
        filename,
    )
    .await?;
    Ok(HttpResponse::Ok().json(object(&row)))
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
    listing::retrieve(
        "file",
        &path.into_inner(),
        async |id: crate::infra::wire::typed::FileId| {
            Ok(store::find(&state.db, auth.livemode, auth.account, id).await?)
        },
        |f| object(&f),
    )
    .await
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
    let raw = path.into_inner();
    let id = listing::path_id::<crate::infra::wire::typed::FileId>("file", &raw)?;
    let f = store::find(&state.db, auth.livemode, auth.account, id)
        .await?
        .ok_or_else(|| ApiError::not_found("file", &raw))?;
    let bytes = store::load(&state.kyc, f.id)
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(f.mime_type.as_str())
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}
