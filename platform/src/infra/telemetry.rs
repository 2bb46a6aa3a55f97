//! Logs go to stderr (stdout is for what a command prints, like a new key), as text or JSON.
//! With `otlp_endpoint` set, spans are also exported to an OpenTelemetry collector over
//! OTLP/HTTP (protobuf): the request span (method, route, status, request id, latency,
//! database work), the charge writer's batches (linked to their requests) and the periodic
//! workers' passes, under the service name `agora`.
//!
//! Export never slows or fails a request: a finished span is put on a bounded queue
//! (2,048 spans unless `OTEL_BSP_MAX_QUEUE_SIZE` says otherwise; when full, spans are dropped)
//! and a thread of the SDK's own sends batches from it, each send bounded by
//! [`EXPORT_TIMEOUT`]. A collector that cannot be reached is logged once (and once more when it
//! answers again), not at every batch. [`Telemetry::shutdown`] sends what is still queued.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::infra::config::LogFormat;

/// The service name spans are exported under.
pub const SERVICE_NAME: &str = "agora";
/// One export request to the collector, at most.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for the last spans to be sent: one export and a little.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(6);

/// What [`init_with_export`] started; keep it until the process ends, then
/// [`Telemetry::shutdown`].
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (waiting at most [`SHUTDOWN_WAIT`]) and stops the
    /// exporter. Blocks: call it outside the async runtime, or from a blocking task.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.shutdown_with_timeout(SHUTDOWN_WAIT) {
                tracing::warn!(error = %e, "the last spans could not be exported");
            }
        }
    }

    /// Whether spans are being exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

/// Logs only (no span export). A second init (tests start many apps in one process) is
/// harmless: the first stays.
pub fn init(filter: &str, format: LogFormat) {
    let _ = init_with_export(filter, format, None);
}

/// Logs, and spans exported to `otlp_endpoint` when given (see the module comment). A
/// collector that is down at start is no error: export starts when it answers. An endpoint
/// the exporter refuses (config checks it first, so not expected) is logged and export is
/// off.
pub fn init_with_export(filter: &str, format: LogFormat, otlp_endpoint: Option<&str>) -> Telemetry {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Each layer filters for itself: the log level must not decide which spans are exported
    // (`log = "warn"` would otherwise disable the request spans), and only our own spans are
    // exported (never the HTTP client's, which sends the export: no spans about spans).
    // Colours only for a person at a terminal: a file, journald or a log shipper would keep
    // the escape codes, and `request_id=req_…` would no longer be found as written.
    let ansi = std::io::stderr().is_terminal();
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(filter);
    let (provider, problem) = match otlp_endpoint.map(provider) {
        Some(Ok(provider)) => (Some(provider), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(SERVICE_NAME))
            // Thread names and ids mean nothing on a work-stealing runtime.
            .with_threads(false)
            .with_filter(
                Targets::new()
                    .with_target("agora_platform", LevelFilter::INFO)
                    .with_default(LevelFilter::OFF),
            )
    });
    let installed = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()
        .is_ok();
    if let Some(problem) = problem {
        tracing::error!(error = %problem, "span export is off");
    }
    match (installed, provider) {
        (true, Some(provider)) => {
            tracing::info!(
                endpoint = %traces_url(otlp_endpoint.unwrap_or_default()),
                "exporting spans over OTLP/HTTP"
            );
            Telemetry {
                provider: Some(provider),
            }
        }
        // Not installed (a subscriber was already set): nothing would reach this provider.
        (_, provider) => {
            if let Some(provider) = provider {
                let _ = provider.shutdown_with_timeout(Duration::ZERO);
            }
            Telemetry { provider: None }
        }
    }
}

/// The traces URL of an OTLP/HTTP endpoint: its base URL + `/v1/traces`, unless it already
/// ends so (as `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` differ).
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

fn provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    // reqwest's blocking client (the exporter's) builds a rustls client: it needs the process's
    // crypto provider, which may not be installed yet this early.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let exporter = ReportedOnce {
        inner: exporter,
        failing: AtomicBool::new(false),
    };
    let resource = Resource::builder()
        .with_service_name(SERVICE_NAME)
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .with_resource(resource)
        .build())
}

/// The OTLP exporter, with its failures logged once: a warning when exports start failing,
/// a note when they work again. The SDK itself logs nothing (its internal logs are off), and
/// a collector that is down would otherwise fail every batch in silence.
#[derive(Debug)]
struct ReportedOnce<E> {
    inner: E,
    failing: AtomicBool,
}

impl<E: SpanExporter> SpanExporter for ReportedOnce<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("the OpenTelemetry collector takes spans again");
                }
            }
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        error = %crate::infra::workers_status::scrub(&e.to_string()),
                        spans,
                        "cannot export spans to the OpenTelemetry collector; dropping them until it answers (logged once)"
                    );
                }
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(
            traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example/v1/traces"),
            "https://otel.example/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example/prefix"),
            "https://otel.example/prefix/v1/traces"
        );
    }
}
