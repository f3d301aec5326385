use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "poll_answers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub option_id: i32,
    pub user_id: i32,
    /// "yes", "if_need_be" or "no".
    pub answer: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
