//! Everything Samling holds about a person, as a ZIP with JSON and a readable HTML page,
//! prepared in the background and downloaded once through a link mailed to them.
