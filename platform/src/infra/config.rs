//! Configuration, layered: built-in defaults < `agora.toml` < `AGORA_*` environment < flags.
//! With nothing set at all, Agora serves on 127.0.0.1:8080 with SQLite in `./agora-data`.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The largest request body accepted unless `body_limit_bytes` says otherwise.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 256 * 1024;

/// Who checks identity documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentReview {
    /// Test mode accepts a recognised document at once (a stand-in for a document-checking
    /// vendor, which cannot exist here); live mode always asks the operator.
    Simulated,
    /// Every document goes to the operator's review queue, in both modes.
    Manual,
}

/// `#rrggbb` → (r, g, b).
pub fn parse_hex_color(value: &str) -> Option<(u8, u8, u8)> {
    let hex = value.strip_prefix('#')?;
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let part = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some((part(0)?, part(2)?, part(4)?))
}

/// Where mail goes, parsed from `smtp_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    /// `smtps://`: TLS from the first byte. `smtp://`: plain text, for a relay on the same
    /// host or network (lettre calls this builder "dangerous" for a reason).
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl SmtpTarget {
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = url::Url::parse(value).map_err(|e| format!("smtp_url: {e}"))?;
        let tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "smtp_url: scheme must be smtp or smtps, not {other}"
                ))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| "smtp_url: a host is required".to_owned())?
            .to_owned();
        let port = url.port().unwrap_or(if tls { 465 } else { 25 });
        let user = (!url.username().is_empty()).then(|| url.username().to_owned());
        Ok(Self {
            tls,
            host,
            port,
            user,
            password: url.password().map(str::to_owned),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// An absolute http(s) URL with a host: what a page may link to for the platform's terms.
fn is_http_url(value: &str) -> bool {
    url::Url::parse(value)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `log` is a tracing filter; a bare word in it names a target, so a misspelt level (`infoo`)
/// would silently turn every log line off. A bare directive must be a level, or look like a
/// target (a module path: `::` or `_` in it, as every crate name here has).
fn check_log_filter(filter: &str) -> Result<(), String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !directive.contains(['=', '[', '{']);
        let level = LEVELS.contains(&directive.to_ascii_lowercase().as_str());
        if bare && !level && !directive.contains("::") && !directive.contains('_') {
            return Err(format!(
                "log: `{directive}` is neither a level (trace, debug, info, warn, error, off) nor target=level (e.g. agora_platform=debug)"
            ));
        }
    }
    Ok(())
}

/// The platform name pages and emails show when `branding_name` is not set.
pub const DEFAULT_BRANDING_NAME: &str = "Agora";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: String,
    /// Directory for the SQLite database and other files (outgoing email, bank files).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `agora.db` in `data_dir`.
    pub database_url: Option<String>,
    /// The URL people and platforms reach this server at (links in emails, redirects).
    pub public_url: Option<String>,
    /// tracing filter, e.g. `info` or `agora_platform=debug,info`.
    pub log: String,
    pub log_format: LogFormat,
    /// An OpenTelemetry collector's OTLP/HTTP base URL (`http://collector:4318`): spans are
    /// exported there (`/v1/traces`, protobuf), batched. Unset: nothing is exported.
    pub otlp_endpoint: Option<String>,
    /// PostgreSQL pool size. SQLite always uses one connection: it has one writer.
    pub db_max_connections: u32,
    pub db_connect_timeout_ms: u64,
    /// How long a request waits for a pooled connection before it fails with 500.
    pub db_acquire_timeout_ms: u64,
    /// SQLite waits this long for a lock held by another process (`agora keys` beside `serve`).
    pub sqlite_busy_timeout_ms: u64,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// Time allowed for a client to send its request head.
    pub request_timeout_ms: u64,
    /// Time allowed for the body after the head: a body still arriving after that is cut
    /// off with 408 `request_timeout`. Long enough for a 10 MB document from a phone on a
    /// slow connection (≈ 1 Mbit/s), short enough that a trickling client cannot hold a
    /// connection for good.
    pub body_timeout_ms: u64,
    /// On SIGINT/SIGTERM, in-flight requests get this long to finish.
    pub shutdown_timeout_s: u64,
    /// HTTP worker threads; 0 means one per core.
    pub http_workers: usize,
    /// Answer every request with `Server-Timing: db;dur=…;desc="N statements"` (off by
    /// default: it tells clients how much database work a request took).
    pub server_timing: bool,
    /// Serve Prometheus metrics (off: nothing is recorded, `/metrics` is 404).
    pub metrics: bool,
    /// The path metrics are served at.
    pub metrics_path: String,
    /// A separate address to serve metrics on (e.g. `127.0.0.1:9464`, reachable only from the
    /// scraper's network); unset: on the API's own listener at `metrics_path`.
    pub metrics_bind: Option<String>,
    /// When set, a scrape must send `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// Seconds between the server's own `ledger verify` runs (their result is a metric and an
    /// alert); 0 turns them off. Each run reads the whole ledger.
    pub ledger_verify_interval_s: u64,
    /// Days a captured charge's funds stay pending before they become available.
    pub settlement_delay_days: u32,
    /// Dispute fee a seller pays, in major units of the charge's currency (15 → 15.00 EUR).
    pub dispute_fee: u32,
    /// Requests per second each API key may make (per instance); 0 turns limiting off.
    pub rate_limit_per_second: u32,
    /// Requests a key may make at once before the rate applies.
    pub rate_limit_burst: u32,
    /// Per client address (per instance), before any key is known: failed API-key lookups,
    /// and requests to the hosted pages, per second; 0 turns it off.
    pub ip_rate_limit_per_second: u32,
    /// Failed lookups or page requests an address may make at once before the rate applies.
    pub ip_rate_limit_burst: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed, comma-separated IP addresses
    /// (empty: the client is the TCP peer; the header is never read from anyone else).
    pub trusted_proxies: String,
    /// Percent of every charge taken by the per-mode default fee rule when it is first
    /// created (0 to 100, a decimal string such as `"2.9"`). Later changes go through the API
    /// (`POST /v1/fee_rules/{id}` on the default rule); this value only seeds it.
    #[serde(with = "decimal_setting")]
    pub default_fee_percent: Decimal,
    /// Whether this process delivers webhooks (false: an API-only instance).
    pub webhook_worker: bool,
    /// How often the webhook worker looks for due deliveries without being woken: the
    /// fallback (new deliveries wake it at commit) and what finds retries that came due.
    pub webhook_poll_ms: u64,
    /// Charges committed together in one transaction by the charge writer, at most (group
    /// commit; each keeps a savepoint of its own, so one failure never fails the others).
    pub charge_batch_max: usize,
    /// How long the charge writer waits for more charges after the first of a batch, when its
    /// previous batch had more than one (under load: bigger batches, fewer commits; SQLite at
    /// 64 clients made 1,176 charges/s with 0, 1,698 with 5). A lone charge never waits.
    pub charge_batch_wait_ms: u64,
    /// Charges waiting for the writer, at most; past it `POST /v1/charges` answers 503 with
    /// `Retry-After` instead of queueing without limit.
    pub charge_batch_queue: usize,
    /// Charge writers, each with its own batch transaction (PostgreSQL; SQLite has one):
    /// two overlap one batch's COMMIT with the next batch's INSERTs.
    pub charge_writers: usize,
    /// How long API keys, sellers' charge fields and the test clock are cached in memory
    /// (0: not at all). This process forgets an entry when it changes it; a change made by
    /// another process on the same database is seen within this bound (infra::cache).
    pub cache_ttl_ms: u64,
    /// Webhook attempts in flight at once in this process, over all endpoints of a mode (each
    /// mode has its own, so test endpoints never take live mode's).
    pub webhook_max_in_flight: usize,
    /// Webhook attempts in flight at once per endpoint in this process; each slot is refilled
    /// as its request ends.
    pub webhook_max_per_endpoint: usize,
    /// Lets test-mode webhook endpoints reach loopback, private, link-local and other
    /// non-public addresses (a receiver on this machine or network during development). Off:
    /// every endpoint, in both modes, must resolve to public addresses only, else anyone with a
    /// test key could probe the internal network through the attempts log. Live mode never
    /// reaches them, whatever this says.
    pub webhook_allow_private_targets: bool,
    /// Who is emailed when a webhook endpoint is disabled; unset: nobody (a warning is logged).
    pub operator_email: Option<String>,
    /// AES-256 key (32 bytes, base64) sealing ids, tax ids, bank account numbers, documents,
    /// bank files, queued emails and webhook secrets. Unset: a development key is generated
    /// into `data_dir` (with a warning) and live mode is refused: a key beside the data it
    /// protects protects nothing.
    pub encryption_key: Option<String>,
    /// Earlier keys, still able to open what they sealed (key rotation: `agora keys
    /// rotate-encryption` re-seals everything under `encryption_key`, then remove them).
    pub encryption_previous_keys: Vec<String>,
    /// HMAC key (32 bytes, base64) of the fingerprints that find a duplicate bank account
    /// without its number. Separate from `encryption_key` so that rotating that key does not
    /// change them; never rotated. Unset: generated into `data_dir` (test mode only, as for
    /// `encryption_key`).
    pub fingerprint_key: Option<String>,
    /// Days a bank file is kept after its batch is marked sent; then the sweep deletes it and
    /// `GET /v1/payout_batches/{id}/file` answers 410 `bank_file_expired`. Unsent files are
    /// kept until they are sent.
    pub bank_file_retention_days: u32,
    /// Identity documents one connected account may upload (API with `Agora-Account`, hosted
    /// pages); more are refused with `document_quota_exceeded`.
    pub max_documents_per_account: u32,
    /// An OFAC SDN list in its CSV format; unset: sellers are not screened (a warning).
    pub sanctions_list: Option<PathBuf>,
    /// `simulated` (test mode accepts recognised documents at once; live mode asks the
    /// operator) or `manual` (every document goes to the operator's review queue).
    pub document_review: DocumentReview,
    /// How often requirement deadlines are checked.
    pub kyc_poll_ms: u64,
    /// Lifetime of an account link from `POST /v1/account_links` (minutes, as Stripe's: the
    /// platform makes one just before redirecting the seller).
    pub account_link_ttl_s: u64,
    /// Lifetime of the link in an onboarding email: the seller reads it hours later.
    pub onboarding_email_link_ttl_s: u64,
    /// The platform's name on the hosted pages and in emails.
    pub branding_name: String,
    /// The platform's colour, `#rrggbb`: header and buttons (text colour is chosen for
    /// contrast).
    pub branding_color: String,
    /// An http(s) URL of the platform's logo, shown in the page header.
    pub branding_logo_url: Option<String>,
    /// An http(s) URL of the platform's terms of service, linked from the hosted pages' terms
    /// step and every page's footer.
    pub terms_url: Option<String>,
    /// An http(s) URL of the platform's privacy notice, linked from the same places.
    pub privacy_url: Option<String>,
    /// `smtp://host:port` (plain, for a relay on localhost) or `smtps://user:pass@host:port`;
    /// unset: emails are written as `.eml` files under `data_dir/outbox`.
    pub smtp_url: Option<String>,
    /// The From address of every email (sellers, the operator).
    pub email_from: String,
    /// Whether this process sends the email outbox (false: an API-only instance).
    pub email_worker: bool,
    /// How often the email worker looks for emails to send without being woken: the
    /// fallback (a queued email wakes it at commit) and what finds retries that came due.
    pub email_poll_ms: u64,
    /// SMTP conversations (or `.eml` writes) at once in this process, to the one server.
    pub email_max_in_flight: usize,
    /// Smallest payout, in major units of the payout's currency (1 → 1.00 EUR, 1 JPY,
    /// 1.000 KWD). Scheduled runs skip smaller balances; manual payouts below it are refused.
    pub payout_minimum_major: u32,
    /// Smallest payout per currency, in minor units, e.g. `{ sek = 10000, usd = 500 }`
    /// (100 SEK, 5 USD); a currency not named here uses `payout_minimum_major`.
    pub payout_minimums: std::collections::BTreeMap<String, i64>,
    /// Whether this process runs the payout scheduler (false: an API-only instance).
    pub payout_worker: bool,
    /// How often the payout scheduler runs (each run is idempotent per period).
    pub payout_poll_ms: u64,
    /// The platform's time zone (IANA name): the payout worker's "today" is the date there,
    /// so a daily schedule pays once per local day, not per UTC day.
    pub payout_timezone: String,
    /// Fee for an instant payout, percent of its amount (a decimal string), rounded up to
    /// the minor unit and taken from the seller's balance on top of the amount.
    #[serde(with = "decimal_setting")]
    pub payout_instant_fee_percent: Decimal,
    /// The platform's margin on payouts converted to another currency, percent taken from the
    /// reference rate (a decimal string, 0 to 10, at most 4 decimals).
    #[serde(with = "decimal_setting")]
    pub payout_fx_markup_percent: Decimal,
    /// The platform's name on bank files (debtor, originator).
    pub payout_originator_name: String,
    /// The platform's IBAN that SEPA credit transfers (pain.001) are paid from.
    pub payout_sepa_iban: String,
    /// NACHA: the ODFI routing number (also the immediate destination) and company id.
    pub payout_ach_routing: String,
    pub payout_ach_company_id: String,
    /// Bacs Standard 18: service user number, and the sort code and account paid from.
    pub payout_bacs_sun: String,
    pub payout_bacs_sort_code: String,
    pub payout_bacs_account: String,
    /// Count API usage per key (off: nothing is counted; `GET /v1/api_usage` shows what was).
    pub api_usage: bool,
    /// How often the API usage counted in memory is written to the database (per-minute rows
    /// per key, route and method); usage read back lags by up to this much.
    pub api_usage_flush_ms: u64,
    /// Days the per-minute API usage rows are kept; the expiry sweep deletes older ones.
    pub api_usage_retention_days: u32,
    /// Usage cells (key × route × method × minute) held in memory between flushes, at most;
    /// requests that would need another are not counted (a warning at the next flush).
    pub api_usage_max_cells: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./agora-data"),
            database_url: None,
            public_url: None,
            log: "info".to_owned(),
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            db_max_connections: 16,
            db_connect_timeout_ms: 5_000,
            db_acquire_timeout_ms: 10_000,
            sqlite_busy_timeout_ms: 5_000,
            body_limit_bytes: DEFAULT_BODY_LIMIT_BYTES,
            request_timeout_ms: 10_000,
            body_timeout_ms: 120_000,
            shutdown_timeout_s: 30,
            http_workers: 0,
            server_timing: false,
            metrics: true,
            metrics_path: "/metrics".to_owned(),
            metrics_bind: None,
            metrics_token: None,
            ledger_verify_interval_s: 3_600,
            settlement_delay_days: 2,
            dispute_fee: 15,
            rate_limit_per_second: 100,
            rate_limit_burst: 200,
            ip_rate_limit_per_second: 20,
            ip_rate_limit_burst: 100,
            trusted_proxies: String::new(),
            default_fee_percent: Decimal::ZERO,
            webhook_worker: true,
            webhook_poll_ms: 1_000,
            charge_batch_max: 128,
            charge_batch_wait_ms: 5,
            charge_batch_queue: 4096,
            charge_writers: 2,
            cache_ttl_ms: 1_000,
            webhook_max_in_flight: 256,
            webhook_max_per_endpoint: 32,
            webhook_allow_private_targets: false,
            operator_email: None,
            encryption_key: None,
            encryption_previous_keys: Vec::new(),
            fingerprint_key: None,
            bank_file_retention_days: 30,
            max_documents_per_account: 20,
            sanctions_list: None,
            document_review: DocumentReview::Simulated,
            kyc_poll_ms: 5_000,
            account_link_ttl_s: 300,
            onboarding_email_link_ttl_s: 7 * 24 * 3600,
            branding_name: DEFAULT_BRANDING_NAME.to_owned(),
            branding_color: "#1f4f8a".to_owned(),
            branding_logo_url: None,
            terms_url: None,
            privacy_url: None,
            smtp_url: None,
            email_from: "Agora <agora@localhost>".to_owned(),
            email_worker: true,
            email_poll_ms: 1_000,
            email_max_in_flight: 4,
            payout_minimum_major: 1,
            payout_minimums: std::collections::BTreeMap::new(),
            payout_worker: true,
            payout_poll_ms: 60_000,
            payout_timezone: "UTC".to_owned(),
            payout_instant_fee_percent: Decimal::ONE,
            payout_fx_markup_percent: Decimal::new(5, 1),
            payout_originator_name: "Agora Marketplace".to_owned(),
            // Sample values (the standards' own examples) so test mode writes valid files;
            // live deployments set their own.
            payout_sepa_iban: "DE89370400440532013000".to_owned(),
            payout_ach_routing: "021000021".to_owned(),
            payout_ach_company_id: "1234567890".to_owned(),
            payout_bacs_sun: "123456".to_owned(),
            payout_bacs_sort_code: "404784".to_owned(),
            payout_bacs_account: "70872490".to_owned(),
            api_usage: true,
            api_usage_flush_ms: 10_000,
            api_usage_retention_days: 90,
            api_usage_max_cells: 20_000,
        }
    }
}

