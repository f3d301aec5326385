use sea_orm::entity::prelude::*;

/// One mail the worker sends: a composed digest for one person, or a sign-in link that the
/// worker composes when it sends it (the link's secret is never stored).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_mails")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `digest` or `sign_in`.
    pub kind: String,
    pub digest_id: Option<i32>,
    pub user_id: Option<i32>,
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// An iCalendar invitation to attach (reminders).
    pub calendar: Option<String>,
    pub unsubscribe_url: String,
    /// `pending`, `sent`, `failed` (gave up) or `cancelled`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
