use sea_orm::entity::prelude::*;

/// A person's place in one survey: whether its link was mailed to them and whether they
/// answered, so each gets the link once and answers once. Their answer is not linked.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_takers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    /// `session:{id}` or `programme:{id}`.
    pub survey: String,
    pub programme_id: i32,
    pub session_id: Option<i32>,
    pub mailed_at: Option<DateTimeUtc>,
    pub answered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
