use sea_orm::entity::prelude::*;

/// One mail the worker sends: a composed digest or session notice for one person, or a sign-in
/// link that the worker composes when it sends it (the link's secret is never stored).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_mails")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: Kind,
    pub digest_id: Option<i32>,
    pub user_id: Option<i32>,
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// An iCalendar invitation to attach (reminders, registration confirmations).
    pub calendar: Option<String>,
    pub unsubscribe_url: String,
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Kind {
    /// A digest composed for one person.
    #[sea_orm(string_value = "digest")]
    Digest,
    /// A sign-in link asked for an address, composed when sent.
    #[sea_orm(string_value = "sign_in")]
    SignIn,
    /// A mail about a session to one person, composed when it was enqueued (registration,
    /// waitlist, a facilitator's message).
    #[sea_orm(string_value = "notice")]
    Notice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Gave up after the last attempt; `last_error` says why.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// The person unsubscribed (or left) after the digest was decided; or a sign-in link was asked
    /// for an address that belongs to no active person.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
