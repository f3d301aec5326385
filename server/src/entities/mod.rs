//! sea-orm entities, one per table (the schema itself lives in the `migrations` crate).

pub mod audit_log;
pub mod cohort;
pub mod grant;
pub mod invitation;
pub mod membership;
pub mod organisation;
pub mod programme;
pub mod sign_in_token;
pub mod theme;
pub mod theme_measure_type;
pub mod user;
