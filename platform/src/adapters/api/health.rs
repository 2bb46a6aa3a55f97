//! Probes for orchestrators: `/healthz` says the process runs, `/readyz` that it can reach
//! its database.

use actix_web::{get, web, HttpResponse};

use crate::adapters::gateway::error::{ApiError, ErrorType};
use crate::adapters::gateway::state::AppState;

#[utoipa::path(tag = "Health", responses((status = 200, description = "The process is up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(
    tag = "Health",
    responses(
        (status = 200, description = "The database is reachable"),
        (status = 503, description = "The database is not reachable", body = crate::adapters::api::openapi::ErrorBody),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // Bounded: a probe must answer even when the pool is exhausted or the network hangs.
    let probe = crate::infra::db::ping(&state.db);
    match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(unavailable())
        }
        Err(_) => Err(unavailable()),
    }
}

fn unavailable() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        ErrorType::ApiError,
        "database_unavailable",
        "The database is not reachable.",
    )
}
