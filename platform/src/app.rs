//! The application: binds its own listener (port 0 in tests), wires the gateway, the API, the
//! docs and the pages, and runs the workers beside the HTTP server until shutdown.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use sea_orm::DatabaseConnection;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::adapters::api::{self, openapi::ApiDoc};
use crate::adapters::gateway::state::AppState;
use crate::adapters::gateway::{context, error::ApiError};
use crate::infra::config::Config;
use crate::{adapters::pages, infra::db, workers};

pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener when `metrics_bind` is set: its own server, stopped with the API's.
    metrics_server: Option<(u16, Server)>,
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
            .service(api::accounts::reject)
            .service(api::external_accounts::create)
            .service(api::external_accounts::list)
            .service(api::external_accounts::retrieve)
            .service(api::external_accounts::update)
            .service(api::external_accounts::delete)
            .service(api::files::create)
            .service(api::files::retrieve)
            .service(api::files::contents)
            .service(api::account_links::create)
            .service(api::account_links::onboarding_email)
            .service(api::reviews::list)
            .service(api::reviews::retrieve)
            .service(api::reviews::approve)
            .service(api::reviews::reject)
            .service(api::events::list)
            .service(api::events::retrieve)
            .service(api::charges::create)
            .service(api::charges::list)
            .service(api::charges::retrieve)
            .service(api::charges::capture)
            .service(api::refunds::create)
            .service(api::refunds::list)
            .service(api::refunds::retrieve)
            .service(api::transfers::create)
            .service(api::transfers::list)
            .service(api::transfers::retrieve)
            .service(api::transfers::reverse)
            .service(api::payouts::create)
            .service(api::payouts::list)
            .service(api::payouts::retrieve)
            .service(api::payouts::cancel)
            .service(api::payouts::reconciliation)
            .service(api::payouts::get_settings)
            .service(api::payouts::update_settings)
            .service(api::payouts::list_batches)
            .service(api::payouts::retrieve_batch)
            .service(api::payouts::batch_file)
            .service(api::payouts::mark_sent)
            .service(api::payouts::test_run)
            .service(api::payouts::test_pay)
            .service(api::payouts::test_fail)
            .service(api::balance::retrieve)
            .service(api::balance::advance_clock)
            .service(api::balance::transactions)
            .service(api::disputes::list)
            .service(api::disputes::retrieve)
            .service(api::disputes::close)
            .service(api::disputes::test_dispute)
            .service(api::fee_rules::create)
            .service(api::fee_rules::list)
            .service(api::fee_rules::retrieve)
            .service(api::fee_rules::update)
            .service(api::fee_rules::deactivate)
            .service(api::fee_rules::quote)
            .service(api::webhook_endpoints::create)
            .service(api::webhook_endpoints::list)
            .service(api::webhook_endpoints::retrieve)
            .service(api::webhook_endpoints::update)
            .service(api::webhook_endpoints::delete)
            .service(api::webhook_endpoints::rotate_secret)
            .service(api::webhook_endpoints::attempts)
            .service(api::webhook_endpoints::redeliver)
            .service(api::restricted_keys::create)
            .service(api::restricted_keys::list)
            .service(api::restricted_keys::retrieve)
            .service(api::restricted_keys::revoke)
            .service(api::api_usage::retrieve),
    )
    .service(api::health::healthz)
    .service(api::health::readyz);
}

/// The OpenAPI document, generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api_routes)
        .split_for_parts();
    // The responses the gateway adds to every operation, once the paths are known.
    utoipa::Modify::modify(&api::openapi::CommonResponses, &mut spec);
    spec
}

/// The routes of the API as (path template, methods), read from the OpenAPI document so the
/// fallback below always agrees with what is served.
#[derive(Clone)]
struct KnownRoutes(Arc<Vec<(Vec<String>, Vec<&'static str>)>>);

impl KnownRoutes {
    fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let routes = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.split('/').map(str::to_owned).collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (segments, methods)
            })
            .collect();
        Self(Arc::new(routes))
    }

    /// The methods allowed on `path`, if it is one of ours.
    fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut allowed: Vec<&'static str> = Vec::new();
        for (template, methods) in self.0.iter() {
            let matches = template.len() == parts.len()
                && template.iter().zip(&parts).all(|(t, p)| {
                    if t.starts_with('{') && t.ends_with('}') {
                        !p.is_empty()
                    } else {
                        t == p
                    }
                });
            if matches {
                allowed.extend(methods);
            }
        }
        (!allowed.is_empty()).then_some(allowed)
    }
}

/// No route matched: 405 with `Allow` when the path exists under another method, else 404.
async fn fallback(
    req: HttpRequest,
    routes: web::Data<KnownRoutes>,
) -> Result<HttpResponse, ApiError> {
    match routes.allowed(req.path()) {
        Some(methods) => {
            let error = ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED);
            Ok(HttpResponse::build(StatusCode::METHOD_NOT_ALLOWED)
                .insert_header((actix_web::http::header::ALLOW, methods.join(", ")))
                .content_type("application/json")
                .body(error.body_json(context::current_request_id().as_deref())))
        }
        None => Err(ApiError::from_status(StatusCode::NOT_FOUND)),
    }
}

