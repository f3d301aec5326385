//! The one authorization policy: may this person do this action on this thing?
//!
//! Every route and every later websocket message asks [`decide`]. Inside a cohort, someone who
//! is not a member is told the thing does not exist (404), so cohort content never leaks.

use std::collections::HashMap;

use super::roles::Role;

/// The signed-in person as the policy sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i32,
    pub is_admin: bool,
    /// Cohort id → this person's role there.
    pub memberships: HashMap<i32, Role>,
}

impl Actor {
    pub fn role_in(&self, cohort_id: i32) -> Option<Role> {
        self.memberships.get(&cohort_id).copied()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See a cohort, its members and their projects.
    ViewCohort { cohort_id: i32 },
    /// See members' e-mail addresses (facilitators and admins only, by the privacy rule).
    ViewMemberEmails { cohort_id: i32 },
    /// Invite an address to a cohort with a role.
    InviteToCohort { cohort_id: i32, role: Role },
    /// Plan, edit and run the cohort's sessions: dates, agenda, experts, attendance, recap, polls.
    ManageSessions { cohort_id: i32 },
    /// See the cohort's digest schedule, preview a digest as a member gets it, write its intro,
    /// postpone it or send it now.
    ManageDigests { cohort_id: i32 },
    /// Take part in a session: register, answer a poll, write what you need and can share.
    ParticipateInSession { cohort_id: i32 },
    /// Start threads and post in the cohort's discussions.
    WriteInCohort { cohort_id: i32 },
    /// Hide and restore posts, lock and pin threads, mute members, read the moderation queue.
    ModerateCohort { cohort_id: i32 },
    /// Mark which post answers a thread: its asker, the cohort's facilitator or an expert.
    MarkAnswered { cohort_id: i32, is_asker: bool },
    /// Edit or delete a post: only its author, while they may write in the cohort.
    ChangePost { cohort_id: i32, is_author: bool },
    /// Post a link or file: experts and facilitators, and project leads where the cohort's
    /// facilitator allows it.
    PostResource { cohort_id: i32, participants_allowed: bool },
    /// Write a project's needs and offers and, once it has ended, its lesson learned: the
    /// project's own lead and the cohort's facilitator.
    EditProject { cohort_id: i32, own_project: bool },
    /// Decide whether project leads may post resources in the cohort: its facilitator.
    ManageResources { cohort_id: i32 },
    /// Delete a resource: the one who posted it, and the cohort's facilitator.
    DeleteResource { cohort_id: i32, is_poster: bool },
    /// Report a post to the moderators: every member, observers too.
    ReportPost { cohort_id: i32 },
    /// Read the members' needs and offers for a session: its facilitator and booked experts.
    ViewPreparations { cohort_id: i32, booked_expert: bool },
    /// Import grant records, settle the review list, edit the theme mapping.
    ManageGrants,
    /// Create programmes and cohorts.
    ManageProgrammes,
    /// Appoint a facilitator to a cohort.
    AppointFacilitator,
    /// Deactivate people and change their admin rights.
    ManageUsers,
    /// Read the audit log.
    ViewAuditLog,
    /// Answer a usefulness survey of the cohort: its project leads and experts who took part
    /// (for a session survey: had a seat or were marked present, and were not marked absent).
    /// Admins are not exempt: a survey is for those who were there.
    AnswerSurvey { cohort_id: i32, took_part: bool },
    /// See the programme report. `wide`: a programme's or a theme's report (every cohort in
    /// it); otherwise a cohort's or one of its sessions'. `role`: the viewer's role in the
    /// report's cohort, or for a wide report their strongest role for reports in the cohorts it
    /// covers (see [`report_role`]). Admins and observers see wide reports (observers are the
    /// agency's people); other members of the programme or theme get 403, everyone else 404.
    /// A cohort's or session's report is open to its members; project leads and experts see
    /// only its public figures ([`report_is_public_only`]).
    ViewReport { wide: bool, role: Option<Role> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The thing is hidden from this person: answer 404.
    NotFound,
    /// The person may see the thing but not do this: answer 403.
    Forbidden,
}

/// Whether the session pages offer this person a participant's own actions in the cohort
/// (register, prepare, answer the availability poll): project leads and experts take part;
/// facilitators and admins run the sessions and observers only read. The API's
/// `ParticipateInSession` stays wider, so a facilitator may still register by hand.
pub fn takes_part_in_sessions(actor: &Actor, cohort_id: i32) -> bool {
    matches!(actor.role_in(cohort_id), Some(Role::ProjectLead | Role::Expert))
}

/// The role that decides what a person sees of a report covering `cohort_ids`: observer where
/// they observe any of them, else facilitator, else any other role they hold there.
pub fn report_role(actor: &Actor, cohort_ids: impl IntoIterator<Item = i32>) -> Option<Role> {
    let rank = |role: Role| match role {
        Role::Observer => 0,
        Role::Facilitator => 1,
        Role::ProjectLead => 2,
        Role::Expert => 3,
    };
    cohort_ids
        .into_iter()
        .filter_map(|cohort_id| actor.role_in(cohort_id))
        .min_by_key(|role| rank(*role))
}

/// Whether a person allowed to see a report sees only its public figures (attendance by
/// municipality): project leads and experts, who run nothing in the cohort.
pub fn report_is_public_only(actor: &Actor, role: Option<Role>) -> bool {
    !actor.is_admin && matches!(role, Some(Role::ProjectLead | Role::Expert))
}

pub fn decide(actor: &Actor, action: Action) -> Decision {
    use Decision::*;
    if let Action::AnswerSurvey { cohort_id, took_part } = action {
        return match actor.role_in(cohort_id) {
            Some(Role::ProjectLead | Role::Expert) if took_part => Allow,
            Some(_) => Forbidden,
            None if actor.is_admin => Forbidden,
            None => NotFound,
        };
    }
    if actor.is_admin {
        return Allow;
    }
    match action {
        Action::ViewCohort { cohort_id } => match actor.role_in(cohort_id) {
            Some(_) => Allow,
            None => NotFound,
        },
        Action::ViewMemberEmails { cohort_id } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator) => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::InviteToCohort { cohort_id, role } => match actor.role_in(cohort_id) {
            // A facilitator brings in participants, experts and observers; only an admin appoints facilitators.
            Some(Role::Facilitator) if role != Role::Facilitator => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::ManageSessions { cohort_id } | Action::ManageDigests { cohort_id } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator) => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::ParticipateInSession { cohort_id } => match actor.role_in(cohort_id) {
            // Observers read everything and write nothing.
            Some(Role::Observer) => Forbidden,
            Some(_) => Allow,
            None => NotFound,
        },
        Action::WriteInCohort { cohort_id } => match actor.role_in(cohort_id) {
            // Observers read everything and write nothing.
            Some(Role::Observer) => Forbidden,
            Some(_) => Allow,
            None => NotFound,
        },
        Action::ModerateCohort { cohort_id } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator) => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::MarkAnswered { cohort_id, is_asker } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator | Role::Expert) => Allow,
            Some(Role::Observer) => Forbidden,
            Some(_) if is_asker => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::ChangePost { cohort_id, is_author } => match actor.role_in(cohort_id) {
            Some(Role::Observer) => Forbidden,
            Some(_) if is_author => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::PostResource {
            cohort_id,
            participants_allowed,
        } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator | Role::Expert) => Allow,
            Some(Role::ProjectLead) if participants_allowed => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::EditProject { cohort_id, own_project } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator) => Allow,
            Some(Role::ProjectLead) if own_project => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::ManageResources { cohort_id } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator) => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::DeleteResource { cohort_id, is_poster } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator) => Allow,
            Some(Role::Observer) => Forbidden,
            Some(_) if is_poster => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::ReportPost { cohort_id } => match actor.role_in(cohort_id) {
            Some(_) => Allow,
            None => NotFound,
        },
        Action::ViewPreparations {
            cohort_id,
            booked_expert,
        } => match actor.role_in(cohort_id) {
            Some(Role::Facilitator) => Allow,
            Some(Role::Expert) if booked_expert => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::ViewReport { wide: true, role } => match role {
            Some(Role::Observer) => Allow,
            Some(_) => Forbidden,
            None => NotFound,
        },
        Action::ViewReport { wide: false, role } => match role {
            Some(_) => Allow,
            None => NotFound,
        },
        Action::ManageGrants
        | Action::ManageProgrammes
        | Action::AppointFacilitator
        | Action::ManageUsers
        | Action::ViewAuditLog => Forbidden,
        // Decided above, before the admin's exemption.
        Action::AnswerSurvey { .. } => Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(is_admin: bool, memberships: &[(i32, Role)]) -> Actor {
        Actor {
            user_id: 7,
            is_admin,
            memberships: memberships.iter().copied().collect(),
        }
    }

    #[test]
    fn experts_and_facilitators_post_resources_and_project_leads_only_when_allowed() {
        let post = |participants_allowed| Action::PostResource {
            cohort_id: 1,
            participants_allowed,
        };
        for role in [Role::Facilitator, Role::Expert] {
            assert_eq!(decide(&actor(false, &[(1, role)]), post(false)), Decision::Allow);
        }
        let lead = actor(false, &[(1, Role::ProjectLead)]);
        assert_eq!(decide(&lead, post(false)), Decision::Forbidden);
        assert_eq!(decide(&lead, post(true)), Decision::Allow);
        assert_eq!(
            decide(&actor(false, &[(1, Role::Observer)]), post(true)),
            Decision::Forbidden
        );
        assert_eq!(
            decide(&actor(false, &[(2, Role::Expert)]), post(true)),
            Decision::NotFound
        );
    }

    #[test]
    fn a_project_is_written_about_by_its_own_lead_and_the_facilitator() {
        let edit = |own_project| Action::EditProject {
            cohort_id: 1,
            own_project,
        };
        let lead = actor(false, &[(1, Role::ProjectLead)]);
        assert_eq!(decide(&lead, edit(true)), Decision::Allow);
        assert_eq!(decide(&lead, edit(false)), Decision::Forbidden);
        assert_eq!(
            decide(&actor(false, &[(1, Role::Facilitator)]), edit(false)),
            Decision::Allow
        );
        for role in [Role::Expert, Role::Observer] {
            assert_eq!(decide(&actor(false, &[(1, role)]), edit(true)), Decision::Forbidden);
        }
        assert_eq!(
            decide(&actor(false, &[(2, Role::ProjectLead)]), edit(true)),
            Decision::NotFound
        );
    }

    #[test]
    fn the_poster_and_the_facilitator_delete_a_resource_and_only_the_facilitator_opens_posting() {
        let delete = |is_poster| Action::DeleteResource {
            cohort_id: 1,
            is_poster,
        };
        let expert = actor(false, &[(1, Role::Expert)]);
        assert_eq!(decide(&expert, delete(true)), Decision::Allow);
        assert_eq!(decide(&expert, delete(false)), Decision::Forbidden);
        let facilitator = actor(false, &[(1, Role::Facilitator)]);
        assert_eq!(decide(&facilitator, delete(false)), Decision::Allow);
        assert_eq!(
            decide(&actor(false, &[(2, Role::Facilitator)]), delete(false)),
            Decision::NotFound
        );
        let manage = Action::ManageResources { cohort_id: 1 };
        assert_eq!(decide(&facilitator, manage), Decision::Allow);
        assert_eq!(decide(&expert, manage), Decision::Forbidden);
    }

    #[test]
    fn surveys_are_answered_by_leads_and_experts_who_took_part_and_not_by_admins() {
        let answer = |took_part| Action::AnswerSurvey {
            cohort_id: 1,
            took_part,
        };
        for role in [Role::ProjectLead, Role::Expert] {
            assert_eq!(decide(&actor(false, &[(1, role)]), answer(true)), Decision::Allow);
            assert_eq!(decide(&actor(false, &[(1, role)]), answer(false)), Decision::Forbidden);
        }
        for role in [Role::Facilitator, Role::Observer] {
            assert_eq!(decide(&actor(false, &[(1, role)]), answer(true)), Decision::Forbidden);
        }
        assert_eq!(decide(&actor(true, &[]), answer(true)), Decision::Forbidden);
        assert_eq!(
            decide(&actor(false, &[(2, Role::ProjectLead)]), answer(true)),
            Decision::NotFound
        );
    }

    #[test]
    fn only_facilitators_and_admins_moderate() {
        let moderate = Action::ModerateCohort { cohort_id: 1 };
        assert_eq!(
            decide(&actor(false, &[(1, Role::Facilitator)]), moderate),
            Decision::Allow
        );
        assert_eq!(decide(&actor(true, &[]), moderate), Decision::Allow);
        for role in [Role::ProjectLead, Role::Expert, Role::Observer] {
            assert_eq!(decide(&actor(false, &[(1, role)]), moderate), Decision::Forbidden);
        }
        assert_eq!(
            decide(&actor(false, &[(2, Role::Facilitator)]), moderate),
            Decision::NotFound
        );
    }

    #[test]
    fn the_asker_the_facilitator_and_experts_mark_the_answer() {
        let asked = Action::MarkAnswered {
            cohort_id: 1,
            is_asker: true,
        };
        let other = Action::MarkAnswered {
            cohort_id: 1,
            is_asker: false,
        };
        assert_eq!(decide(&actor(false, &[(1, Role::ProjectLead)]), asked), Decision::Allow);
        assert_eq!(
            decide(&actor(false, &[(1, Role::ProjectLead)]), other),
            Decision::Forbidden
        );
        assert_eq!(decide(&actor(false, &[(1, Role::Expert)]), other), Decision::Allow);
        assert_eq!(decide(&actor(false, &[(1, Role::Facilitator)]), other), Decision::Allow);
        assert_eq!(
            decide(&actor(false, &[(1, Role::Observer)]), asked),
            Decision::Forbidden
        );
    }

    #[test]
    fn only_the_author_changes_a_post_and_every_member_may_report_it() {
        let own = Action::ChangePost {
            cohort_id: 1,
            is_author: true,
        };
        let others = Action::ChangePost {
            cohort_id: 1,
            is_author: false,
        };
        assert_eq!(decide(&actor(false, &[(1, Role::ProjectLead)]), own), Decision::Allow);
        assert_eq!(
            decide(&actor(false, &[(1, Role::Facilitator)]), others),
            Decision::Forbidden
        );
        assert_eq!(
            decide(&actor(false, &[(2, Role::ProjectLead)]), own),
            Decision::NotFound
        );
        let report = Action::ReportPost { cohort_id: 1 };
        assert_eq!(decide(&actor(false, &[(1, Role::Observer)]), report), Decision::Allow);
        assert_eq!(
            decide(&actor(false, &[(2, Role::Observer)]), report),
            Decision::NotFound
        );
    }

    #[test]
    fn members_see_their_cohort_and_others_get_not_found() {
        let lead = actor(false, &[(1, Role::ProjectLead)]);
        assert_eq!(decide(&lead, Action::ViewCohort { cohort_id: 1 }), Decision::Allow);
        assert_eq!(decide(&lead, Action::ViewCohort { cohort_id: 2 }), Decision::NotFound);
    }

    #[test]
    fn every_role_can_view_its_cohort() {
        for role in Role::ALL {
            assert_eq!(
                decide(&actor(false, &[(1, role)]), Action::ViewCohort { cohort_id: 1 }),
                Decision::Allow
            );
        }
    }

    #[test]
    fn only_facilitators_and_admins_see_email_addresses() {
        assert_eq!(
            decide(
                &actor(false, &[(1, Role::Facilitator)]),
                Action::ViewMemberEmails { cohort_id: 1 }
            ),
            Decision::Allow
        );
        for role in [Role::ProjectLead, Role::Expert, Role::Observer] {
            assert_eq!(
                decide(&actor(false, &[(1, role)]), Action::ViewMemberEmails { cohort_id: 1 }),
                Decision::Forbidden
            );
        }
        assert_eq!(
            decide(&actor(true, &[]), Action::ViewMemberEmails { cohort_id: 1 }),
            Decision::Allow
        );
    }

    #[test]
    fn facilitators_invite_everyone_but_facilitators() {
        let facilitator = actor(false, &[(1, Role::Facilitator)]);
        for role in [Role::ProjectLead, Role::Expert, Role::Observer] {
            assert_eq!(
                decide(&facilitator, Action::InviteToCohort { cohort_id: 1, role }),
                Decision::Allow
            );
        }
        assert_eq!(
            decide(
                &facilitator,
                Action::InviteToCohort {
                    cohort_id: 1,
                    role: Role::Facilitator
                }
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide(
                &facilitator,
                Action::InviteToCohort {
                    cohort_id: 2,
                    role: Role::Expert
                }
            ),
            Decision::NotFound
        );
    }

    #[test]
    fn participants_cannot_invite() {
        for role in [Role::ProjectLead, Role::Expert, Role::Observer] {
            assert_eq!(
                decide(
                    &actor(false, &[(1, role)]),
                    Action::InviteToCohort {
                        cohort_id: 1,
                        role: Role::ProjectLead
                    }
                ),
                Decision::Forbidden
            );
        }
    }

    #[test]
    fn facilitators_manage_their_sessions_and_others_do_not() {
        assert_eq!(
            decide(
                &actor(false, &[(1, Role::Facilitator)]),
                Action::ManageSessions { cohort_id: 1 }
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                &actor(false, &[(1, Role::Facilitator)]),
                Action::ManageSessions { cohort_id: 2 }
            ),
            Decision::NotFound
        );
        for role in [Role::ProjectLead, Role::Expert, Role::Observer] {
            assert_eq!(
                decide(&actor(false, &[(1, role)]), Action::ManageSessions { cohort_id: 1 }),
                Decision::Forbidden
            );
        }
    }

    #[test]
    fn only_facilitators_and_admins_manage_digests() {
        let action = Action::ManageDigests { cohort_id: 1 };
        assert_eq!(
            decide(&actor(false, &[(1, Role::Facilitator)]), action),
            Decision::Allow
        );
        assert_eq!(decide(&actor(true, &[]), action), Decision::Allow);
        assert_eq!(
            decide(&actor(false, &[(2, Role::Facilitator)]), action),
            Decision::NotFound
        );
        for role in [Role::ProjectLead, Role::Expert, Role::Observer] {
            assert_eq!(decide(&actor(false, &[(1, role)]), action), Decision::Forbidden);
        }
    }

    #[test]
    fn only_project_leads_and_experts_are_offered_the_participant_actions() {
        for role in [Role::ProjectLead, Role::Expert] {
            assert!(takes_part_in_sessions(&actor(false, &[(1, role)]), 1));
        }
        for role in [Role::Facilitator, Role::Observer] {
            assert!(!takes_part_in_sessions(&actor(false, &[(1, role)]), 1));
        }
        assert!(!takes_part_in_sessions(&actor(true, &[]), 1));
        assert!(!takes_part_in_sessions(&actor(false, &[(2, Role::ProjectLead)]), 1));
    }

    #[test]
    fn observers_do_not_take_part_in_sessions() {
        for role in [Role::Facilitator, Role::ProjectLead, Role::Expert] {
            assert_eq!(
                decide(
                    &actor(false, &[(1, role)]),
                    Action::ParticipateInSession { cohort_id: 1 }
                ),
                Decision::Allow
            );
        }
        assert_eq!(
            decide(
                &actor(false, &[(1, Role::Observer)]),
                Action::ParticipateInSession { cohort_id: 1 }
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide(&actor(false, &[]), Action::ParticipateInSession { cohort_id: 1 }),
            Decision::NotFound
        );
    }

    #[test]
    fn members_write_in_their_cohort_and_observers_only_read() {
        for role in [Role::Facilitator, Role::ProjectLead, Role::Expert] {
            assert_eq!(
                decide(&actor(false, &[(1, role)]), Action::WriteInCohort { cohort_id: 1 }),
                Decision::Allow
            );
        }
        assert_eq!(
            decide(
                &actor(false, &[(1, Role::Observer)]),
                Action::WriteInCohort { cohort_id: 1 }
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide(
                &actor(false, &[(1, Role::Expert)]),
                Action::WriteInCohort { cohort_id: 2 }
            ),
            Decision::NotFound
        );
    }

    #[test]
    fn needs_and_offers_are_for_the_facilitator_and_the_booked_experts() {
        let view = |booked_expert| Action::ViewPreparations {
            cohort_id: 1,
            booked_expert,
        };
        assert_eq!(
            decide(&actor(false, &[(1, Role::Facilitator)]), view(false)),
            Decision::Allow
        );
        assert_eq!(decide(&actor(false, &[(1, Role::Expert)]), view(true)), Decision::Allow);
        assert_eq!(
            decide(&actor(false, &[(1, Role::Expert)]), view(false)),
            Decision::Forbidden
        );
        assert_eq!(
            decide(&actor(false, &[(1, Role::ProjectLead)]), view(false)),
            Decision::Forbidden
        );
    }

    #[test]
    fn administration_is_for_admins_only() {
        let facilitator = actor(false, &[(1, Role::Facilitator)]);
        let admin = actor(true, &[]);
        for action in [
            Action::ManageGrants,
            Action::ManageProgrammes,
            Action::AppointFacilitator,
            Action::ManageUsers,
            Action::ViewAuditLog,
        ] {
            assert_eq!(decide(&facilitator, action), Decision::Forbidden);
            assert_eq!(decide(&admin, action), Decision::Allow);
        }
    }

    #[test]
    fn admins_and_observers_see_a_programme_report_other_members_get_forbidden_and_outsiders_not_found() {
        let wide = |role| Action::ViewReport { wide: true, role };
        assert_eq!(decide(&actor(true, &[]), wide(None)), Decision::Allow);
        assert_eq!(decide(&actor(false, &[]), wide(Some(Role::Observer))), Decision::Allow);
        for role in [Role::Facilitator, Role::ProjectLead, Role::Expert] {
            assert_eq!(decide(&actor(false, &[]), wide(Some(role))), Decision::Forbidden);
        }
        assert_eq!(decide(&actor(false, &[]), wide(None)), Decision::NotFound);
    }

    #[test]
    fn a_cohort_report_is_open_to_its_members_and_leads_and_experts_see_only_public_figures() {
        let narrow = |role| Action::ViewReport { wide: false, role };
        for role in Role::ALL {
            assert_eq!(decide(&actor(false, &[]), narrow(Some(role))), Decision::Allow);
        }
        assert_eq!(decide(&actor(false, &[]), narrow(None)), Decision::NotFound);
        let nobody = actor(false, &[]);
        assert!(report_is_public_only(&nobody, Some(Role::ProjectLead)));
        assert!(report_is_public_only(&nobody, Some(Role::Expert)));
        assert!(!report_is_public_only(&nobody, Some(Role::Facilitator)));
        assert!(!report_is_public_only(&nobody, Some(Role::Observer)));
        assert!(!report_is_public_only(&actor(true, &[]), Some(Role::ProjectLead)));
    }

    #[test]
    fn the_observer_role_decides_a_wide_report_before_any_other() {
        let many = actor(
            false,
            &[(1, Role::ProjectLead), (2, Role::Observer), (3, Role::Facilitator)],
        );
        assert_eq!(report_role(&many, [1, 2, 3]), Some(Role::Observer));
        assert_eq!(report_role(&many, [1, 3]), Some(Role::Facilitator));
        assert_eq!(report_role(&many, [1]), Some(Role::ProjectLead));
        assert_eq!(report_role(&many, [4]), None);
    }
}
