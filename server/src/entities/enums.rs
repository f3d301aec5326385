//! The closed sets stored in string columns. Enums of one table derive `DeriveActiveEnum` in
//! its entity module; the `domain` enums a column holds ([`Role`], [`SessionStatus`],
//! [`RegistrationStatus`], [`DigestKind`], [`GrantStatus`]) are mapped here, since `domain`
//! stays free of sea-orm: [`stored_as_code!`] implements what that derive generates for
//! `rs_type = "String"`, `db_type = "String(StringLen::None)"`, with each variant stored as its
//! `code()`, the string the tables have always held. The variant lists are matched
//! exhaustively, so a new variant does not compile until it is listed.

use crate::domain::digest_schedule::DigestKind;
use crate::domain::grants::GrantStatus;
use crate::domain::roles::Role;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};

/// Makes a `domain` enum with `code(self) -> &'static str` a sea-orm active enum stored as
/// that code in a string column.
macro_rules! stored_as_code {
    ($type:ty, $name:literal, [$($variant:ident),+ $(,)?]) => {
        impl sea_orm::Iterable for $type {
            type Iterator = std::vec::IntoIter<Self>;

            fn iter() -> Self::Iterator {
                vec![$(Self::$variant),+].into_iter()
            }
        }

        impl sea_orm::ActiveEnum for $type {
            type Value = String;

            type ValueVec = Vec<String>;

            fn name() -> sea_orm::sea_query::DynIden {
                $name.into()
            }

            fn to_value(&self) -> String {
                match self {
                    $(Self::$variant)|+ => self.code().to_owned(),
                }
            }

            fn try_from_value(value: &String) -> Result<Self, sea_orm::DbErr> {
                <Self as sea_orm::Iterable>::iter()
                    .find(|variant| variant.code() == value)
                    .ok_or_else(|| sea_orm::DbErr::Type(format!("unexpected value for {} enum: {value}", $name)))
            }

            fn db_type() -> sea_orm::ColumnDef {
                sea_orm::prelude::ColumnTypeTrait::def(sea_orm::ColumnType::String(
                    sea_orm::sea_query::StringLen::None,
                ))
            }
        }

        impl From<$type> for sea_orm::Value {
            fn from(source: $type) -> Self {
                <$type as sea_orm::ActiveEnum>::to_value(&source).into()
            }
        }

        impl sea_orm::TryGetable for $type {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                idx: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let value = <String as sea_orm::TryGetable>::try_get_by(res, idx)?;
                <Self as sea_orm::ActiveEnum>::try_from_value(&value).map_err(sea_orm::TryGetError::DbErr)
            }
        }

        impl sea_orm::sea_query::ValueType for $type {
            fn try_from(value: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let value = <String as sea_orm::sea_query::ValueType>::try_from(value)?;
                <Self as sea_orm::ActiveEnum>::try_from_value(&value).map_err(|_| sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($type).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                <String as sea_orm::sea_query::ValueType>::array_type()
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                <Self as sea_orm::ActiveEnum>::db_type().get_column_type().to_owned()
            }

            fn enum_type_name() -> Option<&'static str> {
                None
            }
        }

        impl sea_orm::sea_query::Nullable for $type {
            fn null() -> sea_orm::Value {
                <String as sea_orm::sea_query::Nullable>::null()
            }
        }

        impl sea_orm::IntoActiveValue<$type> for $type {
            fn into_active_value(self) -> sea_orm::ActiveValue<$type> {
                sea_orm::ActiveValue::set(self)
            }
        }
    };
}