/// Environment variables read, each `AGORA_` + the upper-cased key. Listed explicitly so that
/// other `AGORA_*` variables (the test suite's `AGORA_TEST_DATABASE_URL`) are not mistaken for
/// settings.
pub const ENV_KEYS: &[&str] = &[
    "bind",
    "data_dir",
    "database_url",
    "public_url",
    "log",
    "log_format",
    "otlp_endpoint",
    "db_max_connections",
    "db_connect_timeout_ms",
    "db_acquire_timeout_ms",
    "sqlite_busy_timeout_ms",
    "body_limit_bytes",
    "request_timeout_ms",
    "body_timeout_ms",
    "shutdown_timeout_s",
    "http_workers",
    "server_timing",
    "metrics",
    "metrics_path",
    "metrics_bind",
    "metrics_token",
    "ledger_verify_interval_s",
    "settlement_delay_days",
    "dispute_fee",
    "rate_limit_per_second",
    "rate_limit_burst",
    "ip_rate_limit_per_second",
    "ip_rate_limit_burst",
    "trusted_proxies",
    "default_fee_percent",
    "webhook_worker",
    "webhook_poll_ms",
    "charge_batch_max",
    "charge_batch_wait_ms",
    "charge_batch_queue",
    "charge_writers",
    "cache_ttl_ms",
    "webhook_max_in_flight",
    "webhook_max_per_endpoint",
    "webhook_allow_private_targets",
    "operator_email",
    "encryption_key",
    "encryption_previous_keys",
    "fingerprint_key",
    "bank_file_retention_days",
    "max_documents_per_account",
    "sanctions_list",
    "document_review",
    "kyc_poll_ms",
    "account_link_ttl_s",
    "onboarding_email_link_ttl_s",
    "branding_name",
    "branding_color",
    "branding_logo_url",
    "terms_url",
    "privacy_url",
    "smtp_url",
    "email_from",
    "email_worker",
    "email_poll_ms",
    "email_max_in_flight",
    "payout_minimum_major",
    "payout_minimums",
    "payout_worker",
    "payout_poll_ms",
    "payout_timezone",
    "payout_instant_fee_percent",
    "payout_fx_markup_percent",
    "payout_originator_name",
    "payout_sepa_iban",
    "payout_ach_routing",
    "payout_ach_company_id",
    "payout_bacs_sun",
    "payout_bacs_sort_code",
    "payout_bacs_account",
    "api_usage",
    "api_usage_flush_ms",
    "api_usage_retention_days",
    "api_usage_max_cells",
];

