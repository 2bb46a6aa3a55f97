//! The command line. Logs go to stderr; stdout carries only what a command is asked to print
//! (a new key, a key list), so it can be piped.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::keys::{self, Mode};
use crate::infra::config::{Config, LogFormat, Overrides};
use crate::infra::wire::ids::{self, IdKind};
use crate::{infra::db, infra::telemetry, Application};

#[derive(Parser, Debug)]
#[command(
    name = "agora",
    version,
    about = "Agora: a self-hosted marketplace payment orchestrator",
    long_about = "Agora onboards sellers, splits charges on a double-entry ledger and pays sellers out.\n\nSettings come from flags, then AGORA_* environment variables, then agora.toml, then defaults; with none at all `agora serve` runs on 127.0.0.1:8080 with SQLite in ./agora-data."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Configuration file (TOML). Missing is fine unless given explicitly.
    #[arg(long, global = true, env = "AGORA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data dir]
    #[arg(long, global = true, env = "AGORA_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Directory for the SQLite database and generated files [default: ./agora-data]
    #[arg(long, global = true, env = "AGORA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log filter, e.g. info or agora_platform=debug [default: info]
    #[arg(long, global = true, env = "AGORA_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Log format [default: text]
    #[arg(long, global = true, env = "AGORA_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormatArg>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the API, pages and workers (migrates the database first)
    Serve(ServeArgs),
    /// Run the background workers without the HTTP server (settlement, payout runs, webhook
    /// and email delivery, expiry sweeps), until SIGINT or SIGTERM
    Worker,
    /// Apply database migrations and exit
    Migrate,
    /// Manage API keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect the double-entry ledger
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Run payouts and import the banks' answers
    #[command(subcommand)]
    Payouts(PayoutsCommand),
    /// Measure this machine: start a server on a scratch database and load it
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// The charge path: --clients concurrent clients post destination charges (an explicit
    /// fee, pm_card_visa, a fresh Idempotency-Key each) for --seconds to --sellers verified
    /// sellers; prints charges/s, latency p50/p90/p99/max and errors by status, then runs
    /// ledger verify. Fails if any charge failed or the ledger is off. Serves from a temporary
    /// SQLite database unless --database-url is given (use a scratch database), or loads the
    /// server at --url with --key
    Charges {
        /// Concurrent API clients, each with one charge in flight
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// How long charges are sent, in seconds
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Sellers to create and charge, round robin
        #[arg(long, default_value_t = 100)]
        sellers: usize,
        /// Send every charge to one seller
        #[arg(long)]
        hot: bool,
        /// Load this server instead of starting one (with --key)
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// A test-mode secret key of the server at --url
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Webhook delivery: charges created over the API, each event delivered to a local
    /// receiver that answers at once; prints the backlog each second, deliveries/s and the
    /// event-to-delivery latency. Uses a temporary SQLite database unless --database-url is
    /// given (then use a scratch database: the run adds sellers, charges and an endpoint)
    Webhooks {
        /// Concurrent API clients creating charges
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// How long charges are created, in seconds
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Stop creating charges after this many (each is one charge.succeeded event)
        #[arg(long)]
        events: Option<u64>,
        /// Deliver to this URL instead of the built-in receiver (latency is then not measured)
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Add a second endpoint whose receiver answers only after --slow-ms
        #[arg(long)]
        slow: bool,
        #[arg(long, default_value_t = 2000, value_name = "MS")]
        slow_ms: u64,
        /// Longest wait for the endpoint's backlog to drain after the charges stop, in seconds
        #[arg(long, default_value_t = 60)]
        drain: u64,
        /// Create all charges first with delivery stopped, then start the worker and measure
        /// how fast it drains the backlog (delivery capacity, whatever the charge rate)
        #[arg(long)]
        backlog: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum PayoutsCommand {
    /// Create the scheduled payouts due on a day and write the bank files; prints one line
    /// per payout. Safe to repeat: each scheduled payout is created once per period
    Run {
        /// The payout day [default: today; in test mode, the test clock's day]
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<String>,
        /// Print what would be paid and change nothing
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "live")]
        mode: ModeArg,
    },
    /// Import a pain.002 status report or a NACHA return file: rejected and returned payouts
    /// fail (money back to the seller, bank account errored), accepted ones are paid
    Import {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "live")]
        mode: ModeArg,
    },
    /// Import the ECB's euro reference rates (eurofxref-daily.xml) for payouts converted to
    /// another currency (both modes use them)
    FxImport { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Check every ledger invariant over the whole database; exit 1 with a report naming each
    /// broken entry or account, or 0 with a one-line summary
    Verify,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "AGORA_BIND", value_name = "ADDR")]
    pub bind: Option<String>,
    /// Public base URL, for links in emails and redirects [default: http://BIND]
    #[arg(long, env = "AGORA_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key and print it, alone, on stdout (it is not shown again): a secret key, or
    /// with --restricted a key that may do only what --allow lists
    Create {
        /// test keys see only test data, live keys only live data
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// A restricted key (rk_…): only the permissions --allow names
        #[arg(long, requires = "allow")]
        restricted: bool,
        /// Comma-separated resource:read|write, e.g. charges:write,accounts:read
        #[arg(long, value_name = "PERMISSIONS", requires = "restricted")]
        allow: Option<String>,
        /// What to call the key (which service holds it), at most 100 characters
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys: id, mode, prefix, created, last used, status, permissions
    List,
    /// Revoke a key by its id (key_…); requests with it get 401 at once
    Revoke {
        /// The key's id, as shown by `agora keys list`
        id: String,
    },
    /// Print one key's API usage: requests, errors (4xx + 5xx), status classes and latency
    /// p50/p99 per bucket, route and method, then per route over the whole range (the figures
    /// of GET /v1/api_usage). Usage is written every api_usage_flush_ms by the server
    Usage {
        /// The key: its id (key_…) or its public prefix (sk_test_AbCd, or sk_test_AbCd…wxyz),
        /// as `agora keys list` shows it
        key: String,
        /// Start, RFC 3339 (rounded down to the granularity) [default: 24 hours before --to]
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End, RFC 3339, exclusive (rounded up to the granularity) [default: now]
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Bucket size: at most 1440 buckets
        #[arg(long, value_enum, default_value = "hour")]
        granularity: GranularityArg,
    },
    /// Re-seal every sealed value and file (KYC ids, bank account numbers, documents, bank
    /// files, queued emails, webhook secrets) under encryption_key, and recompute bank-account
    /// fingerprints under fingerprint_key. Run it after making the new key encryption_key and
    /// the old one an encryption_previous_keys entry (every instance restarted so), then drop
    /// the old key. Resumable: run it again after a kill; prints what it did, exits 1 until
    /// everything is under the new key
    RotateEncryption {
        /// Rows read per page (1-10000)
        #[arg(long, default_value_t = 500)]
        batch_size: u64,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum GranularityArg {
    Minute,
    Hour,
    Day,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum ModeArg {
    Test,
    Live,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("agora: {e}");
            return ExitCode::from(2);
        }
    };
    // Spans are exported only by the long-running commands: a one-off command's spans are
    // none worth a collector's attention.
    let export = match cli.command {
        Command::Serve(_) | Command::Worker => config.otlp_endpoint.as_deref(),
        _ => None,
    };
    let telemetry = telemetry::init_with_export(&config.log, config.log_format, export);
    // vars_os: `std::env::vars` panics on a variable that is not UTF-8 (none of ours is).
    let vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().unwrap_or_default())));
    for (name, meant) in crate::infra::config::unknown_env_vars(vars) {
        match meant {
            Some(key) => tracing::warn!(
                "{name} is not a setting and is ignored; did you mean AGORA_{}?",
                key.to_ascii_uppercase()
            ),
            None => tracing::warn!("{name} is not a setting and is ignored"),
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("agora: cannot start the runtime: {e}");
            telemetry.shutdown();
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("agora: {e:#}");
            ExitCode::FAILURE
        }
    };
    // After the server and workers stopped: their last spans go out (bounded wait).
    telemetry.shutdown();
    code
}

