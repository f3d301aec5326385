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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The grant years whose projects this programme invites.
    pub fn grant_year_list(&self) -> Vec<i32> {
        self.grant_years
            .split(',')
            .filter_map(|year| year.trim().parse().ok())
            .collect()
    }
}
