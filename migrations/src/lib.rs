//! Database schema of Samling as sea-orm migrations, written once for SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;
mod m20261122_000002_sessions;
mod m20261122_000003_threads;
mod m20261122_000004_discussion;
mod m20261122_000005_digests;
mod m20261122_000006_resources;
mod m20261122_000007_profiles_lessons_search;
mod m20261205_000008_outbox;
mod m20261206_000009_invitations;
mod m20261206_000010_programme_planning;
mod m20261206_000011_generated_titles;
mod m20261206_000012_programme_report;
mod m20261206_000013_mention_names;
mod m20261206_000014_erasure;
mod m20261206_000015_data_exports;
mod m20261206_000016_last_sign_in;
mod m20261206_000017_export_claims;
mod m20261206_000018_suppressed_addresses;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_foundation::Migration),
            Box::new(m20261122_000002_sessions::Migration),
            Box::new(m20261122_000003_threads::Migration),
            Box::new(m20261122_000004_discussion::Migration),
            Box::new(m20261122_000005_digests::Migration),
            Box::new(m20261122_000006_resources::Migration),
            Box::new(m20261122_000007_profiles_lessons_search::Migration),
            Box::new(m20261205_000008_outbox::Migration),
            Box::new(m20261206_000009_invitations::Migration),
            Box::new(m20261206_000010_programme_planning::Migration),
            Box::new(m20261206_000011_generated_titles::Migration),
            Box::new(m20261206_000012_programme_report::Migration),
            Box::new(m20261206_000013_mention_names::Migration),
            Box::new(m20261206_000014_erasure::Migration),
            Box::new(m20261206_000015_data_exports::Migration),
            Box::new(m20261206_000016_last_sign_in::Migration),
            Box::new(m20261206_000017_export_claims::Migration),
            Box::new(m20261206_000018_suppressed_addresses::Migration),
        ]
    }
}
