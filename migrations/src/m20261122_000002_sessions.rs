//! The four sessions of a cohort: booked experts, registrations with a waitlist, the needs
//! intake, availability polls, recaps, and personal calendar feeds.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_auto(Sessions::Id))
                    .col(integer(Sessions::CohortId))
                    .col(integer(Sessions::Number))
                    .col(string(Sessions::Title))
                    .col(timestamp_with_time_zone(Sessions::StartsAt))
                    .col(timestamp_with_time_zone(Sessions::EndsAt))
                    .col(string_null(Sessions::MeetingUrl))
                    // Markdown; sanitised when shown.
                    .col(text(Sessions::Agenda))
                    // planned | confirmed | held | cancelled
                    .col(string(Sessions::Status))
                    .col(integer_null(Sessions::Capacity))
                    // Raised on every change a calendar shows (iCalendar SEQUENCE).
                    .col(integer(Sessions::Sequence))
                    .col(text(Sessions::RecapSummary))
                    .col(text(Sessions::RecapDecisions))
                    .col(text(Sessions::RecapResources))
                    .col(timestamp_with_time_zone_null(Sessions::RecapPublishedAt))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::CohortId)
                            .to(Cohorts::Table, Cohorts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(Index::create().unique().col(Sessions::CohortId).col(Sessions::Number))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SessionExperts::Table)
                    .col(pk_auto(SessionExperts::Id))
                    .col(integer(SessionExperts::SessionId))
                    .col(integer(SessionExperts::UserId))
                    .col(string(SessionExperts::Topic))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionExperts::Table, SessionExperts::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionExperts::Table, SessionExperts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .unique()
                            .col(SessionExperts::SessionId)
                            .col(SessionExperts::UserId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Registrations::Table)
                    .col(pk_auto(Registrations::Id))
                    .col(integer(Registrations::SessionId))
                    .col(integer(Registrations::UserId))
                    // registered | waitlisted
                    .col(string(Registrations::Status))
                    .col(timestamp_with_time_zone(Registrations::CreatedAt))
                    // Recorded by the facilitator after the session.
                    .col(boolean_null(Registrations::Attended))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Registrations::Table, Registrations::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Registrations::Table, Registrations::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .unique()
                            .col(Registrations::SessionId)
                            .col(Registrations::UserId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Preparations::Table)
                    .col(pk_auto(Preparations::Id))
                    .col(integer(Preparations::SessionId))
                    .col(integer(Preparations::UserId))
                    .col(text(Preparations::Needs))
                    .col(text(Preparations::Offers))
                    .col(timestamp_with_time_zone(Preparations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Preparations::Table, Preparations::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Preparations::Table, Preparations::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .unique()
                            .col(Preparations::SessionId)
                            .col(Preparations::UserId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PollOptions::Table)
                    .col(pk_auto(PollOptions::Id))
                    .col(integer(PollOptions::SessionId))
                    .col(timestamp_with_time_zone(PollOptions::StartsAt))
                    .col(timestamp_with_time_zone(PollOptions::EndsAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PollOptions::Table, PollOptions::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PollAnswers::Table)
                    .col(pk_auto(PollAnswers::Id))
                    .col(integer(PollAnswers::OptionId))
                    .col(integer(PollAnswers::UserId))
                    // yes | if_need_be | no
                    .col(string(PollAnswers::Answer))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PollAnswers::Table, PollAnswers::OptionId)
                            .to(PollOptions::Table, PollOptions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PollAnswers::Table, PollAnswers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .unique()
                            .col(PollAnswers::OptionId)
                            .col(PollAnswers::UserId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SessionFollowUps::Table)
                    .col(pk_auto(SessionFollowUps::Id))
                    .col(integer(SessionFollowUps::SessionId))
                    .col(integer(SessionFollowUps::OrganisationId))
                    .col(text(SessionFollowUps::Text))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionFollowUps::Table, SessionFollowUps::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SessionFollowUps::Table, SessionFollowUps::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CalendarFeeds::Table)
                    .col(pk_auto(CalendarFeeds::Id))
                    .col(integer_uniq(CalendarFeeds::UserId))
                    // SHA-256 of the secret in the feed URL.
                    .col(string_uniq(CalendarFeeds::TokenHash))
                    .col(timestamp_with_time_zone(CalendarFeeds::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CalendarFeeds::Table, CalendarFeeds::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CalendarFeeds::Table.into_iden(),
            SessionFollowUps::Table.into_iden(),
            PollAnswers::Table.into_iden(),
            PollOptions::Table.into_iden(),
            Preparations::Table.into_iden(),
            Registrations::Table.into_iden(),
            SessionExperts::Table.into_iden(),
            Sessions::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Cohorts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SessionFollowUps {
    Table,
    Id,
    SessionId,
    OrganisationId,
    Text,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    CohortId,
    Number,
    Title,
    StartsAt,
    EndsAt,
    MeetingUrl,
    Agenda,
    Status,
    Capacity,
    Sequence,
    RecapSummary,
    RecapDecisions,
    RecapResources,
    RecapPublishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SessionExperts {
    Table,
    Id,
    SessionId,
    UserId,
    Topic,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
    SessionId,
    UserId,
    Status,
    CreatedAt,
    Attended,
}

#[derive(DeriveIden)]
enum Preparations {
    Table,
    Id,
    SessionId,
    UserId,
    Needs,
    Offers,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PollOptions {
    Table,
    Id,
    SessionId,
    StartsAt,
    EndsAt,
}

#[derive(DeriveIden)]
enum PollAnswers {
    Table,
    Id,
    OptionId,
    UserId,
    Answer,
}

#[derive(DeriveIden)]
enum CalendarFeeds {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
}
