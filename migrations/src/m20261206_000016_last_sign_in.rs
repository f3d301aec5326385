//! When a person last signed in (`users.last_signed_in_at`): sign-in links are purged after
//! `retention_sign_in_days`, but the retention job needs to know, years later, whether a person
//! without a cohort still uses their account. Existing people get the last use of one of their
//! links (a link voided by a newer one counts too: the person asked for a link then).

use sea_orm_migration::sea_orm::ConnectionTrait;
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
                    .add_column(timestamp_with_time_zone_null(Users::LastSignedInAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE users SET last_signed_in_at = \
                 (SELECT MAX(consumed_at) FROM sign_in_tokens WHERE sign_in_tokens.user_id = users.id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::LastSignedInAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    LastSignedInAt,
}
