//! Grant records: the import of the agency's export, the theme mapping and the review list.

pub mod import;
pub mod placement;
pub mod review;
