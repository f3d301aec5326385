//! Pure types and rules, no I/O: grant records, roles, the authorization policy, e-mail
//! addresses, holidays, the session planner and session rules, the digest schedule.

pub mod digest_schedule;
pub mod email;
pub mod grants;
pub mod holidays;
pub mod planner;
pub mod policy;
pub mod roles;
pub mod sessions;
pub mod text;
