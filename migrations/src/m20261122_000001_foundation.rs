//! Programmes, themes and their measure-type mapping, organisations, grants, cohorts, users,
//! memberships, invitations, sign-in tokens and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Programmes::Table)
                    .col(pk_auto(Programmes::Id))
                    .col(string(Programmes::Name))
                    // Comma-separated grant years, e.g. "2021,2022".
                    .col(string(Programmes::GrantYears))
                    .col(date(Programmes::StartsOn))
                    .col(date(Programmes::EndsOn))
                    .col(string(Programmes::TimeZone))
                    .col(timestamp_with_time_zone(Programmes::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Themes::Table)
                    .col(pk_auto(Themes::Id))
                    .col(string_uniq(Themes::Slug))
                    .col(string(Themes::NameNb))
                    .col(string(Themes::NameNn))
                    .col(string(Themes::NameEn))
                    // Comma-separated word stems that suggest this theme for review.
                    .col(text(Themes::Keywords))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ThemeMeasureTypes::Table)
                    .col(pk_auto(ThemeMeasureTypes::Id))
                    .col(integer(ThemeMeasureTypes::ThemeId))
                    .col(string_uniq(ThemeMeasureTypes::MeasureType))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ThemeMeasureTypes::Table, ThemeMeasureTypes::ThemeId)
                            .to(Themes::Table, Themes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Organisations::Table)
                    .col(pk_auto(Organisations::Id))
                    .col(string_uniq(Organisations::Number))
                    .col(string(Organisations::Name))
                    .col(string(Organisations::County))
                    // "municipality" or "county".
                    .col(string(Organisations::Kind))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Grants::Table)
                    .col(pk_auto(Grants::Id))
                    .col(string_uniq(Grants::Reference))
                    .col(string(Grants::Title))
                    .col(integer(Grants::OrganisationId))
                    .col(string(Grants::County))
                    .col(big_integer(Grants::AmountNok))
                    .col(string(Grants::Status))
                    .col(date(Grants::PeriodStart))
                    .col(date(Grants::PeriodEnd))
                    .col(string(Grants::MeasureType))
                    .col(integer(Grants::GrantYear))
                    .col(string(Grants::ContactName))
                    .col(string_null(Grants::ContactEmail))
                    .col(text(Grants::Description))
                    .col(integer_null(Grants::ThemeId))
                    .col(integer_null(Grants::SuggestedThemeId))
                    // automatic | needs_review | confirmed | rejected | unmapped
                    .col(string(Grants::Placement))
                    .col(timestamp_with_time_zone(Grants::CreatedAt))
                    .col(timestamp_with_time_zone(Grants::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Grants::Table, Grants::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Grants::Table, Grants::ThemeId)
                            .to(Themes::Table, Themes::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Grants::Table, Grants::SuggestedThemeId)
                            .to(Themes::Table, Themes::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Cohorts::Table)
                    .col(pk_auto(Cohorts::Id))
                    .col(integer(Cohorts::ProgrammeId))
                    .col(integer(Cohorts::ThemeId))
                    .col(timestamp_with_time_zone(Cohorts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cohorts::Table, Cohorts::ProgrammeId)
                            .to(Programmes::Table, Programmes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cohorts::Table, Cohorts::ThemeId)
                            .to(Themes::Table, Themes::Id),
                    )
                    .index(Index::create().unique().col(Cohorts::ProgrammeId).col(Cohorts::ThemeId))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_auto(Users::Id))
                    .col(string(Users::Name))
                    // Stored lower-cased, so uniqueness ignores case.
                    .col(string_uniq(Users::Email))
                    .col(string(Users::Language))
                    .col(boolean(Users::IsAdmin))
                    .col(boolean(Users::Active))
                    // Raised on sign-out, deactivation and role changes: older session tokens stop working.
                    .col(integer(Users::TokenVersion))
                    .col(integer_null(Users::OrganisationId))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(pk_auto(Memberships::Id))
                    .col(integer(Memberships::UserId))
                    .col(integer(Memberships::CohortId))
                    // facilitator | project_lead | expert | observer
                    .col(string(Memberships::Role))
                    .col(integer_null(Memberships::GrantId))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::CohortId)
                            .to(Cohorts::Table, Cohorts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::GrantId)
                            .to(Grants::Table, Grants::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .index(
                        Index::create()
                            .unique()
                            .col(Memberships::UserId)
                            .col(Memberships::CohortId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(pk_auto(Invitations::Id))
                    .col(integer(Invitations::CohortId))
                    .col(string(Invitations::Email))
                    .col(string(Invitations::Name))
                    .col(string(Invitations::Role))
                    .col(integer_null(Invitations::GrantId))
                    .col(integer(Invitations::InvitedBy))
                    .col(string_uniq(Invitations::TokenHash))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::CohortId)
                            .to(Cohorts::Table, Cohorts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::InvitedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SignInTokens::Table)
                    .col(pk_auto(SignInTokens::Id))
                    .col(integer(SignInTokens::UserId))
                    // SHA-256 of the token; the token itself is only in the mail.
                    .col(string_uniq(SignInTokens::TokenHash))
                    .col(timestamp_with_time_zone(SignInTokens::ExpiresAt))
                    // Set when used or voided by a newer link.
                    .col(timestamp_with_time_zone_null(SignInTokens::ConsumedAt))
                    .col(timestamp_with_time_zone(SignInTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SignInTokens::Table, SignInTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_auto(AuditLog::Id))
                    .col(integer_null(AuditLog::ActorUserId))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::SubjectType))
                    .col(string(AuditLog::SubjectId))
                    .col(text(AuditLog::Detail))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;

        seed_pilot_themes(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            SignInTokens::Table.into_iden(),
            Invitations::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Cohorts::Table.into_iden(),
            Grants::Table.into_iden(),
            Organisations::Table.into_iden(),
            ThemeMeasureTypes::Table.into_iden(),
            Themes::Table.into_iden(),
            Programmes::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

/// The three pilot themes and their measure-type mapping. They are ordinary rows: the admin
/// edits them, and later programmes may add others.
async fn seed_pilot_themes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // (slug, Bokmål, Nynorsk, English, keywords, measure types)
    type PilotTheme = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
    );
    let themes: [PilotTheme; 3] = [
        (
            "mat-og-matsvinn",
            "Mat og matsvinn",
            "Mat og matsvinn",
            "Food and food waste",
            "matsvinn,matavfall,matredding,overskuddsmat",
            &["Mat og matsvinn"],
        ),
        (
            "sirkulaerokonomi",
            "Sirkulærøkonomi",
            "Sirkulærøkonomi",
            "Circular economy",
            "sirkulær,ombruk,gjenbruk,reparasjon",
            &["Sirkulærøkonomi", "Avfall og sirkulærøkonomi"],
        ),
        (
            "klimavennlig-arealplanlegging",
            "Klimavennlig arealplanlegging",
            "Klimavenleg arealplanlegging",
            "Climate-friendly land-use planning",
            "arealplan,arealbruk,arealnøytral,reguleringsplan,fortetting",
            &["Klimavennlig areal- og transportplanlegging"],
        ),
    ];
    for (id, (slug, nb, nn, en, keywords, measure_types)) in (1..).zip(themes) {
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Themes::Table)
                    .columns([
                        Themes::Id,
                        Themes::Slug,
                        Themes::NameNb,
                        Themes::NameNn,
                        Themes::NameEn,
                        Themes::Keywords,
                    ])
                    .values_panic([id.into(), slug.into(), nb.into(), nn.into(), en.into(), keywords.into()])
                    .to_owned(),
            )
            .await?;
        for measure_type in measure_types {
            manager
                .exec_stmt(
                    Query::insert()
                        .into_table(ThemeMeasureTypes::Table)
                        .columns([ThemeMeasureTypes::ThemeId, ThemeMeasureTypes::MeasureType])
                        .values_panic([id.into(), (*measure_type).into()])
                        .to_owned(),
                )
                .await?;
        }
    }
    // PostgreSQL's serial counter does not see explicit ids; move it past the seeded rows.
    if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
        manager
            .get_connection()
            .execute_unprepared("SELECT setval(pg_get_serial_sequence('themes', 'id'), 3)")
            .await?;
    }
    Ok(())
}

