//! The email outbox, as DESIGN.md asks: a change that emails someone (a seller's invitation, a
//! payout paid or failed, a webhook endpoint disabled) writes the message into `emails` in its
//! own transaction, and the email worker sends it — over SMTP when `smtp_url` is set, else as
//! an `.eml` file under `data_dir/outbox`. A crash loses no email, a rolled-back change sends
//! none, an SMTP outage delays mail instead of failing the API call that caused it.
//!
//! Messages are sealed at rest (they carry names and addresses, and an invitation carries a
//! link that opens a seller's onboarding) and dropped once sent or given up. Delivery is at
//! least once: a crash between the server's "250 OK" and the row's update sends it again.

pub mod entity;

use std::path::PathBuf;
use std::time::Duration;

use agora_onboarding::seal::Sealer;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::infra::config::Config;
pub use crate::infra::config::SmtpTarget;

/// What the outbox can fail at: never the caller's fault, so every adapter answers it as an
/// internal error.
#[derive(Debug)]
pub enum EmailError {
    Db(sea_orm::DbErr),
    /// The message could not be written out for sealing.
    Encode(String),
}

impl std::fmt::Display for EmailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmailError::Db(e) => write!(f, "email outbox: {e}"),
            EmailError::Encode(e) => write!(f, "email outbox: cannot encode the message: {e}"),
        }
    }
}

impl std::error::Error for EmailError {}

impl From<sea_orm::DbErr> for EmailError {
    fn from(err: sea_orm::DbErr) -> Self {
        EmailError::Db(err)
    }
}

/// The sealing purpose (AAD) of outbox messages: a sealed bank number cannot pass for one.
pub const PURPOSE: &str = "email";
/// Emails one worker pass claims (one statement) and records (one transaction).
const BATCH: u64 = 50;
/// How long one SMTP conversation may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(10);
/// A claimed email is not taken by another worker for this long: longer than one send.
const LEASE_S: i64 = 120;
/// Waits after the 1st, 2nd, … failed attempt; after the last the email is given up
/// (8 attempts over about 11 hours, enough for a mail server's maintenance window).
const BACKOFF_S: [i64; 7] = [30, 120, 600, 1_800, 3_600, 3 * 3_600, 6 * 3_600];
/// Longest failure text kept (the column holds 512).
const MAX_ERROR_CHARS: usize = 400;

/// What is sealed: the envelope (who gets it) and the message as sent.
#[derive(Serialize, Deserialize)]
struct Sealed {
    from: Option<String>,
    to: Vec<String>,
    /// RFC 5322 bytes, base64.
    raw: String,
}

/// Writes `message` to the outbox in the caller's transaction; the worker sends it.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    kind: &str,
    message: &Message,
) -> Result<Uuid, EmailError> {
    let envelope = message.envelope();
    let sealed = Sealed {
        from: envelope.from().map(ToString::to_string),
        to: envelope.to().iter().map(ToString::to_string).collect(),
        raw: B64.encode(message.formatted()),
    };
    let json = serde_json::to_string(&sealed).map_err(|e| EmailError::Encode(e.to_string()))?;
    let now = Utc::now();
    let id = Uuid::now_v7();
    entity::ActiveModel {
        id: Set(id),
        kind: Set(kind.to_owned()),
        status: Set(entity::EmailStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        message_sealed: Set(Some(sealer.seal_str(PURPOSE, &json))),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    }
    .insert(db)
    .await?;
    // The email worker starts on it at commit, not at its next poll.
    crate::infra::events::wake::written(db, crate::infra::events::wake::Outbox::Emails).await?;
    tracing::info!(email = %id, kind, "email queued");
    Ok(id)
}

/// The transport the worker sends with.
pub enum Mailer {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    /// `.eml` files in this directory (no `smtp_url`).
    Files(PathBuf),
}

/// One failed attempt: permanent failures (the server refused the message or a recipient
/// for good) are not retried.
#[derive(Debug)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let Some(smtp_url) = &config.smtp_url else {
            return Ok(Self::Files(config.data_dir.join("outbox")));
        };
        let target = SmtpTarget::parse(smtp_url)?;
        let mut builder = if target.tls {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&target.host)
                .map_err(|e| format!("smtp_url: {e}"))?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
        };
        builder = builder.port(target.port).timeout(Some(SMTP_TIMEOUT));
        if let (Some(user), Some(password)) = (target.user, target.password) {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self::Smtp(Box::new(builder.build())))
    }

    async fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => {
                // Bounded even if the server trickles: the transport's own timeout is per
                // command.
                match tokio::time::timeout(SMTP_TIMEOUT * 3, smtp.send_raw(envelope, raw)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(SendError {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    }),
                    Err(_) => Err(SendError {
                        permanent: false,
                        message: "the SMTP conversation timed out".to_owned(),
                    }),
                }
            }
            Self::Files(dir) => {
                let result = async {
                    tokio::fs::create_dir_all(dir).await?;
                    AsyncFileTransport::<Tokio1Executor>::new(dir.clone())
                        .send_raw(envelope, raw)
                        .await?;
                    Ok::<(), anyhow::Error>(())
                }
                .await;
                result.map_err(|e| SendError {
                    permanent: false,
                    message: e.to_string(),
                })
            }
        }
    }
}

