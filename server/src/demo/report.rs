//! The demo's history for the programme report: in the circular-economy and land-use cohorts
//! the first two sessions have been held (attendance, recaps, needs taken up, usefulness
//! surveys), projects have written lessons in the experience report's fields that others have
//! read, and in the food cohort the form was downloaded and suggestions followed. The food
//! cohort's sessions stay ahead, as the walkthrough expects.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionSession,
    TransactionTrait,
};

use crate::domain::roles::Role;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};
use crate::entities::{
    cohort, grant, lesson, lesson_read, membership, preparation, registration, resource, session, suggestion_follow,
    survey_answer, survey_taker, theme,
};
use crate::error::AppResult;
use crate::projects;

/// Cohorts whose first two sessions are history: (theme, needs per lead, recap per session).
const HELD: [(&str, [&str; 3], [&str; 2]); 2] = [
    (
        "sirkulaerokonomi",
        [
            "Hvordan får vi etatene til å melde inn møbler de ikke trenger?",
            "Vi trenger maler for krav om ombruk i anbud.",
            "Hvordan måler vi klimagevinsten av ombruk?",
        ],
        [
            "Vi gikk gjennom lagerløsninger og hvem som tar imot møblene. Tre kommuner deler nå regnearket sitt.",
            "Innkjøpsrådgiveren viste kravene fra anbudet for kontormøbler, og vi så på hvordan gevinsten kan regnes.",
        ],
    ),
    (
        "klimavennlig-arealplanlegging",
        [
            "Hvordan regner vi utslipp fra nedbygging av myr?",
            "Vi trenger eksempler på politiske saker om arealreserver.",
            "Hvordan tar vi inn klimagassregnskapet i kommuneplanen?",
        ],
        [
            "Vi så på Miljødirektoratets veileder og kartlaget for arealbruksendring.",
            "Kommunene viste sakene der arealreserver ble tatt ut, og hva som fikk politikerne med.",
        ],
    ),
];

/// Usefulness answers, 1–5, with what helped and what to change: six for a first session,
/// three (too few to show) for a second.
const ANSWERS: [(i32, &str, &str); 6] = [
    (5, "Konkrete eksempler fra andre kommuner.", ""),
    (4, "Å høre hvordan de organiserte lageret.", "Mer tid til spørsmål."),
    (4, "", "Send presentasjonene på forhånd."),
    (3, "Gruppearbeidet.", "Kortere innlegg."),
    (5, "Fagpersonen svarte på det vi lurte på.", ""),
    (2, "", "Mer om økonomi."),
];

/// Closing-survey answers: (changed the project, would recommend).
const CLOSING: [(&str, &str); 4] = [("yes", "yes"), ("partly", "yes"), ("no", "unsure"), ("partly", "yes")];

/// Lessons in the experience report's fields by project reference: (reference, done, results,
/// worked, did not work, tips, phone).
const LESSONS: [(&str, &str, &str, &str, &str, &str, &str); 2] = [
    (
        "2021-0501",
        "Vi startet et ombrukslager for kontormøbler mellom etatene.",
        "Over 400 møbler fikk ny eier det første året, og innkjøpet av nye møbler gikk ned.",
        "Én fast person som tar imot, og en enkel oversikt alle etater kan se.",
        "Å be etatene melde inn møbler på e-post; de glemte det.",
        "Start med ett bygg og ett regneark, og vis tallene til ledelsen hvert kvartal.",
        "+47 22 00 00 00",
    ),
    (
        "2021-0615",
        "Vi kartla arealreservene og regnet på utslippene fra å bygge dem ut.",
        "Kommunestyret tok ut to store reserver på myr i kommuneplanens arealdel.",
        "Et eget kartlag gjorde det lett å diskutere i politikken.",
        "Å regne på alle reservene på en gang ble for mye i første runde.",
        "Ta med politikerne tidlig, og vis kart framfor tabeller.",
        "41 00 00 00",
    ),
];

