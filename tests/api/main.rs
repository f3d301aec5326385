//! Integration tests against the real server (one binary, so it links once).

mod calendar;
mod cohorts;
mod concurrency;
mod digests;
mod discussion;
mod health;
mod import;
mod invitations;
mod knowledge;
mod moderation;
mod openapi;
mod pages;
mod participation;
mod post_pages;
mod problems;
mod realtime;
mod reliability;
mod report_exports;
mod resources;
mod session_pages;
mod session_roster;
mod sessions;
mod sign_in;
mod socket_limits;
mod surveys;
mod threads;