/// `host:port` to reach a listener bound to `bind` from this machine (a wildcard bind is
/// reached at 127.0.0.1), for links when `public_url` is unset and for log lines.
pub fn local_url_host(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map_or(bind, |(h, _)| h);
    let host = if host == "0.0.0.0" || host == "[::]" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{port}")
}

/// `AGORA_*` variables that are not settings but read by the test suites and CI (never warned
/// about).
const NOT_SETTINGS: &[&str] = &[
    "config",
    "test_database_url",
    "hosted_tests_required",
    "axe_js",
    "webhook_sample",
    "bank_file_samples",
    "processor_tests_required",
];

/// `AGORA_*` variables in `vars` that name no setting, each with the setting it most likely
/// meant: only the listed keys are read (ENV_KEYS), so a misspelt one (`AGORA_METRIC_BIND`)
/// would otherwise be ignored in silence and its default — metrics on the public port — kept.
pub fn unknown_env_vars(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, Option<&'static str>)> {
    let mut unknown = Vec::new();
    for (name, _) in vars {
        let Some(key) = name.strip_prefix("AGORA_") else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        if key.is_empty()
            || ENV_KEYS.contains(&key.as_str())
            || NOT_SETTINGS.contains(&key.as_str())
        {
            continue;
        }
        let nearest = ENV_KEYS
            .iter()
            .map(|k| (strsim::jaro_winkler(k, &key), *k))
            .filter(|(score, _)| *score >= 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k);
        unknown.push((name, nearest));
    }
    unknown.sort();
    unknown
}