fn open(sealer: &Sealer, sealed: Option<&str>) -> Result<(Envelope, Vec<u8>), String> {
    let sealed = sealed.ok_or("the message is gone")?;
    let json = sealer
        .open_str(PURPOSE, sealed)
        .map_err(|e| format!("cannot open the message: {e}"))?;
    let s: Sealed = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    let parse = |a: &str| a.parse().map_err(|e| format!("address: {e}"));
    let from = s.from.as_deref().map(parse).transpose()?;
    let to =
        s.to.iter()
            .map(|a| parse(a))
            .collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(from, to).map_err(|e| e.to_string())?;
    let raw = B64.decode(s.raw).map_err(|e| e.to_string())?;
    Ok((envelope, raw))
}

fn truncated(s: &str) -> String {
    s.chars().take(MAX_ERROR_CHARS).collect()
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub retrying: usize,
    pub given_up: usize,
}

/// Sends the due emails: up to [`BATCH`] claimed in one statement (their next attempt pushed
/// past a lease, so several instances never send one email at once; `FOR UPDATE SKIP LOCKED`
/// on PostgreSQL so they never wait for each other either), sent with at most `in_flight`
/// SMTP conversations at once, then marked sent, retried later or given up, all in one
/// transaction. No transaction is open while a message is sent.
pub async fn deliver_due(
    db: &DatabaseConnection,
    sealer: &Sealer,
    mailer: &Mailer,
    now: DateTime<Utc>,
    in_flight: usize,
) -> Result<Delivered, EmailError> {
    use futures_util::StreamExt;
    use sea_orm::{Statement, TransactionTrait};
    let backend = db.get_database_backend();
    let lock = crate::infra::db::skip_locked(backend);
    let sql = format!(
        "UPDATE emails SET next_attempt_at = $1 WHERE id IN (SELECT id FROM emails \
         WHERE status = 'pending' AND next_attempt_at <= $2 \
         ORDER BY next_attempt_at, id LIMIT $3{lock}) RETURNING *"
    );
    let sql = crate::infra::db::placeholders(backend, &sql);
    let lease = now + chrono::Duration::seconds(LEASE_S);
    let mut due = entity::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            sql,
            [lease.into(), now.into(), (BATCH as i64).into()],
        ))
        .all(db)
        .await?;
    due.sort_by_key(|row| (row.next_attempt_at, row.id));
    if due.is_empty() {
        return Ok(Delivered::default());
    }
    // Bounded concurrency towards the one SMTP server (lettre's pool reuses connections).
    let results: Vec<(entity::Model, Result<(), SendError>)> =
        futures_util::stream::iter(due.into_iter().map(|row| async move {
            let result = match open(sealer, row.message_sealed.as_deref()) {
                Ok((envelope, raw)) => mailer.send(&envelope, &raw).await,
                Err(message) => Err(SendError {
                    permanent: true,
                    message,
                }),
            };
            (row, result)
        }))
        .buffer_unordered(in_flight.clamp(1, 64))
        .collect()
        .await;
    let mut done = Delivered::default();
    let txn = db.begin().await?;
    for (row, result) in results {
        let attempts = row.attempts.saturating_add(1);
        let mut update = entity::ActiveModel {
            id: Set(row.id),
            attempts: Set(attempts),
            ..Default::default()
        };
        match result {
            Ok(()) => {
                update.status = Set(entity::EmailStatus::Sent);
                update.sent_at = Set(Some(Utc::now()));
                update.message_sealed = Set(None);
                update.last_error = Set(None);
                done.sent += 1;
                tracing::info!(email = %row.id, kind = row.kind, attempts, "email sent");
            }
            Err(e) => {
                let wait = usize::try_from(attempts - 1)
                    .ok()
                    .and_then(|i| BACKOFF_S.get(i))
                    .filter(|_| !e.permanent);
                update.last_error = Set(Some(truncated(&e.message)));
                match wait {
                    Some(wait) => {
                        update.next_attempt_at = Set(Utc::now() + chrono::Duration::seconds(*wait));
                        done.retrying += 1;
                        tracing::warn!(email = %row.id, kind = row.kind, attempts, retry_in_s = wait, error = %e.message, "email not sent; will retry");
                    }
                    None => {
                        update.status = Set(entity::EmailStatus::Failed);
                        update.message_sealed = Set(None);
                        done.given_up += 1;
                        tracing::error!(email = %row.id, kind = row.kind, attempts, permanent = e.permanent, error = %e.message, "email given up");
                    }
                }
            }
        }
        update.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(done)
}

