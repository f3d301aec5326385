//! Resources: links and files that experts and facilitators (and, where the facilitator allows
//! it, participants) post to a cohort, optionally for one of its sessions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cohorts::Table)
                    .add_column(boolean(Cohorts::ParticipantsPostResources).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Resources::Table)
                    .col(pk_auto(Resources::Id))
                    .col(integer(Resources::CohortId))
                    .col(integer_null(Resources::SessionId))
                    // link | file
                    .col(string(Resources::Kind))
                    .col(string(Resources::Title))
                    .col(text(Resources::Summary).default(""))
                    // Lower-case, comma-separated.
                    .col(string(Resources::Tags).default(""))
                    .col(string_null(Resources::Url))
                    // The server's name for the stored file; never the uploader's.
                    .col(string_null(Resources::StorageKey))
                    // The uploader's file name, sanitised, for showing and downloading.
                    .col(string_null(Resources::FileName))
                    // Detected from the content, not taken from the upload.
                    .col(string_null(Resources::ContentType))
                    .col(big_integer_null(Resources::SizeBytes))
                    .col(integer(Resources::PostedBy))
                    .col(timestamp_with_time_zone(Resources::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Resources::Table, Resources::CohortId)
                            .to(Cohorts::Table, Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Resources::Table, Resources::SessionId)
                            .to(Alias::new("sessions"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Resources::Table, Resources::PostedBy)
                            .to(Alias::new("users"), Alias::new("id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("resources_by_cohort")
                    .table(Resources::Table)
                    .col(Resources::CohortId)
                    .col(Resources::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Resources::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cohorts::Table)
                    .drop_column(Cohorts::ParticipantsPostResources)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Cohorts {
    Table,
    ParticipantsPostResources,
}

#[derive(DeriveIden)]
enum Resources {
    Table,
    Id,
    CohortId,
    SessionId,
    Kind,
    Title,
    Summary,
    Tags,
    Url,
    StorageKey,
    FileName,
    ContentType,
    SizeBytes,
    PostedBy,
    CreatedAt,
}
