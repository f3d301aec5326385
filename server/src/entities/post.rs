use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub thread_id: i32,
    pub cohort_id: i32,
    pub author_id: i32,
    pub parent_post_id: Option<i32>,
    /// Markdown, sanitised when shown.
    pub body: String,
    /// Chosen by the client, so a retried send creates one post.
    pub client_id: String,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    pub deleted: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub edited_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
