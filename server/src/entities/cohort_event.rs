use sea_orm::entity::prelude::*;

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cohort_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cohort_id: i32,
    /// Per cohort, gapless, in commit order.
    pub seq: i64,
    pub kind: EventKind,
    pub thread_id: Option<i32>,
    pub post_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What an event announces; stored in `cohort_events.kind` as its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, utoipa::ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    #[sea_orm(string_value = "thread_created")]
    ThreadCreated,
    /// Locked, unlocked, pinned, unpinned or its answer marked.
    #[sea_orm(string_value = "thread_updated")]
    ThreadUpdated,
    #[sea_orm(string_value = "post_created")]
    PostCreated,
    #[sea_orm(string_value = "post_edited")]
    PostEdited,
    #[sea_orm(string_value = "post_deleted")]
    PostDeleted,
    #[sea_orm(string_value = "post_hidden")]
    PostHidden,
    #[sea_orm(string_value = "post_restored")]
    PostRestored,
    #[sea_orm(string_value = "reactions_changed")]
    ReactionsChanged,
}

impl EventKind {
    /// Whether the event is sent with its thread (otherwise with its post, if it has one).
    pub fn carries_thread(self) -> bool {
        matches!(self, EventKind::ThreadCreated | EventKind::ThreadUpdated)
    }
}
