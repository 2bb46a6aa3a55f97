//! Uploaded files (identity documents): recognised by their bytes, sealed with AES-256-GCM
//! and written under `data_dir/files/` as private files (`infra::files`: 0600, fsynced,
//! renamed into place); the database keeps only their metadata.
//!
//! The file is written first, outside any transaction, then its row is inserted and committed:
//! a row never points at a missing file. A refusal or a failed insert or commit deletes the
//! file at once; a crash, or a caller's transaction failing after the insert, leaves an orphan
//! (sealed, so harmless to read, but taking space); [`sweep_orphans`] deletes the files no row
//! points at once they are older than any transaction can be.
//!
//! With several instances, `data_dir/files` must be shared storage (the database is).

use std::time::Duration;

use agora_onboarding::kyc::entities::file;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{KycError, Runtime};
use crate::infra::files::{self as private, Stale};
use crate::infra::wire::ids::{self, IdKind};

pub use file::Model as File;

pub const IDENTITY_DOCUMENT: &str = "identity_document";
/// Largest file accepted.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// What a file is sealed for: a file's ciphertext cannot be passed off as another field.
pub const PURPOSE: &str = "file";
/// A file without a row is an orphan only after this long: its transaction may still be
/// running before (the database's timeouts end any transaction within minutes).
pub const ORPHAN_GRACE: Duration = Duration::from_secs(3600);
/// Ids checked against the table per statement, and orphans deleted per sweep pass.
const SWEEP_CHUNK: usize = 500;
const MAX_SWEPT_PER_PASS: usize = 1_000;

/// The types accepted, recognised by their leading bytes, never by name or declared type.
pub fn recognise(bytes: &[u8]) -> Option<&'static str> {
    let kind = infer::get(bytes)?;
    match kind.mime_type() {
        "image/png" => Some("image/png"),
        "image/jpeg" => Some("image/jpeg"),
        "application/pdf" => Some("application/pdf"),
        _ => None,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The name of a document's file under `files_dir`.
pub fn file_name(id: Uuid) -> String {
    format!("{id}.sealed")
}

/// The document id a file name stands for (see [`file_name`]).
fn id_of(name: &str) -> Option<Uuid> {
    Uuid::parse_str(name.strip_suffix(".sealed")?).ok()
}

/// Seals and writes the file (a private file: 0600, fsynced, renamed into place).
pub async fn store(runtime: &Runtime, id: Uuid, bytes: &[u8]) -> std::io::Result<()> {
    let sealed = runtime.sealer.seal(PURPOSE, bytes);
    private::write(&runtime.files_dir, &file_name(id), sealed.into_bytes()).await
}

/// Reads and opens a stored file.
pub async fn load(runtime: &Runtime, id: Uuid) -> anyhow::Result<Vec<u8>> {
    let sealed = private::read(&runtime.files_dir, &file_name(id)).await?;
    Ok(runtime
        .sealer
        .open(PURPOSE, std::str::from_utf8(&sealed)?)?)
}

/// The API shape of a file's metadata (`file`).
pub fn object(f: &File) -> Value {
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
        "created": crate::infra::wire::timestamp(f.created_at),
    })
}

/// An identity document checked (size, type) and written as a sealed private file, not yet
/// recorded: [`record_identity_document`] inserts its row, or [`forget`] deletes it.
#[derive(Debug)]
pub struct Written {
    id: Uuid,
    mime: &'static str,
    size: i64,
    sha256: String,
    filename: Option<String>,
}

/// Recognises, seals and writes an identity document, outside any transaction: a 10 MB write
/// and its fsync never hold a connection (on SQLite, the only one). An account already at its
/// quota is refused here, before anything is written (and again under its lock when the row
/// is recorded). The API ([`upload_identity_document`]) and the hosted onboarding pages both
/// come here, so both accept and refuse the same files.
pub async fn write_identity_document(
    db: &impl ConnectionTrait,
    runtime: &Runtime,
    livemode: bool,
    account: Option<Uuid>,
    bytes: &[u8],
    filename: Option<String>,
) -> Result<Written, KycError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(KycError::FileTooLarge);
    }
    let mime = recognise(bytes).ok_or_else(|| {
        KycError::invalid(
            "file",
            "file_type_invalid",
            "the file is not a PNG, JPEG or PDF (recognised by its content, not its name)",
        )
    })?;
    if let Some(account) = account {
        check_quota(db, runtime, livemode, account).await?;
    }
    let id = Uuid::now_v7();
    store(runtime, id, bytes)
        .await
        .map_err(KycError::internal)?;
    Ok(Written {
        id,
        mime,
        size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        sha256: sha256_hex(bytes),
        filename,
    })
}

/// Refuses a document beyond `max_documents_per_account`.
async fn check_quota(
    db: &impl ConnectionTrait,
    runtime: &Runtime,
    livemode: bool,
    account: Uuid,
) -> Result<(), KycError> {
    let held = file::Entity::find()
        .filter(file::Column::Livemode.eq(livemode))
        .filter(file::Column::AccountId.eq(account))
        .count(db)
        .await?;
    let max = runtime.max_documents_per_account;
    if held >= u64::from(max) {
        return Err(KycError::invalid(
            "file",
            "document_quota_exceeded",
            format!("an account can have at most {max} identity documents"),
        ));
    }
    Ok(())
}