/// Values given as command-line flags: the top layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Loads the layers. `file` is the TOML file (missing is fine unless it was asked for).
    pub fn load(file: &Path, file_required: bool, overrides: &Overrides) -> Result<Self, String> {
        if file_required && !file.exists() {
            return Err(format!(
                "configuration file {} does not exist",
                file.display()
            ));
        }
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("AGORA_").only(ENV_KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.body_limit_bytes == 0 || self.body_limit_bytes > 16 * 1024 * 1024 {
            return Err("body_limit_bytes must be between 1 and 16777216".to_owned());
        }
        if self.db_max_connections == 0 || self.db_max_connections > 1000 {
            return Err("db_max_connections must be between 1 and 1000".to_owned());
        }
        if self.webhook_poll_ms == 0 || self.webhook_poll_ms > 3_600_000 {
            return Err("webhook_poll_ms must be between 1 and 3600000".to_owned());
        }
        if self.charge_batch_max == 0 || self.charge_batch_max > 1_000 {
            return Err("charge_batch_max must be between 1 and 1000".to_owned());
        }
        if self.charge_batch_wait_ms > 100 {
            return Err("charge_batch_wait_ms must be between 0 and 100".to_owned());
        }
        if self.charge_batch_queue == 0 || self.charge_batch_queue > 100_000 {
            return Err("charge_batch_queue must be between 1 and 100000".to_owned());
        }
        if self.charge_writers == 0 || self.charge_writers > 16 {
            return Err("charge_writers must be between 1 and 16".to_owned());
        }
        self.trusted_proxy_ips()?;
        // Not a path something else is served at: metrics on /readyz behind a token would make
        // every instance unready, on /healthz would end liveness.
        let taken = ["/v1", "/healthz", "/readyz", "/docs", "/onboarding"];
        let first_segment = self.metrics_path.split('/').nth(1).unwrap_or("");
        if !self.metrics_path.starts_with('/')
            || self.metrics_path.len() > 100
            || first_segment.is_empty()
            || taken.contains(&format!("/{first_segment}").as_str())
            || self.metrics_path.contains(['?', '#', '{', '}', ' '])
        {
            return Err(format!(
                "metrics_path must be a plain path starting with / (at most 100 characters), not /, and not under /v1, /healthz, /readyz, /docs or /onboarding; got {}",
                self.metrics_path
            ));
        }
        check_log_filter(&self.log)?;
        if let Some(bind) = &self.metrics_bind {
            if bind.parse::<std::net::SocketAddr>().is_err() {
                return Err(format!(
                    "metrics_bind must be an address and port such as 127.0.0.1:9464, not {bind}"
                ));
            }
        }
        if let Some(token) = &self.metrics_token {
            // A token short enough to guess, or with characters a header cannot carry, is a
            // mistake better caught at start than at the first scrape.
            if token.len() < 16 || token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(
                    "metrics_token must be 16 to 256 printable ASCII characters without spaces"
                        .to_owned(),
                );
            }
        }
        if self.ledger_verify_interval_s != 0
            && !(60..=7 * 86_400).contains(&self.ledger_verify_interval_s)
        {
            return Err(
                "ledger_verify_interval_s must be 0 (off) or between 60 and 604800".to_owned(),
            );
        }
        if self.body_timeout_ms == 0 || self.body_timeout_ms > 600_000 {
            return Err("body_timeout_ms must be between 1 and 600000".to_owned());
        }
        if self.cache_ttl_ms > 60_000 {
            return Err("cache_ttl_ms must be between 0 and 60000".to_owned());
        }
        if self.webhook_max_in_flight == 0 || self.webhook_max_in_flight > 10_000 {
            return Err("webhook_max_in_flight must be between 1 and 10000".to_owned());
        }
        if self.webhook_max_per_endpoint == 0 || self.webhook_max_per_endpoint > 1_000 {
            return Err("webhook_max_per_endpoint must be between 1 and 1000".to_owned());
        }
        if self.dispute_fee > 10_000 {
            return Err("dispute_fee must be between 0 and 10000 (major units)".to_owned());
        }
        if self.settlement_delay_days > 365 {
            return Err("settlement_delay_days must be between 0 and 365".to_owned());
        }
        if self.default_fee_percent < Decimal::ZERO
            || self.default_fee_percent > Decimal::ONE_HUNDRED
        {
            return Err(format!(
                "default_fee_percent must be between 0 and 100, got {}",
                self.default_fee_percent
            ));
        }
        if self.account_link_ttl_s == 0 || self.account_link_ttl_s > 24 * 3600 {
            return Err("account_link_ttl_s must be between 1 and 86400".to_owned());
        }
        if self.onboarding_email_link_ttl_s == 0 || self.onboarding_email_link_ttl_s > 30 * 86400 {
            return Err("onboarding_email_link_ttl_s must be between 1 and 2592000".to_owned());
        }
        if parse_hex_color(&self.branding_color).is_none() {
            return Err("branding_color must be #rrggbb".to_owned());
        }
        if self.branding_name.trim().is_empty() || self.branding_name.chars().count() > 80 {
            return Err("branding_name must be 1 to 80 characters".to_owned());
        }
        if let Some(logo) = &self.branding_logo_url {
            if !(logo.starts_with("https://") || logo.starts_with("http://")) {
                return Err("branding_logo_url must be an http(s) URL".to_owned());
            }
        }
        for (key, value) in [
            ("terms_url", &self.terms_url),
            ("privacy_url", &self.privacy_url),
        ] {
            if let Some(url) = value {
                if !is_http_url(url) {
                    return Err(format!(
                        "{key} must be an absolute http(s) URL such as https://platform.example/terms"
                    ));
                }
            }
        }
        if let Some(url) = &self.smtp_url {
            SmtpTarget::parse(url)?;
        }
        if self.email_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(
                "email_from must be an email address (`Name <addr@host>` is fine)".to_owned(),
            );
        }
        if self.payout_minimum_major > 1_000_000 {
            return Err("payout_minimum_major must be between 0 and 1000000".to_owned());
        }
        if self.payout_minimums.len() > 200 {
            return Err("payout_minimums names at most 200 currencies".to_owned());
        }
        for (code, minimum) in &self.payout_minimums {
            if agora_ledger::Currency::parse(code).is_err() {
                return Err(format!(
                    "payout_minimums: {code} is not an ISO 4217 currency code"
                ));
            }
            if !(0..=1_000_000_000_000).contains(minimum) {
                return Err(format!(
                    "payout_minimums: {code} must be between 0 and 1000000000000 minor units"
                ));
            }
        }
        if self.bank_file_retention_days > 3_650 {
            return Err("bank_file_retention_days must be between 0 and 3650".to_owned());
        }
        if self.max_documents_per_account == 0 || self.max_documents_per_account > 10_000 {
            return Err("max_documents_per_account must be between 1 and 10000".to_owned());
        }
        if self.encryption_previous_keys.len() > 16 {
            return Err("encryption_previous_keys holds at most 16 keys".to_owned());
        }
        if self.email_max_in_flight == 0 || self.email_max_in_flight > 64 {
            return Err("email_max_in_flight must be between 1 and 64".to_owned());
        }
        if self.email_poll_ms == 0 || self.email_poll_ms > 3_600_000 {
            return Err("email_poll_ms must be between 1 and 3600000".to_owned());
        }
        if self.payout_timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(format!(
                "payout_timezone must be an IANA time zone such as Europe/Stockholm, not {}",
                self.payout_timezone
            ));
        }
        if self.payout_poll_ms == 0 || self.payout_poll_ms > 86_400_000 {
            return Err("payout_poll_ms must be between 1 and 86400000".to_owned());
        }
        if self.payout_instant_fee_percent < Decimal::ZERO
            || self.payout_instant_fee_percent > Decimal::TEN
        {
            return Err("payout_instant_fee_percent must be between 0 and 10".to_owned());
        }
        if self.payout_fx_markup_percent < Decimal::ZERO
            || self.payout_fx_markup_percent > Decimal::TEN
            || self.payout_fx_markup_percent.scale() > 4
        {
            return Err(
                "payout_fx_markup_percent must be between 0 and 10 with at most 4 decimals"
                    .to_owned(),
            );
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            check_otlp_endpoint(endpoint)?;
        }
        if self.api_usage_flush_ms < 10 || self.api_usage_flush_ms > 600_000 {
            return Err("api_usage_flush_ms must be between 10 and 600000".to_owned());
        }
        if self.api_usage_retention_days == 0 || self.api_usage_retention_days > 3_650 {
            return Err("api_usage_retention_days must be between 1 and 3650".to_owned());
        }
        if self.api_usage_max_cells < 100 || self.api_usage_max_cells > 1_000_000 {
            return Err("api_usage_max_cells must be between 100 and 1000000".to_owned());
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err("database_url must start with sqlite: or postgres://".to_owned());
            }
        }
        Ok(())
    }

    /// The database URL in effect: the configured one, or SQLite in the data dir.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("agora.db").display()
            ),
        }
    }

    /// `trusted_proxies` read: at most 32 addresses (a proxy chain, not a network list).
    pub fn trusted_proxy_ips(&self) -> Result<Vec<std::net::IpAddr>, String> {
        let ips = self
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<std::net::IpAddr>()
                    .map(|ip| ip.to_canonical())
                    .map_err(|_| format!("trusted_proxies: '{s}' is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ips.len() > 32 {
            return Err("trusted_proxies: at most 32 addresses".to_owned());
        }
        Ok(ips)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }
}

