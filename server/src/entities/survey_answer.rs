use sea_orm::entity::prelude::*;

/// One anonymous answer to a usefulness survey. It names no person: who answered is kept in
/// `survey_takers`, apart, and the answer holds only the day, so the two cannot be joined.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_answers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// session | programme
    pub kind: String,
    pub programme_id: i32,
    pub cohort_id: i32,
    pub session_id: Option<i32>,
    /// How useful the session was, 1–5 (session surveys; optional).
    pub usefulness: Option<i32>,
    pub helped: String,
    pub change: String,
    /// yes | partly | no (programme survey; optional).
    pub changed_project: Option<String>,
    /// yes | no | unsure (programme survey; optional).
    pub recommend: Option<String>,
    pub answered_on: Date,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
