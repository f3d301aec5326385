//! sea-orm entities, one per table (the schema itself lives in the `migrations` crate).

pub mod audit_log;
pub mod calendar_feed;
pub mod cohort;
pub mod cohort_event;
pub mod cohort_event_counter;
pub mod grant;
pub mod invitation;
pub mod membership;
pub mod organisation;
pub mod poll_answer;
pub mod poll_option;
pub mod post;
pub mod preparation;
pub mod programme;
pub mod registration;
pub mod session;
pub mod session_expert;
pub mod session_follow_up;
pub mod sign_in_token;
pub mod theme;
pub mod theme_measure_type;
pub mod thread;
pub mod user;