/// A listener of its own for `/metrics` (metrics_bind): nothing else is served there, so it can
/// be bound to an address only the scraper reaches. Same middleware (request ids, JSON errors).
/// `probes`: also `/healthz` and `/readyz`, for `agora worker`, which has no other listener.
pub(crate) fn metrics_server(
    bind: &str,
    state: &AppState,
    probes: bool,
) -> anyhow::Result<(u16, Server)> {
    let listener = TcpListener::bind(bind)
        .map_err(|e| anyhow::anyhow!("cannot listen on metrics_bind {bind}: {e}"))?;
    let port = listener.local_addr()?.port();
    let data = web::Data::new(state.clone());
    let path = state.config.metrics_path.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route(path.as_str(), web::get().to(api::metrics::scrape))
            .configure(|cfg| {
                if probes {
                    cfg.service(api::health::healthz)
                        .service(api::health::readyz);
                }
            })
            .default_service(web::to(|| async {
                Err::<HttpResponse, ApiError>(ApiError::from_status(StatusCode::NOT_FOUND))
            }))
            .wrap(from_fn(context::middleware))
    })
    // Scrapes are small and few: one thread is plenty.
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((port, server))
}

impl AppState {
    /// What the server and the workers share. `port` is where this process listens (for
    /// links when `public_url` is unset).
    pub fn build(
        config: Config,
        db: DatabaseConnection,
        port: u16,
        rate_limiter: Arc<crate::adapters::gateway::rate_limit::RateLimiter>,
    ) -> anyhow::Result<Self> {
        let charge_writer = crate::adapters::gateway::batch::ChargeWriter::spawn(
            db.clone(),
            crate::adapters::gateway::batch::BatchLimits {
                max: config.charge_batch_max,
                wait: Duration::from_millis(config.charge_batch_wait_ms),
                queue: config.charge_batch_queue,
                writers: config.charge_writers,
            },
        );
        let client_limits = crate::adapters::gateway::rate_limit::ClientLimits::new(
            config.ip_rate_limit_per_second,
            config.ip_rate_limit_burst,
            config.trusted_proxy_ips().map_err(anyhow::Error::msg)?,
        );
        Ok(AppState {
            db,
            client_limits: Arc::new(client_limits),
            charge_writer,
            caches: Arc::new(crate::adapters::gateway::state::Caches::new(
                Duration::from_millis(config.cache_ttl_ms),
            )),
            webhooks: Arc::new(crate::domain::webhooks::Runtime::new(
                config.webhook_max_in_flight,
                config.webhook_max_per_endpoint,
                config.webhook_allow_private_targets,
            )?),
            kyc: Arc::new(crate::domain::kyc::Runtime::load(&config)?),
            public_url: match &config.public_url {
                Some(url) => url.trim_end_matches('/').into(),
                None => format!(
                    "http://{}",
                    crate::infra::config::local_url_host(&config.bind, port)
                )
                .into(),
            },
            usage: Arc::new(crate::domain::usage::Recorder::new(
                config.api_usage_max_cells,
            )),
            config: Arc::new(config),
            rate_limiter,
        })
    }
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
        let rate_limiter = Arc::new(crate::adapters::gateway::rate_limit::RateLimiter::new(
            config.rate_limit_per_second,
            config.rate_limit_burst,
        ));
        let state = AppState::build(config, db, port, rate_limiter)?;
        // Metrics on the API's own port unless they have a listener of their own.
        let metrics_here = state.config.metrics
            && crate::infra::metrics::install().is_some()
            && state.config.metrics_bind.is_none();
        // The alert on a verify not run compares against the interval (0: off, no alert).
        ::metrics::gauge!(crate::infra::metrics::names::LEDGER_VERIFY_INTERVAL)
            .set(state.config.ledger_verify_interval_s as f64);
        let metrics_server = match (&state.config.metrics_bind, state.config.metrics) {
            (Some(bind), true) => Some(metrics_server(bind, &state, false)?),
            _ => None,
        };
        let spec = openapi();
        let known_routes = web::Data::new(KnownRoutes::from_spec(&spec));
        let data = web::Data::new(state.clone());
        let config = state.config.clone();
        let metrics_path = config.metrics_path.clone();
        let mut server = HttpServer::new(move || {
            let metrics_route = metrics_here.then(|| {
                web::resource(metrics_path.as_str()).route(web::get().to(api::metrics::scrape))
            });
            App::new()
                .app_data(data.clone())
                .app_data(known_routes.clone())
                .configure(|cfg| {
                    if let Some(route) = metrics_route {
                        cfg.service(route);
                    }
                })
                // Before the /v1 scope, which would otherwise claim /v1/openapi.json.
                .service(SwaggerUi::new("/docs/{_:.*}").url("/v1/openapi.json", spec.clone()))
                .service(web::redirect("/docs", "/docs/"))
                .service(pages::index)
                .service(pages::stylesheet)
                .configure(crate::adapters::hosted::routes)
                .into_utoipa_app()
                .configure(api_routes)
                .into_app()
                .default_service(web::to(fallback))
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
            metrics_server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener (`metrics_bind`), if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(port, _)| *port)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM (actix stops accepting, lets in-flight requests finish
    /// within `shutdown_timeout_s`), then stops the workers.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handles = workers::spawn(self.state.clone(), stopped);
        let metrics = self.metrics_server.map(|(_, server)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let result = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        let _ = stop.send(true);
        for handle in handles {
            let _ = handle.await;
        }
        result
    }
}
