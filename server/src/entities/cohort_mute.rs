use sea_orm::entity::prelude::*;

/// A member who may not post in the cohort until a time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cohort_mutes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub cohort_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i32,
    pub until: DateTimeUtc,
    pub reason: String,
    pub muted_by: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
