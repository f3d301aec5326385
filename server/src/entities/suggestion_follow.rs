use sea_orm::entity::prelude::*;

/// A member followed a match suggestion: one row per person, project page and suggested project.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suggestion_follows")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    /// The project whose page showed the suggestion.
    pub grant_id: i32,
    pub suggested_grant_id: i32,
    /// finished | offer | similar, as `projects::SuggestionReason::code`.
    pub reason: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