/// Records a written document (at the mode's clock) in the caller's transaction; the commit
/// makes it count, and a row never points at a missing file. The quota is counted again under
/// the account's row lock, so two uploads at once cannot both take the last place. On a
/// refusal or a failed insert the file is deleted at once; if the caller's transaction fails
/// later, the file is an orphan for [`sweep_orphans`].
pub async fn record_identity_document(
    txn: &DatabaseTransaction,
    runtime: &Runtime,
    livemode: bool,
    account: Option<Uuid>,
    written: Written,
) -> Result<File, KycError> {
    let recorded = async {
        if let Some(account) = account {
            super::lock_account(txn, livemode, account).await?;
            check_quota(txn, runtime, livemode, account).await?;
        }
        let now = crate::infra::clock::now(txn, livemode).await?;
        Ok::<_, KycError>(
            file::ActiveModel {
                id: Set(written.id),
                livemode: Set(livemode),
                account_id: Set(account),
                purpose: Set(IDENTITY_DOCUMENT.to_owned()),
                mime_type: Set(written.mime.to_owned()),
                size: Set(written.size),
                sha256: Set(written.sha256.clone()),
                filename: Set(written.filename.clone()),
                created_at: Set(now),
            }
            .insert(txn)
            .await?,
        )
    }
    .await;
    if recorded.is_err() {
        forget(runtime, written.id).await;
    }
    recorded
}

/// Deletes a document's file whose row will not commit (best effort: the sweep is the net).
pub async fn forget(runtime: &Runtime, id: Uuid) {
    if let Err(e) = private::remove(&runtime.files_dir, &file_name(id)).await {
        tracing::warn!(file = %ids::encode(IdKind::File, id), error = %e, "an uncommitted document's file stays until the orphan sweep");
    }
}

/// `POST /v1/files`: the document written, then recorded in a transaction of its own.
pub async fn upload_identity_document(
    db: &DatabaseConnection,
    runtime: &Runtime,
    livemode: bool,
    account: Option<Uuid>,
    bytes: &[u8],
    filename: Option<String>,
) -> Result<File, KycError> {
    let written = write_identity_document(db, runtime, livemode, account, bytes, filename).await?;
    let id = written.id;
    let txn = match db.begin().await {
        Ok(txn) => txn,
        Err(e) => {
            forget(runtime, id).await;
            return Err(e.into());
        }
    };
    let row = record_identity_document(&txn, runtime, livemode, account, written).await?;
    if let Err(e) = txn.commit().await {
        forget(runtime, id).await;
        return Err(e.into());
    }
    Ok(row)
}

/// Deletes what a failed transaction or a crash left in `files_dir`: sealed files older than
/// [`ORPHAN_GRACE`] that no `files` row points at, and stale temporary files. At most 1,000
/// per pass; returns how many it deleted.
pub async fn sweep_orphans(db: &DatabaseConnection, runtime: &Runtime) -> Result<usize, KycError> {
    let stale = private::stale(&runtime.files_dir, ORPHAN_GRACE)
        .await
        .map_err(KycError::internal)?;
    let mut swept = 0;
    let mut candidates = Vec::new();
    for entry in stale {
        match entry {
            Stale::Temp(path) => {
                private::remove_temp(&path)
                    .await
                    .map_err(KycError::internal)?;
                swept += 1;
            }
            // A name that is no document's is not ours to delete.
            Stale::File(name) => candidates.extend(id_of(&name)),
        }
    }
    for chunk in candidates.chunks(SWEEP_CHUNK) {
        let known: std::collections::HashSet<Uuid> = file::Entity::find()
            .select_only()
            .column(file::Column::Id)
            .filter(file::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple::<Uuid>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        for id in chunk.iter().filter(|id| !known.contains(id)) {
            if swept >= MAX_SWEPT_PER_PASS {
                return Ok(swept);
            }
            if private::remove(&runtime.files_dir, &file_name(*id))
                .await
                .map_err(KycError::internal)?
            {
                tracing::info!(file = %ids::encode(IdKind::File, *id), "orphaned document file deleted");
                swept += 1;
            }
        }
    }
    Ok(swept)
}

/// A file of this mode the viewer may see: the platform (`viewer` None) sees every one, a
/// seller those uploaded for it.
pub async fn find(
    db: &impl ConnectionTrait,
    livemode: bool,
    viewer: Option<crate::infra::wire::typed::AccountId>,
    id: crate::infra::wire::typed::FileId,
) -> Result<Option<File>, sea_orm::DbErr> {
    Ok(file::Entity::find_by_id(id.uuid())
        .filter(file::Column::Livemode.eq(livemode))
        .one(db)
        .await?
        .filter(|f| viewer.is_none_or(|v| Some(v.uuid()) == f.account_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_png_jpeg_and_pdf_are_recognised_by_their_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
        assert_eq!(recognise(png), Some("image/png"));
        assert_eq!(
            recognise(b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
            Some("image/jpeg")
        );
        assert_eq!(recognise(b"%PDF-1.7\n%\xe2\xe3\n"), Some("application/pdf"));
        assert_eq!(recognise(b"GIF89a\x01\0\x01\0"), None);
        assert_eq!(recognise(b"hello, this is text"), None);
        assert_eq!(recognise(b""), None);
    }
}
