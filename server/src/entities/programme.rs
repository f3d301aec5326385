use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programmes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub grant_years: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub time_zone: String,
    pub created_at: DateTimeUtc,
    /// Planning rules (see `domain::planner::PlanningSettings`).
    pub session_minutes: i32,
    pub day_starts_hour: i32,
    pub day_ends_hour: i32,
    pub min_gap_days: i32,
    pub lead_days: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The planning rules an admin set for this programme.
    pub fn planning_settings(&self) -> crate::domain::planner::PlanningSettings {
        crate::domain::planner::PlanningSettings {
            session_minutes: self.session_minutes,
            day_starts_hour: self.day_starts_hour,
            day_ends_hour: self.day_ends_hour,
            min_gap_days: self.min_gap_days,
            lead_days: self.lead_days,
        }
    }

    /// The grant years whose projects this programme invites.
    pub fn grant_year_list(&self) -> Vec<i32> {
        self.grant_years
            .split(',')
            .filter_map(|year| year.trim().parse().ok())
            .collect()
    }
}
