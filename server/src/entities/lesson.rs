use sea_orm::entity::prelude::*;

/// What a project's lead learned, written when the project ended.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lessons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub grant_id: i32,
    pub cohort_id: i32,
    pub theme_id: i32,
    pub learned: String,
    pub tips: String,
    pub author_id: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The experience report's fields: what was done, results and effects, what did not work
    /// (`learned` is what worked, `tips` the tips to others), and who others may call.
    pub done: String,
    pub results: String,
    pub did_not_work: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
