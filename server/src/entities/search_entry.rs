use sea_orm::entity::prelude::*;

/// One searchable thing as one cohort sees it; see [`crate::search`].
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: String,
    pub source_id: i32,
    pub cohort_id: i32,
    pub title: String,
    pub body: String,
    pub stems: String,
    pub path: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
