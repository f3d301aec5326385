//! Erasing a person: their personal data goes, their posts are deleted or kept under
//! "Tidligere deltaker" as they choose, the files they posted are deleted, audit entries keep
//! a pseudonym, and their sessions and sockets close.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use crate::error::{AppError, AppResult};

/// What happens to the person's posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostsChoice {
    /// Kept, without the name: the cohort's threads stay readable ("Tidligere deltaker").
    Keep,
    /// Deleted as the author would delete them.
    Delete,
}

/// Erases the person in `txn` (a [`crate::db::write_transaction`]); the caller commits, then
/// calls [`crate::realtime::Hub::access_changed`] and deletes the files this returns.
pub async fn erase_person(
    _txn: &DatabaseTransaction,
    _user_id: i32,
    _posts: PostsChoice,
    _now: DateTime<Utc>,
) -> AppResult<Erased> {
    Err(AppError::Internal(anyhow::anyhow!("erasing a person is not built yet")))
}

/// What an erasure leaves for the caller to do after the commit.
#[derive(Debug, Default)]
pub struct Erased {
    /// Storage keys of the person's resource files, deleted once the erasure has committed.
    pub files: Vec<String>,
}
