//! A person's copies of their data (GDPR articles 15 and 20): one row per copy asked for, with
//! the hash of the one-time download link, the ZIP file while it is kept, and when the copy
//! was asked for, ready, downloaded or expired. At most one copy per person is being prepared
//! at a time (a partial unique index, the same on SQLite and PostgreSQL).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DataExports::Table)
                    .col(pk_auto(DataExports::Id))
                    .col(integer(DataExports::UserId))
                    // SHA-256 of the download link's secret; the secret is only in the mail.
                    .col(string_uniq(DataExports::TokenHash))
                    // preparing | ready | downloaded | expired | failed
                    .col(string(DataExports::Status))
                    // The ZIP's path while it is kept; cleared when it is deleted.
                    .col(string_null(DataExports::File))
                    .col(timestamp_with_time_zone(DataExports::CreatedAt))
                    .col(timestamp_with_time_zone_null(DataExports::ReadyAt))
                    .col(timestamp_with_time_zone_null(DataExports::ExpiresAt))
                    .col(timestamp_with_time_zone_null(DataExports::DownloadedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DataExports::Table, DataExports::UserId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("data_exports_by_user")
                    .table(DataExports::Table)
                    .col(DataExports::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX data_exports_one_preparing ON data_exports (user_id) WHERE status = 'preparing'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DataExports::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DataExports {
    Table,
    Id,
    UserId,
    TokenHash,
    Status,
    File,
    CreatedAt,
    ReadyAt,
    ExpiresAt,
    DownloadedAt,
}
