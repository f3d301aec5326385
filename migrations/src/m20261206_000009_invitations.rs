//! Invitations that are kept when the mail server refuses them (`bounced_at`), that remember
//! when their mail last went out (`sent_at`, set again by a resend), and experts booked for a
//! session while their invitation is still open (`session_invitations`, moved into
//! `session_experts` when they accept).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    .add_column(timestamp_with_time_zone_null(Invitations::SentAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    .add_column(timestamp_with_time_zone_null(Invitations::BouncedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invitations_by_cohort_and_grant")
                    .table(Invitations::Table)
                    .col(Invitations::CohortId)
                    .col(Invitations::GrantId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionInvitations::Table)
                    .col(pk_auto(SessionInvitations::Id))
                    .col(integer(SessionInvitations::SessionId))
                    .col(integer(SessionInvitations::InvitationId))
                    .col(string(SessionInvitations::Topic))
                    .col(timestamp_with_time_zone(SessionInvitations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionInvitations::Table, SessionInvitations::SessionId)
                            .to(Alias::new("sessions"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionInvitations::Table, SessionInvitations::InvitationId)
                            .to(Invitations::Table, Invitations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("session_invitations_once")
                    .table(SessionInvitations::Table)
                    .col(SessionInvitations::SessionId)
                    .col(SessionInvitations::InvitationId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionInvitations::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("invitations_by_cohort_and_grant")
                    .table(Invitations::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Invitations::BouncedAt, Invitations::SentAt] {
            manager
                .alter_table(Table::alter().table(Invitations::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    CohortId,
    GrantId,
    SentAt,
    BouncedAt,
}

#[derive(DeriveIden)]
enum SessionInvitations {
    Table,
    Id,
    SessionId,
    InvitationId,
    Topic,
    CreatedAt,
}
