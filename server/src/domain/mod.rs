//! Pure types and rules, no I/O: grant records, roles, the authorization policy, e-mail addresses.

pub mod email;
pub mod grants;
pub mod policy;
pub mod roles;
