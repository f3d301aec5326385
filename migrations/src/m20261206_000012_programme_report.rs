//! What the programme report needs that Samling did not keep yet:
//! - a need (a member's preparation for a session) marked as taken up in a session
//!   (`preparations.addressed_session_id`, `addressed_at`);
//! - the lesson learned in the fields of the agency's experience report (`lessons.done`,
//!   `results`, `did_not_work`, and the contact person others may call; `learned` holds
//!   "what worked" and `tips` the tips to others, as before);
//! - who read a lesson, with the newest programme they took part in when they read it, so the
//!   report can count reuse by later cohorts (`lesson_reads`, one row per lesson and reader);
//! - how often a resource's file was downloaded (`resources.downloads`);
//! - match suggestions a member followed (`suggestion_follows`, one row per person and pair);
//! - usefulness surveys: the answers carry no person (`survey_answers`), and who was sent or
//!   answered which survey is kept apart (`survey_takers`), so answers stay anonymous;
//! - when the facilitator was reminded that a session's attendance or recap is missing
//!   (`sessions.nudged_at`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column at a time.
        let add = |table: Alias, column: ColumnDef| Table::alter().table(table).add_column(column).to_owned();
        for statement in [
            add(
                Alias::new("preparations"),
                integer_null(Alias::new("addressed_session_id")),
            ),
            add(
                Alias::new("preparations"),
                timestamp_with_time_zone_null(Alias::new("addressed_at")),
            ),
            add(Alias::new("lessons"), text(Alias::new("done")).default("").to_owned()),
            add(
                Alias::new("lessons"),
                text(Alias::new("results")).default("").to_owned(),
            ),
            add(
                Alias::new("lessons"),
                text(Alias::new("did_not_work")).default("").to_owned(),
            ),
            add(
                Alias::new("lessons"),
                string(Alias::new("contact_name")).default("").to_owned(),
            ),
            add(
                Alias::new("lessons"),
                string(Alias::new("contact_email")).default("").to_owned(),
            ),
            add(
                Alias::new("lessons"),
                string(Alias::new("contact_phone")).default("").to_owned(),
            ),
            add(
                Alias::new("resources"),
                big_integer(Alias::new("downloads")).default(0).to_owned(),
            ),
            add(
                Alias::new("sessions"),
                timestamp_with_time_zone_null(Alias::new("nudged_at")),
            ),
        ] {
            manager.alter_table(statement).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(LessonReads::Table)
                    .col(pk_auto(LessonReads::Id))
                    .col(integer(LessonReads::LessonId))
                    .col(integer(LessonReads::UserId))
                    // The newest programme the reader took part in when they first read it.
                    .col(integer_null(LessonReads::ProgrammeId))
                    .col(timestamp_with_time_zone(LessonReads::ReadAt))
                    .foreign_key(&mut cascade(LessonReads::Table, LessonReads::LessonId, "lessons"))
                    .foreign_key(&mut cascade(LessonReads::Table, LessonReads::UserId, "users"))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "lesson_reads_once",
            LessonReads::Table,
            &[LessonReads::LessonId, LessonReads::UserId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(SuggestionFollows::Table)
                    .col(pk_auto(SuggestionFollows::Id))
                    .col(integer(SuggestionFollows::UserId))
                    // The project whose page showed the suggestion, and the one suggested.
                    .col(integer(SuggestionFollows::GrantId))
                    .col(integer(SuggestionFollows::SuggestedGrantId))
                    // finished | offer | similar
                    .col(string(SuggestionFollows::Reason))
                    .col(timestamp_with_time_zone(SuggestionFollows::CreatedAt))
                    .foreign_key(&mut cascade(
                        SuggestionFollows::Table,
                        SuggestionFollows::UserId,
                        "users",
                    ))
                    .foreign_key(&mut cascade(
                        SuggestionFollows::Table,
                        SuggestionFollows::GrantId,
                        "grants",
                    ))
                    .foreign_key(&mut cascade(
                        SuggestionFollows::Table,
                        SuggestionFollows::SuggestedGrantId,
                        "grants",
                    ))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "suggestion_follows_once",
            SuggestionFollows::Table,
            &[
                SuggestionFollows::UserId,
                SuggestionFollows::GrantId,
                SuggestionFollows::SuggestedGrantId,
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyAnswers::Table)
                    .col(pk_auto(SurveyAnswers::Id))
                    // session | programme
                    .col(string(SurveyAnswers::Kind))
                    .col(integer(SurveyAnswers::ProgrammeId))
                    .col(integer(SurveyAnswers::CohortId))
                    .col(integer_null(SurveyAnswers::SessionId))
                    // 1–5, session surveys; optional
                    .col(integer_null(SurveyAnswers::Usefulness))
                    .col(text(SurveyAnswers::Helped).default(""))
                    .col(text(SurveyAnswers::Change).default(""))
                    // yes | partly | no, programme surveys; optional
                    .col(string_null(SurveyAnswers::ChangedProject))
                    // yes | no | unsure, programme surveys; optional
                    .col(string_null(SurveyAnswers::Recommend))
                    // A day, not a moment, so the order of answers cannot tie one to a taker.
                    .col(date(SurveyAnswers::AnsweredOn))
                    .foreign_key(&mut cascade(
                        SurveyAnswers::Table,
                        SurveyAnswers::ProgrammeId,
                        "programmes",
                    ))
                    .foreign_key(&mut cascade(SurveyAnswers::Table, SurveyAnswers::CohortId, "cohorts"))
                    .foreign_key(&mut cascade(SurveyAnswers::Table, SurveyAnswers::SessionId, "sessions"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "survey_answers_by_session",
            SurveyAnswers::Table,
            &[SurveyAnswers::SessionId],
        )
        .await?;
        index(
            manager,
            "survey_answers_by_cohort",
            SurveyAnswers::Table,
            &[SurveyAnswers::CohortId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyTakers::Table)
                    .col(pk_auto(SurveyTakers::Id))
                    .col(integer(SurveyTakers::UserId))
                    // `session:{id}` or `programme:{id}`: one row per person and survey.
                    .col(string(SurveyTakers::Survey))
                    .col(integer(SurveyTakers::ProgrammeId))
                    .col(integer_null(SurveyTakers::SessionId))
                    // When the link was mailed (once), and when they answered (once).
                    .col(timestamp_with_time_zone_null(SurveyTakers::MailedAt))
                    .col(timestamp_with_time_zone_null(SurveyTakers::AnsweredAt))
                    .foreign_key(&mut cascade(SurveyTakers::Table, SurveyTakers::UserId, "users"))
                    .foreign_key(&mut cascade(
                        SurveyTakers::Table,
                        SurveyTakers::ProgrammeId,
                        "programmes",
                    ))
                    .foreign_key(&mut cascade(SurveyTakers::Table, SurveyTakers::SessionId, "sessions"))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "survey_takers_once",
            SurveyTakers::Table,
            &[SurveyTakers::UserId, SurveyTakers::Survey],
        )
        .await?;

        // The report counts a cohort's posts per author from the index alone, and finds each
        // question's first answer by walking its thread's posts in time order.
        index(
            manager,
            "posts_by_cohort_author",
            Alias::new("posts"),
            &[
                Alias::new("cohort_id"),
                Alias::new("author_id"),
                Alias::new("deleted"),
                Alias::new("hidden"),
            ],
        )
        .await?;
        index(
            manager,
            "posts_by_thread_time",
            Alias::new("posts"),
            &[Alias::new("thread_id"), Alias::new("created_at")],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["posts_by_cohort_author", "posts_by_thread_time"] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new("posts")).to_owned())
                .await?;
        }
        for table in ["survey_takers", "survey_answers", "suggestion_follows", "lesson_reads"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        for (table, column) in [
            ("preparations", "addressed_session_id"),
            ("preparations", "addressed_at"),
            ("lessons", "done"),
            ("lessons", "results"),
            ("lessons", "did_not_work"),
            ("lessons", "contact_name"),
            ("lessons", "contact_email"),
            ("lessons", "contact_phone"),
            ("resources", "downloads"),
            ("sessions", "nudged_at"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

fn cascade(
    table: impl IntoIden + Clone + 'static,
    column: impl IntoIden + 'static,
    to: &str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Alias::new(to), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn unique<T: IntoIden + Clone + 'static, C: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: &[C],
) -> Result<(), DbErr> {
    let mut statement = Index::create().name(name).table(table).unique().to_owned();
    for column in columns {
        statement.col(column.clone());
    }
    manager.create_index(statement).await
}

async fn index<T: IntoIden + Clone + 'static, C: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: &[C],
) -> Result<(), DbErr> {
    let mut statement = Index::create().name(name).table(table).to_owned();
    for column in columns {
        statement.col(column.clone());
    }
    manager.create_index(statement).await
}

#[derive(DeriveIden, Clone)]
enum LessonReads {
    Table,
    Id,
    LessonId,
    UserId,
    ProgrammeId,
    ReadAt,
}

#[derive(DeriveIden, Clone)]
enum SuggestionFollows {
    Table,
    Id,
    UserId,
    GrantId,
    SuggestedGrantId,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden, Clone)]
enum SurveyAnswers {
    Table,
    Id,
    Kind,
    ProgrammeId,
    CohortId,
    SessionId,
    Usefulness,
    Helped,
    Change,
    ChangedProject,
    Recommend,
    AnsweredOn,
}

#[derive(DeriveIden, Clone)]
enum SurveyTakers {
    Table,
    Id,
    UserId,
    Survey,
    ProgrammeId,
    SessionId,
    MailedAt,
    AnsweredAt,
}
