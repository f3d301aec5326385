//! Where uploaded files live. Local disk is the default: a file is written under a temporary
//! name while it streams in and renamed into place only when it is complete and accepted, so
//! a refused or broken upload leaves nothing behind.

use std::path::PathBuf;

use anyhow::Context;
use tokio::fs::{self, File};
use tokio::io::AsyncWriteExt;

/// The file store. One variant today; an object store (S3) is the planned second.
#[derive(Clone, Debug)]
pub enum Storage {
    LocalDisk { root: PathBuf },
}

/// A file being written. Dropped without [`IncomingFile::keep`], it is removed.
pub struct IncomingFile {
    file: Option<File>,
    partial: PathBuf,
    destination: PathBuf,
    kept: bool,
}

impl Storage {
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Storage::LocalDisk { root: root.into() }
    }

    /// Starts writing the file that will be known as `key` (a server-made name).
    pub async fn begin(&self, key: &str) -> anyhow::Result<IncomingFile> {
        let Storage::LocalDisk { root } = self;
        let incoming = root.join(".incoming");
        fs::create_dir_all(&incoming)
            .await
            .with_context(|| format!("cannot create {}", incoming.display()))?;
        let partial = incoming.join(key);
        let file = File::create(&partial)
            .await
            .with_context(|| format!("cannot create {}", partial.display()))?;
        Ok(IncomingFile {
            file: Some(file),
            partial,
            destination: root.join(key),
            kept: false,
        })
    }

    /// Opens a stored file for reading.
    pub async fn open(&self, key: &str) -> anyhow::Result<File> {
        let path = self.path_of(key);
        File::open(&path)
            .await
            .with_context(|| format!("cannot open {}", path.display()))
    }

    /// Removes a stored file; a file that is already gone is fine.
    pub async fn remove(&self, key: &str) -> anyhow::Result<()> {
        let path = self.path_of(key);
        match fs::remove_file(&path).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(error).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    fn path_of(&self, key: &str) -> PathBuf {
        let Storage::LocalDisk { root } = self;
        root.join(key)
    }
}

impl IncomingFile {
    pub async fn write(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        let file = self.file.as_mut().context("the file is already closed")?;
        file.write_all(chunk).await.context("cannot write the uploaded file")
    }

    /// Makes the file permanent: synced to disk, then renamed into place.
    pub async fn keep(mut self) -> anyhow::Result<()> {
        let mut file = self.file.take().context("the file is already closed")?;
        file.flush().await?;
        file.sync_all().await.context("cannot sync the uploaded file")?;
        drop(file);
        fs::rename(&self.partial, &self.destination)
            .await
            .with_context(|| format!("cannot move the upload to {}", self.destination.display()))?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for IncomingFile {
    fn drop(&mut self) {
        if !self.kept {
            // Synchronous on purpose: a drop cannot await, and the partial file must not stay.
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}
