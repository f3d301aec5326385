use sea_orm::entity::prelude::*;

/// One digest a cohort gets; see [`crate::domain::digest_schedule`].
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cohort_id: i32,
    /// See [`crate::domain::digest_schedule::DigestKind`].
    pub kind: String,
    pub period: String,
    pub session_id: i32,
    pub due_at: DateTimeUtc,
    pub postponed: bool,
    pub intro: String,
    /// `scheduled`, `decided`, `dropped` or `missed`.
    pub status: String,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
