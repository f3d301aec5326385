//! Who is asking: sign-in links, session tokens, the request extractors and rate limits.

pub mod caller;
pub mod extract;
pub mod rate_limit;
pub mod session_token;
pub mod sign_in;
pub mod tokens;

pub use caller::Caller;
pub use extract::{CurrentUser, MaybeUser};
