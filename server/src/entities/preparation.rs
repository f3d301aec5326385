use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "preparations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub session_id: i32,
    pub user_id: i32,
    pub needs: String,
    pub offers: String,
    pub updated_at: DateTimeUtc,
    /// The session where the facilitator took this need up, in its agenda or recap.
    pub addressed_session_id: Option<i32>,
    pub addressed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
