use sea_orm::entity::prelude::*;

/// What a funded project's municipality needs from others and can offer them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project_profiles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub grant_id: i32,
    pub needs: String,
    pub offers: String,
    pub updated_by: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
