//! A person's name as a mention matches it (`users.name_key`: trimmed and lowercased by Rust,
//! which knows Æ, Ø and Å; SQLite's `lower()` knows only ASCII), indexed, so a post resolves
//! `@Name` with one indexed query for the names it actually writes instead of reading the
//! whole cohort. Existing people get their key here.

use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
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
                    .add_column(string(Users::NameKey).default(""))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let people = db
            .query_all_raw(Statement::from_string(backend, "SELECT id, name FROM users"))
            .await?;
        for person in people {
            let id: i32 = person.try_get("", "id")?;
            let name: String = person.try_get("", "name")?;
            let update = Query::update()
                .table(Users::Table)
                .value(Users::NameKey, name.trim().to_lowercase())
                .and_where(Expr::col(Users::Id).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("users_by_name_key")
                    .table(Users::Table)
                    .col(Users::NameKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("users_by_name_key").table(Users::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::NameKey)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    NameKey,
}
