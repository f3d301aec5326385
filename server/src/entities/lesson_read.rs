use sea_orm::entity::prelude::*;

/// Someone read a lesson learned: one row per lesson and reader, with the newest programme the
/// reader took part in then, so the report can count reuse by later cohorts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lesson_reads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub lesson_id: i32,
    pub user_id: i32,
    pub programme_id: Option<i32>,
    pub read_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
