use sea_orm::entity::prelude::*;

use crate::domain::sessions::SessionStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cohort_id: i32,
    pub number: i32,
    pub title: String,
    /// `generated` while the title is the one Samling made ([`crate::sessions::GENERATED_TITLE`]),
    /// shown in the reader's language; `None` once a facilitator wrote their own.
    pub title_key: Option<String>,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub meeting_url: Option<String>,
    /// Markdown, sanitised when shown.
    pub agenda: String,
    pub status: SessionStatus,
    pub capacity: Option<i32>,
    /// iCalendar SEQUENCE: raised on every change a calendar shows.
    pub sequence: i32,
    pub recap_summary: String,
    pub recap_decisions: String,
    pub recap_resources: String,
    pub recap_published_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the facilitator was reminded that attendance or the recap was missing.
    pub nudged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
