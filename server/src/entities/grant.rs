use sea_orm::entity::prelude::*;

use crate::domain::grants::GrantStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "grants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub reference: String,
    pub title: String,
    pub organisation_id: i32,
    pub county: String,
    pub amount_nok: i64,
    pub status: GrantStatus,
    pub period_start: Date,
    pub period_end: Date,
    pub measure_type: String,
    pub grant_year: i32,
    pub contact_name: String,
    pub contact_email: Option<String>,
    pub description: String,
    pub theme_id: Option<i32>,
    pub suggested_theme_id: Option<i32>,
    /// See [`crate::domain::grants::Placement`].
    pub placement: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
