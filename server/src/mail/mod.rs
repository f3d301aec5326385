//! E-mail: the transport (SMTP, or `.eml` files in the outbox folder) and the messages Samling
//! sends, composed in the reader's language. Digests compose their own (see `digests`).

pub mod messages;
pub mod transport;