fn load_config(cli: &Cli) -> Result<Config, String> {
    let g = &cli.global;
    let (bind, public_url) = match &cli.command {
        Command::Serve(s) => (s.bind.clone(), s.public_url.clone()),
        _ => (None, None),
    };
    let overrides = Overrides {
        bind,
        data_dir: g.data_dir.clone(),
        database_url: g.database_url.clone(),
        public_url,
        log: g.log.clone(),
        log_format: g.log_format.map(|f| match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }),
    };
    let (file, required) = match &g.config {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from("agora.toml"), false),
    };
    Config::load(&file, required, &overrides)
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(_) => serve(config).await,
        Command::Worker => worker(config).await,
        Command::Migrate => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            tracing::info!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Ledger(LedgerCommand::Verify) => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            let report = agora_ledger::verify::verify(&db).await?;
            if report.is_ok() {
                println!("{}", report.summary());
                Ok(ExitCode::SUCCESS)
            } else {
                for problem in &report.problems {
                    println!("BROKEN: {problem}");
                }
                println!("{}", report.summary());
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Payouts(cmd) => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            payouts_command(&db, &config, cmd).await
        }
        Command::Keys(KeysCommand::RotateEncryption { batch_size }) => {
            rotate_encryption(&config, batch_size).await
        }
        Command::Keys(cmd) => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            keys_command(&db, cmd).await
        }
        Command::Bench(BenchCommand::Charges {
            clients,
            seconds,
            sellers,
            hot,
            url,
            key,
        }) => {
            anyhow::ensure!(
                (1..=1024).contains(&clients),
                "--clients must be between 1 and 1024"
            );
            anyhow::ensure!(
                (1..=3600).contains(&seconds),
                "--seconds must be between 1 and 3600"
            );
            anyhow::ensure!(
                (1..=10_000).contains(&sellers),
                "--sellers must be between 1 and 10000"
            );
            crate::bench::charges(
                config,
                crate::bench::ChargeBench {
                    clients,
                    seconds,
                    sellers,
                    hot,
                    url,
                    key,
                },
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Webhooks {
            clients,
            seconds,
            events,
            url,
            slow,
            slow_ms,
            drain,
            backlog,
        }) => {
            anyhow::ensure!(
                (1..=1024).contains(&clients),
                "--clients must be between 1 and 1024"
            );
            anyhow::ensure!(
                (1..=3600).contains(&seconds),
                "--seconds must be between 1 and 3600"
            );
            anyhow::ensure!(slow_ms <= 60_000, "--slow-ms must be at most 60000");
            crate::bench::webhooks(
                config,
                crate::bench::WebhookBench {
                    clients,
                    seconds,
                    events,
                    url,
                    slow,
                    slow_ms,
                    drain_s: drain.min(3600),
                    backlog,
                },
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let app = Application::build(config).await?;
    let state = app.state().clone();
    let url = match &state.config.public_url {
        Some(url) => url.clone(),
        None => format!(
            "http://{}",
            crate::infra::config::local_url_host(&state.config.bind, app.port())
        ),
    };
    // The very first start: give the new user a key to make a first call with.
    if keys::count(&state.db).await? == 0 {
        let created = keys::create(&state.db, Mode::Test).await?;
        println!("Created a test-mode API key. It is shown only this once, so keep it:");
        println!("{}", created.secret);
        tracing::info!(key = %ids::encode(IdKind::ApiKey, created.key.id), "created the first test-mode API key");
    }
    tracing::info!(url = %url, docs = %format!("{url}/docs/"), "agora is listening on {url}");
    app.run_until_stopped().await?;
    tracing::info!("agora stopped");
    Ok(ExitCode::SUCCESS)
}

/// The workers alone: as many `agora worker` processes as wanted beside API-only `serve`
/// instances (`*_worker = false`); every worker claims its rows in the database.
async fn worker(config: Config) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{signal, SignalKind};
    let db = db::connect(&config).await?;
    db::migrate(&db).await?;
    let port = config
        .bind
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0);
    let limiter = std::sync::Arc::new(crate::adapters::gateway::rate_limit::RateLimiter::new(0, 0));
    let state = crate::adapters::gateway::state::AppState::build(config, db, port, limiter)?;
    // With metrics_bind, a worker fleet is scraped and probed like the API (its workers'
    // status, queues, the ledger verify): without it nothing would tell a stuck worker.
    let metrics = match (&state.config.metrics_bind, state.config.metrics) {
        (Some(bind), true) => {
            crate::infra::metrics::install();
            let (port, server) = crate::app::metrics_server(bind, &state, true)?;
            tracing::info!(
                "metrics and probes listening on http://{}",
                crate::infra::config::local_url_host(bind, port)
            );
            let handle = server.handle();
            Some((handle, tokio::spawn(server)))
        }
        _ => None,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handles = crate::workers::spawn(state, stopped);
    tracing::info!("agora worker running");
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("agora worker stopping");
    let _ = stop.send(true);
    for handle in handles {
        let _ = handle.await;
    }
    if let Some((handle, task)) = metrics {
        handle.stop(true).await;
        let _ = task.await;
    }
    tracing::info!("agora worker stopped");
    Ok(ExitCode::SUCCESS)
}

/// What `agora payouts run` prints: a line per payout made (or to make), per batch, per
/// seller skipped (`SKIPPED  acct_…  eur  below_minimum  …`; `-` for no currency), then a
/// summary.
fn run_lines(report: &crate::domain::payouts::RunReport, dry_run: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let verb = if dry_run { "WOULD PAY" } else { "PAID" };
    for p in &report.planned {
        lines.push(format!(
            "{verb}  {}  {} {}  {}  arrives {}  period {}",
            ids::encode(IdKind::Account, p.account),
            p.amount,
            p.currency,
            p.rail.as_str(),
            p.arrival_date,
            p.period_key
        ));
    }
    for b in &report.batches {
        lines.push(format!(
            "BATCH  {}  {} {}  {} payouts  total {}  file {}",
            ids::encode(IdKind::PayoutBatch, b.id),
            b.rail,
            b.currency,
            b.entry_count,
            b.total,
            b.file_name
        ));
    }
    for s in &report.skipped {
        lines.push(format!(
            "SKIPPED  {}  {}  {}  {}",
            ids::encode(IdKind::Account, s.account),
            s.currency.as_deref().unwrap_or("-"),
            s.reason.code(),
            s.message
        ));
    }
    if report.skipped_total > report.skipped.len() {
        lines.push(format!(
            "SKIPPED  … and {} more (the list stops at {})",
            report.skipped_total - report.skipped.len(),
            crate::domain::payouts::MAX_SKIPPED
        ));
    }
    lines.push(format!(
        "{} payouts {}, {} skipped ({} already made this period, {} refused), {} batches",
        report.planned.len(),
        if dry_run { "to make" } else { "made" },
        report.skipped_total,
        report.already_created,
        report.errors,
        report.batches.len()
    ));
    lines
}

/// Largest file `agora payouts import` reads.
const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024;

async fn payouts_command(
    db: &sea_orm::DatabaseConnection,
    config: &Config,
    cmd: PayoutsCommand,
) -> anyhow::Result<ExitCode> {
    // The operator reads the code and message the API would answer.
    fn fail(e: impl Into<crate::adapters::gateway::error::ApiError>) -> anyhow::Error {
        let e = e.into();
        anyhow::anyhow!("{}: {}", e.code, e.message)
    }
    match cmd {
        PayoutsCommand::Run {
            as_of,
            dry_run,
            mode,
        } => {
            let livemode = matches!(mode, ModeArg::Live);
            let kyc = crate::domain::kyc::Runtime::load(config)?;
            let (day, submitted_at) = match as_of {
                Some(d) => {
                    let day =
                        crate::adapters::api::payouts::parse_date("as_of", &d).map_err(fail)?;
                    (day, crate::adapters::api::payouts::submitted_on(day))
                }
                None => {
                    let now = crate::infra::clock::now(db, livemode).await?;
                    (crate::domain::payouts::local_date(config, now), now)
                }
            };
            let report = crate::domain::payouts::run(
                db,
                config,
                &kyc.sealer,
                &crate::domain::payouts::RunOptions {
                    livemode,
                    as_of: day,
                    submitted_at,
                    dry_run,
                    explain: true,
                },
            )
            .await
            .map_err(fail)?;
            for line in run_lines(&report, dry_run) {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        PayoutsCommand::FxImport { file } => {
            let size = tokio::fs::metadata(&file).await?.len();
            if size > MAX_IMPORT_BYTES {
                anyhow::bail!("{} is larger than {MAX_IMPORT_BYTES} bytes", file.display());
            }
            let text = tokio::fs::read_to_string(&file).await?;
            let day = crate::domain::payouts::fx::import_ecb(db, &text)
                .await
                .map_err(fail)?;
            println!("{} rates of {}", day.rates.len(), day.date);
            Ok(ExitCode::SUCCESS)
        }
        PayoutsCommand::Import { file, mode } => {
            let livemode = matches!(mode, ModeArg::Live);
            let size = tokio::fs::metadata(&file).await?.len();
            if size > MAX_IMPORT_BYTES {
                anyhow::bail!("{} is larger than {MAX_IMPORT_BYTES} bytes", file.display());
            }
            let text = tokio::fs::read_to_string(&file).await?;
            // The sealer: the seller emails about paid and failed payouts go to the outbox.
            let kyc = crate::domain::kyc::Runtime::load(config)?;
            let report = crate::domain::payouts::import(db, config, &kyc.sealer, livemode, &text)
                .await
                .map_err(fail)?;
            for p in &report.paid {
                println!("PAID    {}", ids::encode(IdKind::Payout, p.id));
            }
            for p in &report.failed {
                println!(
                    "FAILED  {}  {}",
                    ids::encode(IdKind::Payout, p.id),
                    p.failure_code.as_deref().unwrap_or("")
                );
            }
            for u in &report.unmatched {
                println!("UNMATCHED  {u}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn keys_command(
    db: &sea_orm::DatabaseConnection,
    cmd: KeysCommand,
) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Create {
            mode,
            restricted,
            allow,
            name,
        } => {
            let mode = match mode {
                ModeArg::Test => Mode::Test,
                ModeArg::Live => Mode::Live,
            };
            let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
            if name
                .as_ref()
                .is_some_and(|n| n.chars().count() > keys::MAX_NAME)
            {
                eprintln!("agora: --name can be at most {} characters", keys::MAX_NAME);
                return Ok(ExitCode::from(2));
            }
            let created = match (restricted, allow) {
                (true, Some(allow)) => match keys::Permissions::parse([allow.as_str()]) {
                    Ok(permissions) => {
                        keys::create_restricted(db, mode, &permissions, name).await?
                    }
                    Err(e) => {
                        eprintln!("agora: --allow: {e}");
                        return Ok(ExitCode::from(2));
                    }
                },
                _ => keys::create(db, mode).await?,
            };
            tracing::info!(key = %ids::encode(IdKind::ApiKey, created.key.id), "created API key");
            println!("{}", created.secret);
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::List => {
            let keys = keys::list(db).await?;
            println!(
                "{:<30}  {:<4}  {:<22}  {:<20}  {:<20}  {:<28}  PERMISSIONS",
                "ID", "MODE", "KEY", "CREATED", "LAST USED", "STATUS"
            );
            for key in keys {
                let mode = if key.livemode { "live" } else { "test" };
                let shown = format!("{}…{}", key.display_prefix, key.last4);
                let last_used = key
                    .last_used_at
                    .map_or_else(|| "never".to_owned(), crate::infra::wire::timestamp);
                let status = key.revoked_at.map_or_else(
                    || "active".to_owned(),
                    |t| format!("revoked {}", crate::infra::wire::timestamp(t)),
                );
                let permissions = match key.grants() {
                    None => "all (secret key)".to_owned(),
                    Some(grants) => grants.to_string(),
                };
                let permissions = match &key.name {
                    Some(name) => format!("{permissions}  \"{name}\""),
                    None => permissions,
                };
                println!(
                    "{:<30}  {:<4}  {:<22}  {:<20}  {:<20}  {:<28}  {}",
                    ids::encode(IdKind::ApiKey, key.id),
                    mode,
                    shown,
                    crate::infra::wire::timestamp(key.created_at),
                    last_used,
                    status,
                    permissions
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Revoke { id } => {
            let Ok(uuid) = ids::decode(IdKind::ApiKey, id.trim()) else {
                eprintln!("agora: `{id}` is not a key id (key_…); see `agora keys list`");
                return Ok(ExitCode::from(2));
            };
            if keys::revoke(db, uuid).await? {
                println!("revoked {id}");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("agora: no active key {id}");
                Ok(ExitCode::FAILURE)
            }
        }
        KeysCommand::Usage {
            key,
            from,
            to,
            granularity,
        } => key_usage(db, &key, from, to, granularity).await,
        // Needs the configuration: `run` takes it before this function.
        KeysCommand::RotateEncryption { .. } => {
            anyhow::bail!("rotate-encryption runs with the configuration (cli::run)")
        }
    }
}

/// `agora keys usage`: [`crate::domain::usage::report`] for one key of either mode, as a
/// table; exit 2 on a bad argument, 1 for no such key.
async fn key_usage(
    db: &sea_orm::DatabaseConnection,
    key: &str,
    from: Option<String>,
    to: Option<String>,
    granularity: GranularityArg,
) -> anyhow::Result<ExitCode> {
    use crate::domain::usage::{self, Granularity, KeyRef, Range};
    let instant = |flag: &str, value: Option<String>| -> Result<Option<i64>, String> {
        value
            .map(|v| {
                chrono::DateTime::parse_from_rfc3339(v.trim())
                    .map(|t| t.timestamp())
                    .map_err(|_| {
                        format!("{flag} must be an RFC 3339 time, e.g. 2026-11-25T00:00:00Z")
                    })
            })
            .transpose()
    };
    let granularity = match granularity {
        GranularityArg::Minute => Granularity::Minute,
        GranularityArg::Hour => Granularity::Hour,
        GranularityArg::Day => Granularity::Day,
    };
    let parsed = (|| {
        let key_ref = KeyRef::parse(key).ok_or_else(|| {
            format!("`{key}` is not a key id (key_…) or a key prefix (sk_test_AbCd…wxyz); see `agora keys list`")
        })?;
        let range = Range::new(
            instant("--from", from)?,
            instant("--to", to)?,
            granularity,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|e| e.to_string())?;
        Ok::<_, String>((key_ref, range))
    })();
    let (key_ref, range) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("agora: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    let found = match usage::find_key(db, None, &key_ref).await {
        Ok(found) => found,
        Err(usage::UsageError::Db(e)) => return Err(e.into()),
        Err(e) => {
            eprintln!("agora: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let Some(found) = found else {
        eprintln!("agora: no key {key}; see `agora keys list`");
        return Ok(ExitCode::FAILURE);
    };
    let rows = match usage::report(db, found.id, &range).await {
        Ok(rows) => rows,
        Err(usage::UsageError::Db(e)) => return Err(e.into()),
        Err(e) => {
            eprintln!("agora: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    for line in usage_lines(&found, &range, &rows) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// What `agora keys usage` prints: a heading, a row per bucket, route and method, then the
/// totals per route and method over the range.
fn usage_lines(
    key: &keys::ApiKey,
    range: &crate::domain::usage::Range,
    rows: &[crate::domain::usage::UsageRow],
) -> Vec<String> {
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map_or_else(|| t.to_string(), crate::infra::wire::timestamp)
    };
    let line = |start: &str, row: &crate::domain::usage::UsageRow| {
        format!(
            "{start:<20}  {:<7}  {:<44}  {:>9}  {:>7}  {:>8}  {:>8}  {:>8}  {:>8}  {:>10.3}  {:>10.3}",
            row.method,
            row.route,
            row.requests,
            row.errors(),
            row.status[0],
            row.status[1],
            row.status[2],
            row.status[3],
            row.latency.quantile_ms(0.5).unwrap_or(0.0),
            row.latency.quantile_ms(0.99).unwrap_or(0.0),
        )
    };
    let mut lines = vec![
        format!(
            "{}  {}…{}  {}  {} to {} by {}",
            ids::encode(IdKind::ApiKey, key.id),
            key.display_prefix,
            key.last4,
            if key.livemode { "live" } else { "test" },
            time(range.from),
            time(range.to),
            range.granularity.name()
        ),
        format!(
            "{:<20}  {:<7}  {:<44}  {:>9}  {:>7}  {:>8}  {:>8}  {:>8}  {:>8}  {:>10}  {:>10}",
            "START",
            "METHOD",
            "ROUTE",
            "REQUESTS",
            "ERRORS",
            "2XX",
            "3XX",
            "4XX",
            "5XX",
            "P50_MS",
            "P99_MS"
        ),
    ];
    for row in rows {
        lines.push(line(&time(row.start), row));
    }
    for row in crate::domain::usage::totals_by_route(rows) {
        lines.push(line("TOTAL", &row));
    }
    if rows.is_empty() {
        lines.push("no requests in this range".to_owned());
    }
    lines
}

/// `agora keys rotate-encryption`: [`crate::domain::sealing::rotate`] with the configured
/// keys, one line per kind of value re-sealed, then whether it is complete.
async fn rotate_encryption(config: &Config, batch_size: u64) -> anyhow::Result<ExitCode> {
    use crate::domain::sealing::{rotate, RotateOptions, MAX_BATCH_SIZE};
    anyhow::ensure!(
        (1..=MAX_BATCH_SIZE).contains(&batch_size),
        "--batch-size must be between 1 and {MAX_BATCH_SIZE}"
    );
    // Rotating to a generated key would move everything under a key kept beside the data.
    anyhow::ensure!(
        config.encryption_key.is_some(),
        "encryption_key (AGORA_ENCRYPTION_KEY) must be set to the new key, with the old one in encryption_previous_keys"
    );
    let db = db::connect(config).await?;
    db::migrate(&db).await?;
    let kyc = crate::domain::kyc::Runtime::load(config)?;
    tracing::info!(key = %kyc.sealer.current_key_id(), "re-sealing under the current encryption key");
    let report = rotate(
        &db,
        config,
        &kyc,
        &RotateOptions {
            batch_size,
            max_changes: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (kind, n) in &report.by_kind {
        println!("RESEALED  {kind}  {n}");
    }
    println!("FINGERPRINTS  {}", report.fingerprints);
    if report.skipped > 0 {
        println!(
            "SKIPPED  {}  (unreadable before the rotation too; see the log for their ids)",
            report.skipped
        );
    }
    if report.complete {
        println!(
            "{} rewritten; everything is under key {}: the previous keys can be removed",
            report.resealed,
            kyc.sealer.current_key_id()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{} rewritten; {} rows changed meanwhile and were left: run it again",
            report.resealed, report.conflicts
        );
        Ok(ExitCode::FAILURE)
    }
}
