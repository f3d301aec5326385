//! Session titles that Samling made (the theme and the session's number) are marked, so they are
//! shown in the reader's language until a facilitator writes their own. Sessions planned before
//! this migration whose title is still the generated Bokmål one are marked too.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    // `generated`: the title is "{theme} – samling {number}", translated when shown.
                    .add_column(string_null(Sessions::TitleKey))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE sessions SET title_key = 'generated' WHERE title = \
                 (SELECT themes.name_nb FROM cohorts JOIN themes ON themes.id = cohorts.theme_id \
                  WHERE cohorts.id = sessions.cohort_id) || ' – samling ' || CAST(number AS TEXT)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Sessions::TitleKey)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TitleKey,
}