pub async fn load<C: TransactionTrait + ConnectionTrait>(db: &C, now: DateTime<Utc>) -> AppResult<()> {
    let themes = theme::Entity::find().all(db).await?;
    let cohorts = cohort::Entity::find().order_by_asc(cohort::Column::Id).all(db).await?;
    let grants = grant::Entity::find().all(db).await?;
    let txn = crate::db::write_transaction(db).await?;
    let mut closing_done = false;
    for (slug, needs, recaps) in HELD {
        let Some(theme) = themes.iter().find(|theme| theme.slug == slug) else {
            continue;
        };
        let Some(found) = cohorts.iter().find(|cohort| cohort.theme_id == theme.id) else {
            continue;
        };
        let leads: Vec<i32> = membership::Entity::find()
            .filter(membership::Column::CohortId.eq(found.id))
            .filter(membership::Column::Role.eq(Role::ProjectLead))
            .order_by_asc(membership::Column::Id)
            .all(&txn)
            .await?
            .into_iter()
            .map(|member| member.user_id)
            .collect();
        let planned = session::Entity::find()
            .filter(session::Column::CohortId.eq(found.id))
            .order_by_asc(session::Column::Number)
            .all(&txn)
            .await?;
        let held: Vec<session::Model> = planned.into_iter().take(2).collect();
        for (index, past) in held.iter().enumerate() {
            // About six and two weeks ago.
            let weeks = if index == 0 { 6 } else { 2 };
            // Whole weeks back, so the weekday and time of day stay as planned.
            let starts_at = past.starts_at - Duration::weeks((past.starts_at - now).num_weeks() + 1 + weeks);
            let mut active: session::ActiveModel = past.clone().into();
            active.starts_at = Set(starts_at);
            active.ends_at = Set(starts_at + (past.ends_at - past.starts_at));
            active.status = Set(SessionStatus::Held);
            active.recap_summary = Set(recaps[index].to_string());
            active.recap_decisions = Set("Neste gang: erfaringer fra to nye kommuner.".to_string());
            active.recap_published_at = Set(Some(starts_at + Duration::days(1)));
            active.update(&txn).await?;
            let mut attendees = Vec::new();
            for (position, &lead) in leads.iter().enumerate() {
                // Everyone registered; one in four did not come to the first, one in three to the second.
                let attended = position % (4 - index) != 3 - index;
                // The demo registered every lead for the first session already.
                let existing = registration::Entity::find()
                    .filter(registration::Column::SessionId.eq(past.id))
                    .filter(registration::Column::UserId.eq(lead))
                    .one(&txn)
                    .await?;
                let mut mark = match existing {
                    Some(existing) => existing.into(),
                    None => registration::ActiveModel {
                        session_id: Set(past.id),
                        user_id: Set(lead),
                        status: Set(RegistrationStatus::Registered),
                        ..Default::default()
                    },
                };
                mark.created_at = Set(starts_at - Duration::days(14));
                mark.attended = Set(Some(attended));
                mark.save(&txn).await?;
                if attended {
                    attendees.push(lead);
                }
            }
            let answered = if index == 0 { ANSWERS.len() } else { 3 };
            for (&taker, (usefulness, helped, change)) in attendees.iter().zip(ANSWERS.iter()).take(answered) {
                survey(&txn, found, Some(past.id), taker, starts_at + Duration::days(2)).await?;
                survey_answer::ActiveModel {
                    kind: Set("session".to_string()),
                    programme_id: Set(found.programme_id),
                    cohort_id: Set(found.id),
                    session_id: Set(Some(past.id)),
                    usefulness: Set(Some(*usefulness)),
                    helped: Set(helped.to_string()),
                    change: Set(change.to_string()),
                    answered_on: Set((starts_at + Duration::days(2)).date_naive()),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
        // Needs for the first session, two of them taken up (in the first and the second).
        if let Some(first) = held.first() {
            for (position, (&lead, need)) in leads.iter().zip(needs).enumerate() {
                let taken_up = held.get(position).filter(|_| position < 2);
                preparation::ActiveModel {
                    session_id: Set(first.id),
                    user_id: Set(lead),
                    needs: Set(need.to_string()),
                    offers: Set(String::new()),
                    updated_at: Set(first.starts_at - Duration::days(3)),
                    addressed_session_id: Set(taken_up.map(|session| session.id)),
                    addressed_at: Set(taken_up.map(|session| session.starts_at)),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
        // The closing survey, answered in one cohort.
        if !closing_done {
            closing_done = true;
            for (&taker, (changed, recommend)) in leads.iter().zip(CLOSING) {
                survey(&txn, found, None, taker, now - Duration::days(1)).await?;
                survey_answer::ActiveModel {
                    kind: Set("programme".to_string()),
                    programme_id: Set(found.programme_id),
                    cohort_id: Set(found.id),
                    session_id: Set(None),
                    changed_project: Set(Some(changed.to_string())),
                    recommend: Set(Some(recommend.to_string())),
                    answered_on: Set((now - Duration::days(1)).date_naive()),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
        // A lesson by a finished project of the theme, read by the cohort's other leads.
        for (reference, done, results, worked, did_not_work, tips, phone) in LESSONS {
            let Some(project) = grants
                .iter()
                .find(|grant| grant.reference == reference && grant.theme_id == Some(theme.id))
            else {
                continue;
            };
            let Some(author) = membership::Entity::find()
                .filter(membership::Column::CohortId.eq(found.id))
                .filter(membership::Column::GrantId.eq(project.id))
                .one(&txn)
                .await?
            else {
                continue;
            };
            let written = lesson::ActiveModel {
                grant_id: Set(project.id),
                cohort_id: Set(found.id),
                theme_id: Set(theme.id),
                done: Set(done.to_string()),
                results: Set(results.to_string()),
                learned: Set(worked.to_string()),
                did_not_work: Set(did_not_work.to_string()),
                tips: Set(tips.to_string()),
                contact_name: Set(project.contact_name.clone()),
                contact_email: Set(project.contact_email.clone().unwrap_or_default()),
                contact_phone: Set(phone.to_string()),
                author_id: Set(author.user_id),
                created_at: Set(now - Duration::days(20)),
                updated_at: Set(now - Duration::days(20)),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            projects::index_lesson(&txn, &written).await?;
            let readers = leads.iter().filter(|&&lead| lead != author.user_id).take(3);
            read_lesson(&txn, &written, readers.copied(), found.programme_id, now).await?;
        }
    }
    food_cohort_activity(&txn, &themes, &cohorts, &grants, now).await?;
    txn.commit().await?;
    Ok(())
}

/// Who was sent and answered a survey (the answer itself carries no person).
async fn survey(
    txn: &impl ConnectionTrait,
    found: &cohort::Model,
    session_id: Option<i32>,
    user_id: i32,
    answered_at: DateTime<Utc>,
) -> AppResult<()> {
    survey_taker::ActiveModel {
        user_id: Set(user_id),
        survey: Set(match session_id {
            Some(id) => format!("session:{id}"),
            None => format!("programme:{}", found.programme_id),
        }),
        programme_id: Set(found.programme_id),
        session_id: Set(session_id),
        mailed_at: Set(Some(answered_at - Duration::hours(20))),
        answered_at: Set(Some(answered_at)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

async fn read_lesson(
    txn: &impl ConnectionTrait,
    written: &lesson::Model,
    readers: impl Iterator<Item = i32>,
    programme_id: i32,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for (days, reader) in readers.enumerate() {
        lesson_read::ActiveModel {
            lesson_id: Set(written.id),
            user_id: Set(reader),
            programme_id: Set(Some(programme_id)),
            read_at: Set(now - Duration::days(10 - days as i64)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// In the food cohort: the demo's lesson in the report's fields, read by two leads; the weighing
/// form downloaded; and Skien's lead following the suggestions on their project's page.
async fn food_cohort_activity(
    txn: &impl ConnectionTrait,
    themes: &[theme::Model],
    cohorts: &[cohort::Model],
    grants: &[grant::Model],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(food) = themes
        .iter()
        .find(|theme| theme.slug == "mat-og-matsvinn")
        .and_then(|theme| cohorts.iter().find(|cohort| cohort.theme_id == theme.id))
    else {
        return Ok(());
    };
    let id_of = |reference: &str| {
        grants
            .iter()
            .find(|grant| grant.reference == reference)
            .map(|grant| grant.id)
    };
    let lead_of = |grant_id: i32| async move {
        membership::Entity::find()
            .filter(membership::Column::CohortId.eq(food.id))
            .filter(membership::Column::GrantId.eq(grant_id))
            .one(txn)
            .await
            .map(|found| found.map(|member| member.user_id))
    };
    if let Some(written) = lesson::Entity::find()
        .filter(lesson::Column::CohortId.eq(food.id))
        .one(txn)
        .await?
    {
        let trondheim = grants.iter().find(|grant| grant.id == written.grant_id);
        let mut active: lesson::ActiveModel = written.clone().into();
        active.done = Set("Vi veide matavfallet hver dag i fire uker i 40 kommunale kjøkken.".to_string());
        active.results = Set("Matsvinnet gikk ned med en tredel, og menyene ble kortere.".to_string());
        active.did_not_work = Set("Plakater og kampanjer alene endret lite.".to_string());
        active.contact_name = Set(trondheim.map(|grant| grant.contact_name.clone()).unwrap_or_default());
        active.contact_email = Set(trondheim
            .and_then(|grant| grant.contact_email.clone())
            .unwrap_or_default());
        active.contact_phone = Set("+47 73 83 00 00".to_string());
        let updated = active.update(txn).await?;
        projects::index_lesson(txn, &updated).await?;
        let mut readers = Vec::new();
        for reference in ["2022-0118", "2022-0102"] {
            if let Some(grant_id) = id_of(reference)
                && let Some(reader) = lead_of(grant_id).await?
            {
                readers.push(reader);
            }
        }
        read_lesson(txn, &updated, readers.into_iter(), food.programme_id, now).await?;
    }
    resource::Entity::update_many()
        .col_expr(resource::Column::Downloads, sea_orm::sea_query::Expr::value(6i64))
        .filter(resource::Column::CohortId.eq(food.id))
        .filter(resource::Column::StorageKey.is_not_null())
        .exec(txn)
        .await?;
    let (Some(skien), Some(trondheim), Some(drammen)) = (id_of("2022-0118"), id_of("2021-0412"), id_of("2022-0102"))
    else {
        return Ok(());
    };
    if let Some(per) = lead_of(skien).await? {
        for (suggested, reason) in [(trondheim, "finished"), (drammen, "offer")] {
            suggestion_follow::ActiveModel {
                user_id: Set(per),
                grant_id: Set(skien),
                suggested_grant_id: Set(suggested),
                reason: Set(reason.to_string()),
                created_at: Set(now - Duration::hours(20)),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
    }
    Ok(())
}
