//! Erasing a person: the user row stays (posts kept as «Tidligere deltaker» still point to it)
//! but is marked `erased_at`, and the confirmation links of an erasure asked for by the person
//! themself (`erasure_requests`: single use, stored only as a hash, with the choice about their
//! posts).

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
                    .add_column(timestamp_with_time_zone_null(Users::ErasedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ErasureRequests::Table)
                    .col(pk_auto(ErasureRequests::Id))
                    .col(integer(ErasureRequests::UserId))
                    // SHA-256 of the link's secret; the secret itself is only in the mail.
                    .col(string_uniq(ErasureRequests::TokenHash))
                    // `keep` or `delete`: what happens to the person's posts.
                    .col(string(ErasureRequests::Posts))
                    .col(timestamp_with_time_zone(ErasureRequests::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ErasureRequests::ConsumedAt))
                    .col(timestamp_with_time_zone(ErasureRequests::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ErasureRequests::Table, ErasureRequests::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ErasureRequests::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::ErasedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    ErasedAt,
}

#[derive(DeriveIden)]
enum ErasureRequests {
    Table,
    Id,
    UserId,
    TokenHash,
    Posts,
    ExpiresAt,
    ConsumedAt,
    CreatedAt,
}
