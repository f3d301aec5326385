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
