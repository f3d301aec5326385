//! One outbox for every mail the worker sends: the digest mails of before, and now sign-in links
//! (recorded by the request, composed by the worker when it sends them). `kind` says which;
//! `digest_id` and `user_id` are set only where they apply.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxMails::Table)
                    .col(pk_auto(OutboxMails::Id))
                    // digest | sign_in
                    .col(string(OutboxMails::Kind))
                    .col(integer_null(OutboxMails::DigestId))
                    .col(integer_null(OutboxMails::UserId))
                    // Stable, so a resend after an unknown outcome is recognisable.
                    .col(string_uniq(OutboxMails::MessageId))
                    .col(string(OutboxMails::Recipient))
                    .col(text(OutboxMails::Subject))
                    .col(text(OutboxMails::TextBody))
                    .col(text(OutboxMails::HtmlBody))
                    .col(text_null(OutboxMails::Calendar))
                    .col(string(OutboxMails::UnsubscribeUrl))
                    // pending | sent | failed | cancelled
                    .col(string(OutboxMails::Status))
                    .col(integer(OutboxMails::Attempts).default(0))
                    .col(timestamp_with_time_zone(OutboxMails::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(OutboxMails::LeaseUntil))
                    .col(string_null(OutboxMails::LeaseOwner))
                    .col(text_null(OutboxMails::LastError))
                    .col(timestamp_with_time_zone(OutboxMails::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxMails::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OutboxMails::Table, OutboxMails::DigestId)
                            .to(Alias::new("digests"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OutboxMails::Table, OutboxMails::UserId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A digest's mail once per person (rows without a digest are not constrained: NULLs
        // are distinct on both backends).
        manager
            .create_index(
                Index::create()
                    .name("outbox_mails_digest_once_per_person")
                    .table(OutboxMails::Table)
                    .col(OutboxMails::DigestId)
                    .col(OutboxMails::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_mails_to_send")
                    .table(OutboxMails::Table)
                    .col(OutboxMails::Status)
                    .col(OutboxMails::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO outbox_mails (kind, digest_id, user_id, message_id, recipient, subject, text_body, \
                 html_body, calendar, unsubscribe_url, status, attempts, next_attempt_at, lease_until, lease_owner, \
                 last_error, created_at, sent_at) \
                 SELECT 'digest', digest_id, user_id, message_id, recipient, subject, text_body, html_body, calendar, \
                 unsubscribe_url, status, attempts, next_attempt_at, lease_until, lease_owner, last_error, created_at, \
                 sent_at FROM digest_mails ORDER BY id",
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Alias::new("digest_mails")).to_owned())
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Sign-in rows have no place in the old table; going back is not supported.
        Err(DbErr::Migration("the outbox migration cannot be reverted".into()))
    }
}

#[derive(DeriveIden)]
enum OutboxMails {
    Table,
    Id,
    Kind,
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
