//! What an admin's erasure of a person will do, for the page that asks the admin to confirm it
//! (the erasure itself is [`super::erase::erase_by_admin`]).

use sea_orm::{ConnectionTrait, EntityTrait};

use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::user;
use crate::error::{AppError, AppResult};

/// The person an admin is about to erase, and how much goes with them.
#[derive(Clone, Debug)]
pub struct ErasurePreview {
    pub user_id: i32,
    pub name: String,
    pub email: String,
    /// Erased before: nothing is left to erase.
    pub erased: bool,
    /// The admin themself: refused (`cannot_erase_self`), that is the person's own way.
    pub is_self: bool,
    /// Their posts not deleted yet (kept or deleted, as the admin chooses).
    pub post_count: u64,
    /// Files and links they shared (always deleted).
    pub file_count: u64,
}

/// Reads the person and counts their posts and shared resources. Admins only (the same check
/// as the erasure); 404 for an unknown person.
pub async fn preview(db: &impl ConnectionTrait, viewer: &CurrentUser, user_id: i32) -> AppResult<ErasurePreview> {
    viewer.require(Action::ManageUsers)?;
    let person = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let (post_count, file_count) = super::erase::what_goes(db, user_id).await?;
    Ok(ErasurePreview {
        user_id,
        erased: person.erased_at.is_some(),
        is_self: user_id == viewer.user.id,
        name: person.name,
        email: person.email,
        post_count,
        file_count,
    })
}
