//! Uploaded files (identity documents): recognised by their bytes, sealed with AES-256-GCM
//! and written under `data_dir/files/`; the database keeps only their metadata.
//!
//! With several instances, `data_dir/files` must be shared storage (the database is).

use std::path::PathBuf;

use agora_onboarding::kyc::entities::file;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{KycError, Runtime};
use crate::infra::wire::ids::{self, IdKind};

pub use file::Model as File;

pub const IDENTITY_DOCUMENT: &str = "identity_document";
/// Largest file accepted.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// What a file is sealed for: a file's ciphertext cannot be passed off as another field.
const PURPOSE: &str = "file";

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

fn path(runtime: &Runtime, id: Uuid) -> PathBuf {
    runtime.files_dir.join(format!("{id}.sealed"))
}

/// Seals and writes the file; the caller inserts the metadata row after this succeeds, so a
/// row never points at a missing file (an orphan file without a row is harmless).
pub async fn store(runtime: &Runtime, id: Uuid, bytes: &[u8]) -> std::io::Result<()> {
    let sealed = runtime.sealer.seal(PURPOSE, bytes);
    let target = path(runtime, id);
    let tmp = target.with_extension("tmp");
    tokio::fs::write(&tmp, sealed.as_bytes()).await?;
    tokio::fs::rename(&tmp, &target).await
}

/// Reads and opens a stored file.
pub async fn load(runtime: &Runtime, id: Uuid) -> anyhow::Result<Vec<u8>> {
    let sealed = tokio::fs::read_to_string(path(runtime, id)).await?;
    Ok(runtime.sealer.open(PURPOSE, &sealed)?)
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

/// Recognises, seals and stores an identity document and records its metadata (at the mode's
/// clock). The API and the hosted onboarding pages both come here, so both accept and refuse
/// the same files.
pub async fn save_identity_document(
    db: &impl ConnectionTrait,
    runtime: &Runtime,
    livemode: bool,
    account: Option<Uuid>,
    bytes: &[u8],
    filename: Option<String>,
) -> Result<File, KycError> {
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
    let id = Uuid::now_v7();
    store(runtime, id, bytes)
        .await
        .map_err(KycError::internal)?;
    let now = crate::infra::clock::now(db, livemode).await?;
    let row = file::ActiveModel {
        id: Set(id),
        livemode: Set(livemode),
        account_id: Set(account),
        purpose: Set(IDENTITY_DOCUMENT.to_owned()),
        mime_type: Set(mime.to_owned()),
        size: Set(i64::try_from(bytes.len()).unwrap_or(i64::MAX)),
        sha256: Set(sha256_hex(bytes)),
        filename: Set(filename),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(row)
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