/// An OTLP/HTTP endpoint: an http(s) URL with a host, no query, fragment or credentials (the
/// exporter appends `/v1/traces` to its path), at most 2,048 characters.
fn check_otlp_endpoint(endpoint: &str) -> Result<(), String> {
    const WHAT: &str = "otlp_endpoint must be an http(s) URL such as http://collector:4318";
    if endpoint.len() > 2_048 {
        return Err(format!("{WHAT} (at most 2048 characters)"));
    }
    let url = url::Url::parse(endpoint).map_err(|e| format!("{WHAT}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(WHAT.to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{WHAT}, without a query or fragment"));
    }
    // The endpoint is logged at start; credentials belong in OTEL_EXPORTER_OTLP_HEADERS.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{WHAT}, without credentials (give them in OTEL_EXPORTER_OTLP_HEADERS)"
        ));
    }
    Ok(())
}

/// A decimal setting, written as a string (`"2.9"`). An environment variable is parsed by
/// figment into a number before we see it, so numbers are accepted too and read back through
/// their shortest decimal form (`2.9`, never `2.8999…`); in `agora.toml` write a string.
mod decimal_setting {
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::{de, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Decimal;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal string such as \"2.9\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                Decimal::from_str_exact(v.trim())
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal::from(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal::from(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                // `{}` prints the shortest string that reads back as the same f64.
                Decimal::from_str(&format!("{v}"))
                    .map_err(|_| E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        let config = Config::default();
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(
            config.database_url(),
            "sqlite://./agora-data/agora.db?mode=rwc"
        );
        assert!(config.is_sqlite());
    }

    #[test]
    fn metrics_never_take_a_path_something_else_is_served_at() {
        for (path, ok) in [
            ("/metrics", true),
            ("/internal/metrics", true),
            ("/healthz", false),
            ("/readyz", false),
            ("/readyz/x", false),
            ("/v1/metrics", false),
            ("/docs/metrics", false),
            ("/onboarding/m", false),
            ("/", false),
            ("metrics", false),
            ("/metrics?x=1", false),
        ] {
            let config = Config {
                metrics_path: path.to_owned(),
                ..Config::default()
            };
            assert_eq!(config.check().is_ok(), ok, "{path}");
        }
    }

    #[test]
    fn misspelt_environment_variables_are_named_with_what_they_likely_meant() {
        let vars = [
            ("AGORA_METRIC_BIND", "127.0.0.1:9464"),
            ("AGORA_METRICS_BIND", "127.0.0.1:9464"),
            ("AGORA_TEST_DATABASE_URL", "postgres://x"),
            ("AGORA_ZZZ", "1"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            unknown_env_vars(vars),
            vec![
                ("AGORA_METRIC_BIND".to_owned(), Some("metrics_bind")),
                ("AGORA_ZZZ".to_owned(), None),
            ]
        );
    }

    #[test]
    fn a_misspelt_log_level_is_refused_not_silent() {
        for (filter, ok) in [
            ("info", true),
            ("WARN", true),
            ("agora_platform=debug,info", true),
            ("agora_platform", true),
            ("tower::buffer=off,warn", true),
            ("infoo", false),
            ("info,debgu", false),
        ] {
            assert_eq!(check_log_filter(filter).is_ok(), ok, "{filter}");
        }
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn terms_and_privacy_urls_come_from_the_environment_and_must_be_http() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AGORA_TERMS_URL", "https://platform.example/terms");
            jail.set_env("AGORA_PRIVACY_URL", "http://platform.example/privacy");
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(
                config.terms_url.as_deref(),
                Some("https://platform.example/terms")
            );
            assert_eq!(
                config.privacy_url.as_deref(),
                Some("http://platform.example/privacy")
            );
            Ok(())
        });
        for bad in [
            "javascript:alert(1)",
            "/terms",
            "ftp://platform.example/t",
            "https://",
        ] {
            let config = Config {
                terms_url: Some(bad.to_owned()),
                ..Config::default()
            };
            let err = config.check().unwrap_err();
            assert!(err.contains("terms_url"), "{bad}: {err}");
            let config = Config {
                privacy_url: Some(bad.to_owned()),
                ..Config::default()
            };
            assert!(config.check().unwrap_err().contains("privacy_url"), "{bad}");
        }
        assert_eq!(Config::default().check(), Ok(()));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's own error type, in a test
    fn layers_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "agora.toml",
                "bind = \"0.0.0.0:1\"\nlog = \"debug\"\ndata_dir = \"/tmp/x\"",
            )?;
            jail.set_env("AGORA_BIND", "0.0.0.0:2");
            jail.set_env("AGORA_TEST_DATABASE_URL", "postgres://ignored");
            let flags = Overrides {
                log: Some("warn".to_owned()),
                ..Overrides::default()
            };
            let config = Config::load(Path::new("agora.toml"), false, &flags)
                .map_err(figment::Error::from)?;
            assert_eq!(config.bind, "0.0.0.0:2", "env beats the file");
            assert_eq!(config.log, "warn", "flags beat everything");
            assert_eq!(
                config.data_dir,
                PathBuf::from("/tmp/x"),
                "the file beats defaults"
            );
            assert_eq!(config.database_url, None);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn default_fee_percent_from_file_and_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("agora.toml", "default_fee_percent = \"2.9\"")?;
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(config.default_fee_percent.to_string(), "2.9");
            jail.set_env("AGORA_DEFAULT_FEE_PERCENT", "1.15");
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(config.default_fee_percent.to_string(), "1.15");
            jail.set_env("AGORA_DEFAULT_FEE_PERCENT", "101");
            let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
            assert!(err.is_err_and(|e| e.contains("default_fee_percent")));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn payout_minimums_from_file_and_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("agora.toml", "[payout_minimums]\nsek = 10000\nusd = 500")?;
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(config.payout_minimums.get("sek"), Some(&10_000));
            assert_eq!(config.payout_minimums.get("usd"), Some(&500));
            jail.set_env("AGORA_PAYOUT_MINIMUMS", "{eur=2500}");
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(config.payout_minimums.get("eur"), Some(&2_500));
            jail.set_env("AGORA_PAYOUT_MINIMUMS", "{xyz=1}");
            let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
            assert!(err.is_err_and(|e| e.contains("xyz")));
            jail.set_env("AGORA_PAYOUT_MINIMUMS", "{eur=-1}");
            let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
            assert!(err.is_err_and(|e| e.contains("payout_minimums")));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn the_payout_time_zone_must_be_a_real_one() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AGORA_PAYOUT_TIMEZONE", "Europe/Stockholm");
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(config.payout_timezone, "Europe/Stockholm");
            jail.set_env("AGORA_PAYOUT_TIMEZONE", "Mars/Olympus");
            let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
            assert!(err.is_err_and(|e| e.contains("payout_timezone")));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn key_and_file_settings_from_the_environment_and_their_limits() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AGORA_FINGERPRINT_KEY", "ZGVm");
            jail.set_env("AGORA_ENCRYPTION_PREVIOUS_KEYS", "[a+/=, b]");
            jail.set_env("AGORA_BANK_FILE_RETENTION_DAYS", "7");
            jail.set_env("AGORA_MAX_DOCUMENTS_PER_ACCOUNT", "5");
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(config.fingerprint_key.as_deref(), Some("ZGVm"));
            assert_eq!(config.encryption_previous_keys, ["a+/=", "b"]);
            assert_eq!(config.bank_file_retention_days, 7);
            assert_eq!(config.max_documents_per_account, 5);
            jail.set_env("AGORA_BANK_FILE_RETENTION_DAYS", "3651");
            let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
            assert!(err.is_err_and(|e| e.contains("bank_file_retention_days")));
            jail.set_env("AGORA_BANK_FILE_RETENTION_DAYS", "0");
            jail.set_env("AGORA_MAX_DOCUMENTS_PER_ACCOUNT", "0");
            let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
            assert!(err.is_err_and(|e| e.contains("max_documents_per_account")));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn api_usage_settings_and_their_limits() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(config.api_usage_flush_ms, 10_000);
            assert_eq!(config.api_usage_retention_days, 90);
            jail.set_env("AGORA_API_USAGE_FLUSH_MS", "500");
            jail.set_env("AGORA_API_USAGE_RETENTION_DAYS", "30");
            jail.set_env("AGORA_API_USAGE_MAX_CELLS", "1000");
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(config.api_usage_flush_ms, 500);
            assert_eq!(config.api_usage_retention_days, 30);
            assert_eq!(config.api_usage_max_cells, 1_000);
            for (var, bad, name) in [
                ("AGORA_API_USAGE_FLUSH_MS", "0", "api_usage_flush_ms"),
                (
                    "AGORA_API_USAGE_RETENTION_DAYS",
                    "0",
                    "api_usage_retention_days",
                ),
                ("AGORA_API_USAGE_MAX_CELLS", "10", "api_usage_max_cells"),
            ] {
                jail.set_env(var, bad);
                let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
                assert!(err.is_err_and(|e| e.contains(name)), "{var}={bad}");
                jail.clear_env();
            }
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn typos_in_the_file_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("agora.toml", "bnid = \"0.0.0.0:1\"")?;
            let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
            assert!(err.is_err_and(|e| e.contains("bnid")));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn otlp_endpoint_is_off_by_default_and_checked_when_set() {
        assert_eq!(Config::default().otlp_endpoint, None);
        figment::Jail::expect_with(|jail| {
            jail.set_env("AGORA_OTLP_ENDPOINT", "http://collector:4318");
            let config = Config::load(Path::new("agora.toml"), false, &Overrides::default())
                .map_err(figment::Error::from)?;
            assert_eq!(
                config.otlp_endpoint.as_deref(),
                Some("http://collector:4318")
            );
            for bad in [
                "collector:4318",
                "ftp://collector:4318",
                "http://",
                "http://collector:4318/?token=x",
                "https://user:secret@collector:4318",
            ] {
                jail.set_env("AGORA_OTLP_ENDPOINT", bad);
                let err = Config::load(Path::new("agora.toml"), false, &Overrides::default());
                assert!(
                    err.as_ref().is_err_and(|e| e.contains("otlp_endpoint")),
                    "{bad}: {err:?}"
                );
            }
            Ok(())
        });
    }
}
