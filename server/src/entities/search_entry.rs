use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One searchable thing as one cohort sees it; see [`crate::search`].
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: Kind,
    pub source_id: i32,
    pub cohort_id: i32,
    pub title: String,
    pub body: String,
    pub stems: String,
    pub path: String,
    pub created_at: DateTimeUtc,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Kind {
    #[sea_orm(string_value = "thread")]
    Thread,
    #[sea_orm(string_value = "post")]
    Post,
    #[sea_orm(string_value = "resource")]
    Resource,
    #[sea_orm(string_value = "profile")]
    Profile,
    #[sea_orm(string_value = "lesson")]
    Lesson,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Thread, Kind::Post, Kind::Resource, Kind::Profile, Kind::Lesson];

    /// The stored value, as the search page's filter writes it.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Thread => "thread",
            Kind::Post => "post",
            Kind::Resource => "resource",
            Kind::Profile => "profile",
            Kind::Lesson => "lesson",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
