//! The retention job: sign-in records, expired invitations and sent mail are purged on their
//! own schedules, and people whose last programme ended longer ago than the retention period
//! are anonymised.
