//! Discussion threads and posts of a cohort, and the cohort's event log: every stored change
//! gets the next per-cohort sequence number in the transaction that stores it, so a client
//! that reconnects asks for everything after the last number it saw.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Threads::Table)
                    .col(pk_auto(Threads::Id))
                    .col(integer(Threads::CohortId))
                    .col(integer_null(Threads::SessionId))
                    .col(string(Threads::Title))
                    .col(integer(Threads::AuthorId))
                    .col(boolean(Threads::Locked))
                    .col(boolean(Threads::Pinned))
                    .col(integer_null(Threads::AnsweredPostId))
                    // Raised on every change, for optimistic concurrency between moderators.
                    .col(integer(Threads::Version))
                    .col(timestamp_with_time_zone(Threads::CreatedAt))
                    .col(timestamp_with_time_zone(Threads::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Threads::Table, Threads::CohortId)
                            .to(Cohorts::Table, Cohorts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Threads::Table, Threads::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Threads::Table, Threads::AuthorId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("threads_by_cohort")
                    .table(Threads::Table)
                    .col(Threads::CohortId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Posts::Table)
                    .col(pk_auto(Posts::Id))
                    .col(integer(Posts::ThreadId))
                    .col(integer(Posts::CohortId))
                    .col(integer(Posts::AuthorId))
                    .col(integer_null(Posts::ParentPostId))
                    // Markdown; sanitised when shown.
                    .col(text(Posts::Body))
                    // Chosen by the client; a retried send with the same id creates one post.
                    .col(string(Posts::ClientId))
                    .col(boolean(Posts::Hidden))
                    .col(string_null(Posts::HiddenReason))
                    .col(boolean(Posts::Deleted))
                    .col(integer(Posts::Version))
                    .col(timestamp_with_time_zone(Posts::CreatedAt))
                    .col(timestamp_with_time_zone_null(Posts::EditedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Posts::Table, Posts::ThreadId)
                            .to(Threads::Table, Threads::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Posts::Table, Posts::AuthorId)
                            .to(Users::Table, Users::Id),
                    )
                    .index(Index::create().unique().col(Posts::AuthorId).col(Posts::ClientId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("posts_by_thread")
                    .table(Posts::Table)
                    .col(Posts::ThreadId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CohortEventCounters::Table)
                    .col(integer(CohortEventCounters::CohortId).primary_key())
                    .col(big_integer(CohortEventCounters::LastSeq))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CohortEventCounters::Table, CohortEventCounters::CohortId)
                            .to(Cohorts::Table, Cohorts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CohortEvents::Table)
                    .col(pk_auto(CohortEvents::Id))
                    .col(integer(CohortEvents::CohortId))
                    .col(big_integer(CohortEvents::Seq))
                    // post_created | post_edited | post_deleted | thread_created | …
                    .col(string(CohortEvents::Kind))
                    .col(integer_null(CohortEvents::ThreadId))
                    .col(integer_null(CohortEvents::PostId))
                    .col(timestamp_with_time_zone(CohortEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CohortEvents::Table, CohortEvents::CohortId)
                            .to(Cohorts::Table, Cohorts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .unique()
                            .col(CohortEvents::CohortId)
                            .col(CohortEvents::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CohortEvents::Table.into_iden(),
            CohortEventCounters::Table.into_iden(),
            Posts::Table.into_iden(),
            Threads::Table.into_iden(),
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
enum Sessions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Threads {
    Table,
    Id,
    CohortId,
    SessionId,
    Title,
    AuthorId,
    Locked,
    Pinned,
    AnsweredPostId,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
    ThreadId,
    CohortId,
    AuthorId,
    ParentPostId,
    Body,
    ClientId,
    Hidden,
    HiddenReason,
    Deleted,
    Version,
    CreatedAt,
    EditedAt,
}

#[derive(DeriveIden)]
enum CohortEventCounters {
    Table,
    CohortId,
    LastSeq,
}

#[derive(DeriveIden)]
enum CohortEvents {
    Table,
    Id,
    CohortId,
    Seq,
    Kind,
    ThreadId,
    PostId,
    CreatedAt,
}
