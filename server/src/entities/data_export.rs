use sea_orm::entity::prelude::*;

/// A copy of everything Samling holds about a person, asked for in Settings → «Mine data».
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "data_exports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    /// SHA-256 of the one-time download link's secret.
    pub token_hash: String,
    pub status: Status,
    /// The ZIP's storage key (`exports/…`, in `crate::resources::storage`) while it is kept.
    pub file: Option<String>,
    pub created_at: DateTimeUtc,
    pub ready_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub downloaded_at: Option<DateTimeUtc>,
    /// While `preparing`: when the instance preparing it last said it still is. A stale claim
    /// (that instance stopped) lets another take the copy over.
    pub claimed_at: Option<DateTimeUtc>,
    /// How many times preparing it was started.
    pub attempts: i32,
    /// The ZIP's size in bytes, once it is built.
    pub size_bytes: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    /// The background task is building the ZIP.
    #[sea_orm(string_value = "preparing")]
    Preparing,
    /// Built and mailed; the link works once until `expires_at`.
    #[sea_orm(string_value = "ready")]
    Ready,
    /// Downloaded once; the file is deleted.
    #[sea_orm(string_value = "downloaded")]
    Downloaded,
    /// Not downloaded in time; the file is deleted.
    #[sea_orm(string_value = "expired")]
    Expired,
    /// Building failed or was cut off (the server stopped); the person may ask again.
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
