use sea_orm::entity::prelude::*;

use crate::domain::roles::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cohort_id: i32,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub grant_id: Option<i32>,
    pub invited_by: i32,
    pub token_hash: String,
    pub expires_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// When the mail last went out (a resend sets it again); none on invitations from before.
    pub sent_at: Option<DateTimeUtc>,
    /// When the mail server refused the mail; cleared by a resend that goes through.
    pub bounced_at: Option<DateTimeUtc>,
    /// When retention or the person's erasure took its address, name and link; the row stays
    /// for the programme report's "invited" count and is never offered again.
    pub anonymised_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
