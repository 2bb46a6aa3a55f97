//! Private files: what holds sealed or sensitive bytes on disk (identity documents, bank
//! files). One writer for all of them, so each gets the same guarantees:
//!
//! - readable by this process's user only (mode 0600 from creation, never widened);
//! - whole or absent: written under a temporary name, fsynced, renamed into place and the
//!   directory fsynced, so neither a reader nor a restart after a crash sees half a file, and
//!   a file that [`write`] reported written survives a power cut;
//! - found again when orphaned: [`stale`] lists the files older than a grace period (and the
//!   temporary files a crash left), for the sweeps that delete those no row points at.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Ends every temporary name (`.<name>.<random>.tmp`): never a stored file's.
const TEMP_SUFFIX: &str = ".tmp";

/// Most directory entries one [`stale`] call looks at, so a sweep pass is bounded however
/// many files the directory holds (the rest are looked at by later passes, after deletions).
pub const MAX_ENTRIES_PER_PASS: usize = 100_000;

/// Writes `bytes` as `dir/name` (0600, temporary name, fsync, rename, directory fsync),
/// replacing any file of that name at once. Blocking file work runs off the async threads.
pub async fn write(dir: &Path, name: &str, bytes: Vec<u8>) -> io::Result<()> {
    let dir = dir.to_path_buf();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || write_blocking(&dir, &name, &bytes))
        .await
        .map_err(io::Error::other)?
}

fn temp_name(name: &str) -> String {
    format!(".{name}.{}{TEMP_SUFFIX}", uuid::Uuid::new_v4().simple())
}

/// [`write`] on the calling thread.
pub fn write_blocking(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(temp_name(name));
    let written = (|| {
        let mut file = private_options().open(&temp)?;
        file.write_all(bytes)?;
        // The data reaches the disk before the name does: a crash never leaves the final
        // name on a short file.
        file.sync_all()?;
        std::fs::rename(&temp, dir.join(name))?;
        sync_dir(dir)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(unix)]
fn private_options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    // create_new: a temporary name is never shared; 0600 from the first byte.
    options.write(true).create_new(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    options
}

/// Makes a rename or removal in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Reads `dir/name`.
pub async fn read(dir: &Path, name: &str) -> io::Result<Vec<u8>> {
    tokio::fs::read(dir.join(name)).await
}

/// Deletes `dir/name` durably; `false` when there was no such file (deleting twice is fine).
pub async fn remove(dir: &Path, name: &str) -> io::Result<bool> {
    let dir = dir.to_path_buf();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || match std::fs::remove_file(dir.join(&name)) {
        Ok(()) => sync_dir(&dir).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    })
    .await
    .map_err(io::Error::other)?
}

/// A file of a directory last written more than the grace period ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// A stored file (its name): the caller decides whether a row still points at it.
    File(String),
    /// A temporary file a crash or a failed write left: never anyone's.
    Temp(PathBuf),
}

/// The regular files of `dir` last modified more than `grace` ago (at most
/// [`MAX_ENTRIES_PER_PASS`] entries looked at); nothing when `dir` does not exist yet.
pub async fn stale(dir: &Path, grace: Duration) -> io::Result<Vec<Stale>> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let cutoff = SystemTime::now()
            .checked_sub(grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut out = Vec::new();
        for entry in entries.take(MAX_ENTRIES_PER_PASS) {
            let entry = entry?;
            let meta = entry.metadata()?;
            if !meta.is_file() || meta.modified()? > cutoff {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) {
                out.push(Stale::Temp(entry.path()));
            } else {
                out.push(Stale::File(name));
            }
        }
        Ok(out)
    })
    .await
    .map_err(io::Error::other)?
}

/// Deletes a stale temporary file (see [`Stale::Temp`]).
pub async fn remove_temp(path: &Path) -> io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn a_file_is_written_private_and_whole_and_replaced_at_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("new");
        write(&sub, "a.sealed", b"first".to_vec()).await.unwrap();
        let mode = std::fs::metadata(sub.join("a.sealed"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        write(&sub, "a.sealed", b"second".to_vec()).await.unwrap();
        assert_eq!(read(&sub, "a.sealed").await.unwrap(), b"second");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&sub).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
        assert!(remove(&sub, "a.sealed").await.unwrap());
        assert!(!remove(&sub, "a.sealed").await.unwrap());
    }

    #[tokio::test]
    async fn stale_lists_old_files_and_temporaries_only() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "old.sealed", b"x".to_vec())
            .await
            .unwrap();
        write(dir.path(), "new.sealed", b"x".to_vec())
            .await
            .unwrap();
        std::fs::write(dir.path().join(".old.sealed.abc.tmp"), b"x").unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for name in ["old.sealed", ".old.sealed.abc.tmp"] {
            let f = std::fs::File::options()
                .write(true)
                .open(dir.path().join(name))
                .unwrap();
            f.set_modified(hour_ago).unwrap();
        }
        let mut found = stale(dir.path(), Duration::from_secs(60)).await.unwrap();
        found.sort_by_key(|s| format!("{s:?}"));
        assert_eq!(
            found,
            vec![
                Stale::File("old.sealed".to_owned()),
                Stale::Temp(dir.path().join(".old.sealed.abc.tmp")),
            ]
        );
        assert!(stale(&dir.path().join("missing"), Duration::ZERO)
            .await
            .unwrap()
            .is_empty());
    }
}
