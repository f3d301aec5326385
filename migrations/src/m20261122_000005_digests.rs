//! E-mail digests: each person's preference, the digests planned per cohort, and the outbox of
//! composed mails the worker sends.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    // everything | essentials | nothing
                    .add_column(string(Users::DigestPreference).default("everything"))
                    .to_owned(),
            )
            .await?;

        // One row per digest a cohort gets: computed from its sessions, kept so the facilitator
        // can write an intro or postpone it, and marked decided once its mails are enqueued.
        manager
            .create_table(
                Table::create()
                    .table(Digests::Table)
                    .col(pk_auto(Digests::Id))
                    .col(integer(Digests::CohortId))
                    // recap | activity | reminder
                    .col(string(Digests::Kind))
                    // Stable key within the cohort and kind, e.g. `session-12` or `2026-W47`.
                    .col(string(Digests::Period))
                    .col(integer(Digests::SessionId))
                    .col(timestamp_with_time_zone(Digests::DueAt))
                    // Set by the facilitator; a new plan does not move it back.
                    .col(boolean(Digests::Postponed).default(false))
                    .col(text(Digests::Intro).default(""))
                    // scheduled | decided | dropped (its session was cancelled or moved) | missed (planned too late)
                    .col(string(Digests::Status))
                    .col(timestamp_with_time_zone_null(Digests::DecidedAt))
                    .col(timestamp_with_time_zone(Digests::CreatedAt))
                    .col(timestamp_with_time_zone(Digests::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Digests::Table, Digests::CohortId)
                            .to(Alias::new("cohorts"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("digests_once_per_period")
                    .table(Digests::Table)
                    .col(Digests::CohortId)
                    .col(Digests::Kind)
                    .col(Digests::Period)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("digests_by_status_and_due")
                    .table(Digests::Table)
                    .col(Digests::Status)
                    .col(Digests::DueAt)
                    .to_owned(),
            )
            .await?;

        // The outbox: one composed mail per person and digest, enqueued in the transaction that
        // decided the digest. The worker leases rows, sends outside any transaction and records
        // the outcome.
        manager
            .create_table(
                Table::create()
                    .table(DigestMails::Table)
                    .col(pk_auto(DigestMails::Id))
                    .col(integer(DigestMails::DigestId))
                    .col(integer(DigestMails::UserId))
                    // Stable, so a resend after an unknown outcome is recognisable.
                    .col(string_uniq(DigestMails::MessageId))
                    .col(string(DigestMails::Recipient))
                    .col(text(DigestMails::Subject))
                    .col(text(DigestMails::TextBody))
                    .col(text(DigestMails::HtmlBody))
                    .col(text_null(DigestMails::Calendar))
                    .col(string(DigestMails::UnsubscribeUrl))
                    // pending | sent | failed
                    .col(string(DigestMails::Status))
                    .col(integer(DigestMails::Attempts).default(0))
                    .col(timestamp_with_time_zone(DigestMails::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(DigestMails::LeaseUntil))
                    .col(string_null(DigestMails::LeaseOwner))
                    .col(text_null(DigestMails::LastError))
                    .col(timestamp_with_time_zone(DigestMails::CreatedAt))
                    .col(timestamp_with_time_zone_null(DigestMails::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DigestMails::Table, DigestMails::DigestId)
                            .to(Digests::Table, Digests::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DigestMails::Table, DigestMails::UserId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("digest_mails_once_per_person")
                    .table(DigestMails::Table)
                    .col(DigestMails::DigestId)
                    .col(DigestMails::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("digest_mails_to_send")
                    .table(DigestMails::Table)
                    .col(DigestMails::Status)
                    .col(DigestMails::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DigestMails::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Digests::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::DigestPreference)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    DigestPreference,
}

#[derive(DeriveIden)]
enum Digests {
    Table,
    Id,
    CohortId,
    Kind,
    Period,
    SessionId,
    DueAt,
    Postponed,
    Intro,
    Status,
    DecidedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DigestMails {
    Table,
    Id,
    DigestId,
    UserId,
    MessageId,
    Recipient,
    Subject,
    TextBody,
    HtmlBody,
    Calendar,
    UnsubscribeUrl,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LeaseOwner,
    LastError,
    CreatedAt,
    SentAt,
}