/// Runs the email worker until `stop`: woken by the commit that queued an email
/// ([`crate::infra::events::wake`]), polling every `poll` as the fallback and for retries,
/// and going on at once while a pass found a full batch. Each pass is recorded on `worker`
/// (items: emails attempted, sent or not), so an idle worker shows alive at every poll.
pub async fn run(
    db: &DatabaseConnection,
    sealer: &Sealer,
    mailer: Mailer,
    poll: Duration,
    in_flight: usize,
    worker: &crate::infra::workers_status::Worker,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use crate::infra::events::wake::{self, Outbox};
    let mut woken = wake::subscribe(Outbox::Emails);
    loop {
        woken.borrow_and_update();
        let pass = worker.pass();
        let more = match deliver_due(db, sealer, &mailer, Utc::now(), in_flight).await {
            Ok(d) if d == Delivered::default() => {
                pass.ok(0);
                false
            }
            Ok(d) => {
                tracing::debug!(?d, "email pass");
                let attempted = d.sent + d.retrying + d.given_up;
                pass.ok(attempted as u64);
                attempted >= BATCH as usize
            }
            Err(e) => {
                pass.failed(0, &e);
                tracing::warn!(error = %e, "email delivery step failed; will retry");
                false
            }
        };
        if more {
            continue;
        }
        tokio::select! {
            _ = woken.changed() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How long the record of a sent or given-up email is kept (for "did the seller get it?").
pub const RETENTION_DAYS: i64 = 90;

/// Deletes records of emails sent or given up more than [`RETENTION_DAYS`] before `now`, at
/// most `batch` per statement. Pending emails are never deleted.
pub async fn purge(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<u64, sea_orm::DbErr> {
    let cutoff = now - chrono::Duration::days(RETENTION_DAYS);
    crate::infra::db::delete_in_batches::<entity::Entity>(
        db,
        entity::Column::Id,
        entity::Column::Status
            .is_in([entity::EmailStatus::Sent, entity::EmailStatus::Failed])
            .and(entity::Column::CreatedAt.lt(cutoff)),
        batch,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        let plain = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap_or_else(|e| panic!("{e}"));
        assert!(!plain.tls);
        assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 2525));
        let tls =
            SmtpTarget::parse("smtps://u:p@mail.example.com").unwrap_or_else(|e| panic!("{e}"));
        assert!(tls.tls);
        assert_eq!(tls.port, 465);
        assert_eq!(tls.user.as_deref(), Some("u"));
        assert!(SmtpTarget::parse("http://x").is_err());
        assert!(SmtpTarget::parse("smtp://").is_err());
    }

    #[test]
    fn the_backoff_gives_up_after_eight_attempts() {
        assert_eq!(BACKOFF_S.len() + 1, 8);
        assert!(BACKOFF_S.windows(2).all(|w| w[0] < w[1]));
        let total: i64 = BACKOFF_S.iter().sum();
        assert!((10 * 3_600..12 * 3_600).contains(&total), "{total}");
    }
}
