//! Data exports are prepared by whichever instance holds the claim: `claimed_at` is refreshed
//! while one prepares, and a copy still `preparing` whose claim has gone stale (its instance
//! stopped) is taken over and prepared again, up to a few `attempts`. `size_bytes` is the
//! ZIP's size, for the download's Content-Length now that the ZIP may live in a bucket.
//! Existing copies count their creation as their claim and as one attempt.

use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(DataExports::Table)
                    .add_column(timestamp_with_time_zone_null(DataExports::ClaimedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DataExports::Table)
                    .add_column(integer(DataExports::Attempts).default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DataExports::Table)
                    .add_column(big_integer_null(DataExports::SizeBytes))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE data_exports SET claimed_at = created_at")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [DataExports::SizeBytes, DataExports::Attempts, DataExports::ClaimedAt] {
            manager
                .alter_table(Table::alter().table(DataExports::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum DataExports {
    Table,
    ClaimedAt,
    Attempts,
    SizeBytes,
}
