use sea_orm::entity::prelude::*;

/// A link or a file posted to a cohort.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "resources")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cohort_id: i32,
    pub session_id: Option<i32>,
    pub kind: Kind,
    pub title: String,
    pub summary: String,
    /// Lower-case, comma-separated.
    pub tags: String,
    pub url: Option<String>,
    /// The server's name for the stored file.
    pub storage_key: Option<String>,
    /// The uploader's file name, sanitised.
    pub file_name: Option<String>,
    /// Detected from the file's content.
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub posted_by: i32,
    pub created_at: DateTimeUtc,
    /// How often the file was downloaded.
    pub downloads: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Kind {
    #[sea_orm(string_value = "link")]
    Link,
    #[sea_orm(string_value = "file")]
    File,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