#[derive(DeriveIden)]
enum Programmes {
    Table,
    Id,
    Name,
    GrantYears,
    StartsOn,
    EndsOn,
    TimeZone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Themes {
    Table,
    Id,
    Slug,
    NameNb,
    NameNn,
    NameEn,
    Keywords,
}

#[derive(DeriveIden)]
enum ThemeMeasureTypes {
    Table,
    Id,
    ThemeId,
    MeasureType,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Number,
    Name,
    County,
    Kind,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Id,
    Reference,
    Title,
    OrganisationId,
    County,
    AmountNok,
    Status,
    PeriodStart,
    PeriodEnd,
    MeasureType,
    GrantYear,
    ContactName,
    ContactEmail,
    Description,
    ThemeId,
    SuggestedThemeId,
    Placement,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Cohorts {
    Table,
    Id,
    ProgrammeId,
    ThemeId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    Email,
    Language,
    IsAdmin,
    Active,
    TokenVersion,
    OrganisationId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    UserId,
    CohortId,
    Role,
    GrantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    CohortId,
    Email,
    Name,
    Role,
    GrantId,
    InvitedBy,
    TokenHash,
    ExpiresAt,
    AcceptedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SignInTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    ExpiresAt,
    ConsumedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    ActorUserId,
    Action,
    SubjectType,
    SubjectId,
    Detail,
    CreatedAt,
}
