use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// The name as a mention matches it: see [`name_key`]. Set with the name, always.
    pub name_key: String,
    pub email: String,
    pub language: String,
    pub is_admin: bool,
    pub active: bool,
    pub token_version: i32,
    pub organisation_id: Option<i32>,
    pub created_at: DateTimeUtc,
    /// See [`crate::domain::digest_schedule::DigestPreference`].
    pub digest_preference: String,
    /// When the person was erased (`privacy::erase`): the row stays for the posts kept under
    /// «Tidligere deltaker», without name or address.
    pub erased_at: Option<DateTimeUtc>,
    /// When the person last signed in through an e-mailed link (kept after the link itself is
    /// purged): the retention job anonymises a person without a cohort who stopped using Samling.
    pub last_signed_in_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A name as `@Name` mentions match it: trimmed and lowercased (Æ, Ø and Å included, which
/// SQLite's `lower()` does not know), so that one indexed lookup finds the people a post names.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}
