//! The application: binds its own listener (port 0 in tests), wires the gateway, the API, the
//! docs and the pages, and runs the workers beside the HTTP server until shutdown.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use sea_orm::DatabaseConnection;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::{self, openapi::ApiDoc};
use crate::config::Config;
use crate::gateway::{context, error::ApiError};
use crate::state::AppState;
use crate::{db, pages, workers};

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

/// Every API route, under `/v1`. Registered through utoipa-actix-web so each handler's
/// `#[utoipa::path]` lands in the OpenAPI document.
fn api_routes(cfg: &mut ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/v1")
            .service(api::accounts::create)
            .service(api::accounts::list)
            .service(api::accounts::retrieve)
            .service(api::accounts::update)
            .service(api::events::list)
            .service(api::events::retrieve),
    )
    .service(api::health::healthz)
    .service(api::health::readyz);
}

/// The OpenAPI document, generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api_routes)
        .split_for_parts();
    spec
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::from_status(
        actix_web::http::StatusCode::NOT_FOUND,
    ))
}

impl Application {
    /// Connects, migrates and binds. Nothing is served until [`Application::run_until_stopped`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = db::connect(&config).await?;
        db::migrate(&db).await?;
        Self::build_with_db(config, db)
    }

    pub fn build_with_db(config: Config, db: DatabaseConnection) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr()?.port();
        let state = AppState {
            db,
            config: Arc::new(config),
        };
        let spec = openapi();
        let data = web::Data::new(state.clone());
        let config = state.config.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                // Before the /v1 scope, which would otherwise claim /v1/openapi.json.
                .service(SwaggerUi::new("/docs/{_:.*}").url("/v1/openapi.json", spec.clone()))
                .service(pages::index)
                .service(pages::stylesheet)
                .into_utoipa_app()
                .configure(api_routes)
                .into_app()
                .default_service(web::to(not_found))
                .wrap(from_fn(context::middleware))
        })
        .client_request_timeout(Duration::from_millis(config.request_timeout_ms))
        .shutdown_timeout(config.shutdown_timeout_s);
        if config.http_workers > 0 {
            server = server.workers(config.http_workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM (actix stops accepting, lets in-flight requests finish
    /// within `shutdown_timeout_s`), then stops the workers.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handles = workers::spawn(self.state.clone(), stopped);
        let result = self.server.await;
        let _ = stop.send(true);
        for handle in handles {
            let _ = handle.await;
        }
        result
    }
}
