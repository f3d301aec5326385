//! Where uploaded files live: local disk (the default) or an S3-compatible bucket.
//!
//! Either way a file first streams into `files_dir/.incoming/` under a temporary name while it
//! is checked, and is put in place (renamed, or uploaded to the bucket) only when it is
//! complete and accepted, so a refused or broken upload leaves nothing behind.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use crate::config::{FileStorage, Settings};

/// A stored file's bytes as they are read.
pub type FileStream = BoxStream<'static, std::io::Result<Bytes>>;

/// The file store.
#[derive(Clone, Debug)]
pub enum Storage {
    /// Files under `root`, named by their key.
    LocalDisk { root: PathBuf },
    /// Objects in a bucket, named by their key; uploads are staged under `staging`.
    Bucket {
        staging: PathBuf,
        store: Arc<dyn ObjectStore>,
    },
}

/// Where an accepted file goes.
enum Destination {
    Disk(PathBuf),
    Bucket(Arc<dyn ObjectStore>, ObjectPath),
}

/// A file being written. Dropped without [`IncomingFile::keep`], it is removed.
pub struct IncomingFile {
    file: Option<File>,
    partial: PathBuf,
    destination: Destination,
    kept: bool,
}

/// Parts of a bucket upload (S3 wants at least 5 MiB per part but the last).
const PART_BYTES: usize = 8 * 1024 * 1024;

impl Storage {
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Storage::LocalDisk { root: root.into() }
    }

    /// The store the settings name: `files_dir` on disk, or the S3 bucket.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match settings.file_storage {
            FileStorage::Local => Ok(Storage::local(settings.files_dir.clone())),
            FileStorage::S3 => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&settings.s3_bucket)
                    .with_region(&settings.s3_region)
                    .with_access_key_id(&settings.s3_access_key_id)
                    .with_secret_access_key(settings.s3_secret_access_key.expose());
                if !settings.s3_endpoint.is_empty() {
                    builder = builder
                        .with_endpoint(&settings.s3_endpoint)
                        // Path-style addressing, as S3-compatible stores (MinIO, Ceph, …) expect.
                        .with_virtual_hosted_style_request(false)
                        .with_allow_http(settings.s3_endpoint.starts_with("http://"));
                }
                let store = builder.build().context("the S3 settings are not usable")?;
                Ok(Storage::Bucket {
                    staging: settings.files_dir.clone(),
                    store: Arc::new(store),
                })
            }
        }
    }

    /// Starts writing the file that will be known as `key` (a server-made name).
    pub async fn begin(&self, key: &str) -> anyhow::Result<IncomingFile> {
        let (staging, destination) = match self {
            Storage::LocalDisk { root } => (root, Destination::Disk(root.join(key))),
            Storage::Bucket { staging, store } => (staging, Destination::Bucket(store.clone(), ObjectPath::from(key))),
        };
        let partial = staging.join(".incoming").join(key);
        // A key may name a folder (`exports/…`).
        let folder = partial.parent().unwrap_or(staging);
        fs::create_dir_all(folder)
            .await
            .with_context(|| format!("cannot create {}", folder.display()))?;
        let file = File::create(&partial)
            .await
            .with_context(|| format!("cannot create {}", partial.display()))?;
        Ok(IncomingFile {
            file: Some(file),
            partial,
            destination,
            kept: false,
        })
    }

    /// Reads a stored file.
    pub async fn open(&self, key: &str) -> anyhow::Result<FileStream> {
        match self {
            Storage::LocalDisk { root } => {
                let path = root.join(key);
                let file = File::open(&path)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))?;
                Ok(ReaderStream::new(file).boxed())
            }
            Storage::Bucket { store, .. } => {
                let found = store
                    .get(&ObjectPath::from(key))
                    .await
                    .with_context(|| format!("cannot read {key} from the bucket"))?;
                Ok(found.into_stream().map_err(std::io::Error::other).boxed())
            }
        }
    }

    /// Removes a stored file; a file that is already gone is fine.
    pub async fn remove(&self, key: &str) -> anyhow::Result<()> {
        match self {
            Storage::LocalDisk { root } => {
                let path = root.join(key);
                match fs::remove_file(&path).await {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        Err(error).with_context(|| format!("cannot remove {}", path.display()))
                    }
                    _ => Ok(()),
                }
            }
            Storage::Bucket { store, .. } => match store.delete(&ObjectPath::from(key)).await {
                Err(object_store::Error::NotFound { .. }) | Ok(()) => Ok(()),
                Err(error) => Err(error).with_context(|| format!("cannot remove {key} from the bucket")),
            },
        }
    }
}

impl IncomingFile {
    pub async fn write(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        let file = self.file.as_mut().context("the file is already closed")?;
        file.write_all(chunk).await.context("cannot write the uploaded file")
    }

    /// A second handle on the file, for a writer on a blocking thread that needs to seek (a
    /// ZIP). What it writes must be flushed before [`IncomingFile::keep`].
    pub async fn blocking_file(&self) -> anyhow::Result<std::fs::File> {
        let file = self.file.as_ref().context("the file is already closed")?;
        let second = file
            .try_clone()
            .await
            .context("cannot open the file being written twice")?;
        Ok(second.into_std().await)
    }

    /// Makes the file permanent: synced and renamed into place, or uploaded to the bucket.
    pub async fn keep(mut self) -> anyhow::Result<()> {
        let mut file = self.file.take().context("the file is already closed")?;
        file.flush().await?;
        match &self.destination {
            Destination::Disk(destination) => {
                file.sync_all().await.context("cannot sync the uploaded file")?;
                drop(file);
                if let Some(folder) = destination.parent() {
                    fs::create_dir_all(folder)
                        .await
                        .with_context(|| format!("cannot create {}", folder.display()))?;
                }
                fs::rename(&self.partial, destination)
                    .await
                    .with_context(|| format!("cannot move the upload to {}", destination.display()))?;
                self.kept = true;
            }
            Destination::Bucket(store, path) => {
                drop(file);
                upload(store.as_ref(), path, &self.partial).await?;
                // The staged copy goes when this is dropped.
            }
        }
        Ok(())
    }
}

/// Streams a staged file to the bucket in parts; a failed upload is aborted.
async fn upload(store: &dyn ObjectStore, path: &ObjectPath, staged: &std::path::Path) -> anyhow::Result<()> {
    let mut file = File::open(staged)
        .await
        .with_context(|| format!("cannot open {}", staged.display()))?;
    let mut writer = WriteMultipart::new_with_chunk_size(
        store
            .put_multipart(path)
            .await
            .context("cannot start the upload to the bucket")?,
        PART_BYTES,
    );
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = match file.read(&mut buffer).await {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) => {
                writer.abort().await.ok();
                return Err(error).context("cannot read the staged upload");
            }
        };
        // At most two parts in flight, so a large file is not held in memory whole.
        writer
            .wait_for_capacity(2)
            .await
            .context("cannot upload to the bucket")?;
        writer.write(&buffer[..read]);
    }
    writer
        .finish()
        .await
        .context("cannot finish the upload to the bucket")?;
    Ok(())
}

impl Drop for IncomingFile {
    fn drop(&mut self) {
        if !self.kept {
            // Synchronous on purpose: a drop cannot await, and the partial file must not stay.
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}
