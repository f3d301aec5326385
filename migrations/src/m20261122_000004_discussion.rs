//! What makes threads a discussion: edit history, reactions, mentions, read positions, reports,
//! and mutes of members.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade_to(from: (Alias, Alias), to: (Alias, Alias)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn post_fk(table: &str) -> ForeignKeyCreateStatement {
    cascade_to(
        (Alias::new(table), Alias::new("post_id")),
        (Alias::new("posts"), Alias::new("id")),
    )
}

fn user_fk(table: &str, column: &str) -> ForeignKeyCreateStatement {
    cascade_to(
        (Alias::new(table), Alias::new(column)),
        (Alias::new("users"), Alias::new("id")),
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The earlier text of a post, one row per edit.
        manager
            .create_table(
                Table::create()
                    .table(PostRevisions::Table)
                    .col(pk_auto(PostRevisions::Id))
                    .col(integer(PostRevisions::PostId))
                    .col(text(PostRevisions::Body))
                    .col(integer(PostRevisions::EditorId))
                    .col(timestamp_with_time_zone(PostRevisions::CreatedAt))
                    .foreign_key(&mut post_fk("post_revisions"))
                    .foreign_key(&mut user_fk("post_revisions", "editor_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("post_revisions_by_post")
                    .table(PostRevisions::Table)
                    .col(PostRevisions::PostId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostReactions::Table)
                    .col(integer(PostReactions::PostId))
                    .col(integer(PostReactions::UserId))
                    // A code from the fixed list (thumbs_up, heart, …), not free text.
                    .col(string(PostReactions::Reaction))
                    .col(timestamp_with_time_zone(PostReactions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(PostReactions::PostId)
                            .col(PostReactions::UserId)
                            .col(PostReactions::Reaction),
                    )
                    .foreign_key(&mut post_fk("post_reactions"))
                    .foreign_key(&mut user_fk("post_reactions", "user_id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostMentions::Table)
                    .col(integer(PostMentions::PostId))
                    .col(integer(PostMentions::UserId))
                    .primary_key(Index::create().col(PostMentions::PostId).col(PostMentions::UserId))
                    .foreign_key(&mut post_fk("post_mentions"))
                    .foreign_key(&mut user_fk("post_mentions", "user_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("post_mentions_by_user")
                    .table(PostMentions::Table)
                    .col(PostMentions::UserId)
                    .to_owned(),
            )
            .await?;

        // How far a person has read a thread; posts after it are unread.
        manager
            .create_table(
                Table::create()
                    .table(ThreadReads::Table)
                    .col(integer(ThreadReads::UserId))
                    .col(integer(ThreadReads::ThreadId))
                    .col(integer(ThreadReads::LastReadPostId))
                    .col(timestamp_with_time_zone(ThreadReads::UpdatedAt))
                    .primary_key(Index::create().col(ThreadReads::UserId).col(ThreadReads::ThreadId))
                    .foreign_key(&mut user_fk("thread_reads", "user_id"))
                    .foreign_key(&mut cascade_to(
                        (Alias::new("thread_reads"), Alias::new("thread_id")),
                        (Alias::new("threads"), Alias::new("id")),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostReports::Table)
                    .col(pk_auto(PostReports::Id))
                    .col(integer(PostReports::PostId))
                    .col(integer(PostReports::CohortId))
                    .col(integer(PostReports::ReporterId))
                    .col(string(PostReports::Reason))
                    .col(timestamp_with_time_zone(PostReports::CreatedAt))
                    .col(timestamp_with_time_zone_null(PostReports::ResolvedAt))
                    .col(integer_null(PostReports::ResolvedBy))
                    .foreign_key(&mut post_fk("post_reports"))
                    .foreign_key(&mut user_fk("post_reports", "reporter_id"))
                    // One report per person and post; reporting again only updates the reason.
                    .index(
                        Index::create()
                            .unique()
                            .col(PostReports::PostId)
                            .col(PostReports::ReporterId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("post_reports_by_cohort")
                    .table(PostReports::Table)
                    .col(PostReports::CohortId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CohortMutes::Table)
                    .col(integer(CohortMutes::CohortId))
                    .col(integer(CohortMutes::UserId))
                    .col(timestamp_with_time_zone(CohortMutes::Until))
                    .col(string(CohortMutes::Reason))
                    .col(integer(CohortMutes::MutedBy))
                    .col(timestamp_with_time_zone(CohortMutes::CreatedAt))
                    .primary_key(Index::create().col(CohortMutes::CohortId).col(CohortMutes::UserId))
                    .foreign_key(&mut user_fk("cohort_mutes", "user_id"))
                    .foreign_key(&mut cascade_to(
                        (Alias::new("cohort_mutes"), Alias::new("cohort_id")),
                        (Alias::new("cohorts"), Alias::new("id")),
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CohortMutes::Table.into_iden(),
            PostReports::Table.into_iden(),
            ThreadReads::Table.into_iden(),
            PostMentions::Table.into_iden(),
            PostReactions::Table.into_iden(),
            PostRevisions::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum PostRevisions {
    Table,
    Id,
    PostId,
    Body,
    EditorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PostReactions {
    Table,
    PostId,
    UserId,
    Reaction,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PostMentions {
    Table,
    PostId,
    UserId,
}

#[derive(DeriveIden)]
enum ThreadReads {
    Table,
    UserId,
    ThreadId,
    LastReadPostId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PostReports {
    Table,
    Id,
    PostId,
    CohortId,
    ReporterId,
    Reason,
    CreatedAt,
    ResolvedAt,
    ResolvedBy,
}

#[derive(DeriveIden)]
enum CohortMutes {
    Table,
    CohortId,
    UserId,
    Until,
    Reason,
    MutedBy,
    CreatedAt,
}