stored_as_code!(Role, "role", [Facilitator, ProjectLead, Expert, Observer]);
stored_as_code!(SessionStatus, "session_status", [Planned, Confirmed, Held, Cancelled]);
stored_as_code!(RegistrationStatus, "registration_status", [Registered, Waitlisted]);
stored_as_code!(DigestKind, "digest_kind", [Recap, Activity, Reminder]);
stored_as_code!(GrantStatus, "grant_status", [Awarded, Ongoing, Completed, Withdrawn]);

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::ValueType;
    use sea_orm::{ActiveEnum, Iterable, Value};

    use super::*;
    use crate::entities::{digest, organisation, outbox_mail, resource, search_entry};

    const FOUNDATION: &str = include_str!("../../../migrations/src/m20261122_000001_foundation.rs");
    const SESSIONS: &str = include_str!("../../../migrations/src/m20261122_000002_sessions.rs");
    const DIGESTS: &str = include_str!("../../../migrations/src/m20261122_000005_digests.rs");
    const RESOURCES: &str = include_str!("../../../migrations/src/m20261122_000006_resources.rs");
    const SEARCH: &str = include_str!("../../../migrations/src/m20261122_000007_profiles_lessons_search.rs");
    const OUTBOX: &str = include_str!("../../../migrations/src/m20261205_000008_outbox.rs");
    const PLANNING: &str = include_str!("../../../migrations/src/m20261206_000010_programme_planning.rs");

    /// Every variant's stored string, in declaration order.
    fn stored<E: ActiveEnum<Value = String>>() -> Vec<String> {
        E::iter().map(|variant| variant.to_value()).collect()
    }

    /// Each variant to its string and back, as a bound query value and as a read value; an
    /// unknown string is refused.
    fn round_trips<E>()
    where
        E: ActiveEnum<Value = String> + ValueType + Into<Value> + Copy + PartialEq + std::fmt::Debug,
    {
        let variants: Vec<E> = E::iter().collect();
        assert!(!variants.is_empty());
        for variant in variants {
            let text = variant.to_value();
            assert_eq!(E::try_from_value(&text).ok(), Some(variant), "{text}");
            let bound: Value = variant.into();
            assert_eq!(bound, Value::String(Some(text.clone())), "{text}");
            assert_eq!(<E as ValueType>::try_from(bound).ok(), Some(variant), "{text}");
        }
        assert!(E::try_from_value(&"no such value".to_string()).is_err());
        assert_eq!(
            E::db_type().get_column_type(),
            &sea_orm::ColumnType::String(sea_orm::sea_query::StringLen::None)
        );
    }

    /// The value lists the migrations document beside their columns (`// a | b | c`), without
    /// the notes in parentheses.
    fn documented(migration: &str) -> Vec<Vec<String>> {
        migration
            .lines()
            .filter_map(|line| line.trim().strip_prefix("// "))
            .filter(|comment| comment.contains(" | "))
            .map(|comment| {
                comment
                    .split(" | ")
                    .map(|value| value.split(" (").next().unwrap_or(value).to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_stored_enum_round_trips_through_its_string() {
        round_trips::<Role>();
        round_trips::<SessionStatus>();
        round_trips::<RegistrationStatus>();
        round_trips::<DigestKind>();
        round_trips::<GrantStatus>();
        round_trips::<digest::Status>();
        round_trips::<organisation::Kind>();
        round_trips::<outbox_mail::Kind>();
        round_trips::<outbox_mail::Status>();
        round_trips::<resource::Kind>();
        round_trips::<search_entry::Kind>();
    }

    #[test]
    fn the_stored_strings_are_the_ones_the_tables_hold() {
        // Memberships and invitations.
        assert_eq!(stored::<Role>(), ["facilitator", "project_lead", "expert", "observer"]);
        assert!(documented(FOUNDATION).contains(&stored::<Role>()));
        // Grants have stored the export's status since the first import.
        assert_eq!(
            stored::<GrantStatus>(),
            ["awarded", "ongoing", "completed", "withdrawn"]
        );
        assert_eq!(stored::<organisation::Kind>(), ["municipality", "county"]);
        assert!(FOUNDATION.contains(r#"// "municipality" or "county"."#));
        assert_eq!(stored::<SessionStatus>(), ["planned", "confirmed", "held", "cancelled"]);
        assert!(documented(SESSIONS).contains(&stored::<SessionStatus>()));
        assert_eq!(stored::<RegistrationStatus>(), ["registered", "waitlisted"]);
        assert!(documented(SESSIONS).contains(&stored::<RegistrationStatus>()));
        assert_eq!(stored::<DigestKind>(), ["recap", "activity", "reminder"]);
        assert!(documented(DIGESTS).contains(&stored::<DigestKind>()));
        assert_eq!(
            stored::<digest::Status>(),
            ["scheduled", "decided", "dropped", "missed"]
        );
        assert!(documented(DIGESTS).contains(&stored::<digest::Status>()));
        assert_eq!(stored::<resource::Kind>(), ["link", "file"]);
        assert!(documented(RESOURCES).contains(&stored::<resource::Kind>()));
        assert_eq!(
            stored::<search_entry::Kind>(),
            ["thread", "post", "resource", "profile", "lesson"]
        );
        assert!(documented(SEARCH).contains(&stored::<search_entry::Kind>()));
        assert_eq!(stored::<outbox_mail::Kind>(), ["digest", "sign_in", "notice"]);
        assert!(documented(OUTBOX).contains(&stored::<outbox_mail::Kind>()[..2].to_vec()));
        assert!(documented(PLANNING).contains(&stored::<outbox_mail::Kind>()));
        assert_eq!(
            stored::<outbox_mail::Status>(),
            ["pending", "sent", "failed", "cancelled"]
        );
        assert!(documented(OUTBOX).contains(&stored::<outbox_mail::Status>()));
        // The outbox took over the digest mails: their statuses, and the kind it gave them.
        let digest_mail_statuses = vec!["pending".to_string(), "sent".into(), "failed".into()];
        assert!(documented(DIGESTS).contains(&digest_mail_statuses));
        assert!(
            digest_mail_statuses
                .iter()
                .all(|status| outbox_mail::Status::try_from_value(status).is_ok())
        );
        assert!(OUTBOX.contains("SELECT 'digest', digest_id"));
        assert_eq!(outbox_mail::Kind::Digest.to_value(), "digest");
        // The search page's filter and the index write the same strings.
        for kind in search_entry::Kind::iter() {
            assert_eq!(kind.code(), kind.to_value());
            assert_eq!(search_entry::Kind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(
            search_entry::Kind::ALL.to_vec(),
            search_entry::Kind::iter().collect::<Vec<_>>()
        );
    }
}
