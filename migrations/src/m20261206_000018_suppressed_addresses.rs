//! Invitations that outlive their person (`invitations.anonymised_at`: retention or erasure took
//! the address, name and link, the row stays for the programme report's "invited" count), and
//! the suppression list (`suppressed_addresses`): the address of every erased person, kept only
//! as a SHA-256 fingerprint, so a new grant import does not bring them back as a contact.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    .add_column(timestamp_with_time_zone_null(Invitations::AnonymisedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SuppressedAddresses::Table)
                    .col(pk_auto(SuppressedAddresses::Id))
                    // SHA-256 (hex) of the trimmed, lowercased address; nothing else of the person.
                    .col(string_uniq(SuppressedAddresses::Fingerprint))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SuppressedAddresses::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    .drop_column(Invitations::AnonymisedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    AnonymisedAt,
}

#[derive(DeriveIden)]
enum SuppressedAddresses {
    Table,
    Id,
    Fingerprint,
}
