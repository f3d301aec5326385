use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub email: String,
    pub language: String,
    pub is_admin: bool,
    pub active: bool,
    pub token_version: i32,
    pub organisation_id: Option<i32>,
    pub created_at: DateTimeUtc,
    /// See [`crate::domain::digest_schedule::DigestPreference`].
    pub digest_preference: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
