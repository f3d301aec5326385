//! Project profiles (needs and offers), lessons learned, and the search index.
//!
//! The index is one table of entries whose `stems` column holds the Norwegian stems of the
//! entry's text, computed by the server. SQLite searches it through an FTS5 table kept in step
//! by triggers; PostgreSQL through a GIN index on a generated `to_tsvector('simple', stems)`. Stemming in
//! the server keeps the two databases finding the same things.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn foreign_key(table: &str, column: &str, to: &str, cascade: bool) -> ForeignKeyCreateStatement {
    let mut key = ForeignKey::create();
    key.from(Alias::new(table), Alias::new(column))
        .to(Alias::new(to), Alias::new("id"));
    if cascade {
        key.on_delete(ForeignKeyAction::Cascade);
    }
    key
}

const SQLITE_SEARCH: [&str; 4] = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(stems, content='search_entries', content_rowid='id', \
     tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN \
     INSERT INTO search_fts(rowid, stems) VALUES (new.id, new.stems); END",
    "CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN \
     INSERT INTO search_fts(search_fts, rowid, stems) VALUES ('delete', old.id, old.stems); END",
    "CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN \
     INSERT INTO search_fts(search_fts, rowid, stems) VALUES ('delete', old.id, old.stems); \
     INSERT INTO search_fts(rowid, stems) VALUES (new.id, new.stems); END",
];

const POSTGRES_SEARCH: [&str; 2] = [
    "ALTER TABLE search_entries ADD COLUMN stems_vector tsvector \
     GENERATED ALWAYS AS (to_tsvector('simple', stems)) STORED",
    "CREATE INDEX search_entries_stems ON search_entries USING GIN (stems_vector)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProjectProfiles::Table)
                    .col(pk_auto(ProjectProfiles::Id))
                    .col(integer_uniq(ProjectProfiles::GrantId))
                    // What the municipality asks others for, and what it can share.
                    .col(text(ProjectProfiles::Needs).default(""))
                    .col(text(ProjectProfiles::Offers).default(""))
                    .col(integer(ProjectProfiles::UpdatedBy))
                    .col(timestamp_with_time_zone(ProjectProfiles::UpdatedAt))
                    .foreign_key(&mut foreign_key("project_profiles", "grant_id", "grants", true))
                    .foreign_key(&mut foreign_key("project_profiles", "updated_by", "users", false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Lessons::Table)
                    .col(pk_auto(Lessons::Id))
                    .col(integer_uniq(Lessons::GrantId))
                    // The cohort it was written in; later cohorts of the same theme read it too.
                    .col(integer(Lessons::CohortId))
                    .col(integer(Lessons::ThemeId))
                    .col(text(Lessons::Learned))
                    .col(text(Lessons::Tips).default(""))
                    .col(integer(Lessons::AuthorId))
                    .col(timestamp_with_time_zone(Lessons::CreatedAt))
                    .col(timestamp_with_time_zone(Lessons::UpdatedAt))
                    .foreign_key(&mut foreign_key("lessons", "grant_id", "grants", true))
                    .foreign_key(&mut foreign_key("lessons", "cohort_id", "cohorts", true))
                    .foreign_key(&mut foreign_key("lessons", "theme_id", "themes", false))
                    .foreign_key(&mut foreign_key("lessons", "author_id", "users", false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SearchEntries::Table)
                    .col(pk_auto(SearchEntries::Id))
                    // thread | post | resource | profile | lesson
                    .col(string(SearchEntries::Kind))
                    .col(integer(SearchEntries::SourceId))
                    // Its theme and programme year come from the cohort.
                    .col(integer(SearchEntries::CohortId))
                    .col(string(SearchEntries::Title))
                    // Plain text, for snippets.
                    .col(text(SearchEntries::Body))
                    .col(text(SearchEntries::Stems))
                    // Where the entry is read, relative to the site.
                    .col(string(SearchEntries::Path))
                    .col(timestamp_with_time_zone(SearchEntries::CreatedAt))
                    .foreign_key(&mut foreign_key("search_entries", "cohort_id", "cohorts", true))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("search_entries_source")
                    .table(SearchEntries::Table)
                    .col(SearchEntries::Kind)
                    .col(SearchEntries::SourceId)
                    .col(SearchEntries::CohortId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let connection = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for statement in POSTGRES_SEARCH {
                    connection.execute_unprepared(statement).await?;
                }
            }
            _ => {
                for statement in SQLITE_SEARCH {
                    connection.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP TABLE search_fts")
                .await?;
        }
        for table in ["search_entries", "lessons", "project_profiles"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ProjectProfiles {
    Table,
    Id,
    GrantId,
    Needs,
    Offers,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Lessons {
    Table,
    Id,
    GrantId,
    CohortId,
    ThemeId,
    Learned,
    Tips,
    AuthorId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SearchEntries {
    Table,
    Id,
    Kind,
    SourceId,
    CohortId,
    Title,
    Body,
    Stems,
    Path,
    CreatedAt,
}
