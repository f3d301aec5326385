use sea_orm::entity::prelude::*;

use crate::domain::digest_schedule::DigestKind;

/// One digest a cohort gets; see [`crate::domain::digest_schedule`].
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cohort_id: i32,
    pub kind: DigestKind,
    pub period: String,
    pub session_id: i32,
    pub due_at: DateTimeUtc,
    pub postponed: bool,
    pub intro: String,
    pub status: Status,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Status {
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "decided")]
    Decided,
    /// Its session was cancelled or moved away: the plan no longer has it.
    #[sea_orm(string_value = "dropped")]
    Dropped,
    /// Planned only after its time had passed (sessions added late): never sent, so a new plan
    /// does not flood people with old digests. A digest planned in time but sent late (the server
    /// was down) still goes out.
    #[sea_orm(string_value = "missed")]
    Missed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
