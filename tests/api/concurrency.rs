//! Ten requests at the same moment to every write endpoint of the API, on SQLite and
//! PostgreSQL. None may answer 5xx (503 `busy` included: the lock wait is far longer than ten
//! writes take), every answer must be one the endpoint documents and one its burst expects, and
//! where the outcome is well-defined the state afterwards is the one some serial order of the
//! ten requests gives.
//!
//! [`WRITES`] lists every write operation of the OpenAPI document with the valid requests sent
//! to it; [`every_write_operation_of_the_api_is_in_the_table`] fails for a write endpoint that is
//! not in it, and each area's test fails for a table entry it did not send. One server and one
//! prepared world per area.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use reqwest::multipart::{Form, Part};
use samling::domain::roles::Role;
use samling::domain::sessions::RegistrationStatus;
use samling::entities::{
    audit_log, calendar_feed, cohort, cohort_event, cohort_mute, data_export, digest, erasure_request, grant,
    invitation, lesson, membership, organisation, outbox_mail, poll_answer, poll_option, post, post_reaction,
    post_report, post_revision, preparation, programme, project_profile, registration, resource, session,
    session_expert, session_follow_up, sign_in_token, survey_answer, theme_measure_type, thread, thread_read, user,
};
use samling_tests::{ClockExt, TestApp, sample_grants, spawn_app_with};
use sea_orm::sea_query::IntoCondition;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::sync::Barrier;

/// The test function that sends an operation's bursts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    Admin,
    People,
    Sessions,
    Threads,
    Knowledge,
}

/// A write operation as the OpenAPI document names it, and the valid requests its area's test
/// sends at once (who sends them, what they carry), in the world that test prepares.
struct Write {
    method: &'static str,
    path: &'static str,
    area: Area,
    requests: &'static str,
}

const fn write(method: &'static str, path: &'static str, area: Area, requests: &'static str) -> Write {
    Write {
        method,
        path,
        area,
        requests,
    }
}

/// Every write operation of the API (POST, PUT, PATCH, DELETE).
#[rustfmt::skip]
const WRITES: &[Write] = &[
    // Admin: the sample cohorts and ten admins.
    write("put", "/api/v1/admin/cohorts/{cohort_id}/facilitator", Area::Admin,
        "admins, JSON {email, name}: ten appoint the same new person to one cohort; ten appoint ten people"),
    write("post", "/api/v1/admin/grant-imports", Area::Admin,
        "admins, text/csv: ten corrected sample files at once, each with its own title for 2021-0412"),
    write("post", "/api/v1/admin/review/{grant_id}", Area::Admin,
        "admins, JSON {decision}: five confirm and five reject the grant waiting for review"),
    write("post", "/api/v1/admin/themes/{theme_id}/measure-types", Area::Admin,
        "admins, JSON {measure_type}: ten map the same unmapped type (Transport); ten map ten new types"),
    write("delete", "/api/v1/admin/measure-types/{mapping_id}", Area::Admin,
        "admins: ten remove the same mapping; ten remove ten mappings"),
    write("post", "/api/v1/admin/programmes", Area::Admin,
        "admins, JSON {name, grant_years, starts_on, ends_on}: ten new programmes, each forming its cohorts"),
    write("post", "/api/v1/admin/users/{user_id}/deactivate", Area::Admin,
        "admins: ten deactivate the same person; ten deactivate ten people"),
    write("post", "/api/v1/admin/users/{user_id}/erasure", Area::Admin,
        "admins, JSON {posts}: ten erase the same person; ten erase ten people"),
    write("put", "/api/v1/programmes/{programme_id}/planning-rules", Area::Admin,
        "admins, JSON {session_minutes, day_starts_hour, day_ends_hour, min_gap_days, lead_days}: ten rule sets"),
    // People: sign-in links, sessions, invitations and membership in the food cohort.
    write("post", "/api/v1/auth/sign-in-link", Area::People,
        "anonymous, JSON {email}: ten members ask at once; one address asks ten times"),
    write("post", "/api/v1/me/erasure", Area::People,
        "members, JSON {posts}: one person asks ten times; ten people ask"),
    write("post", "/api/v1/me/erasure/confirm", Area::People,
        "anonymous, JSON {token} from the mails: one link ten times; nine links and a used one"),
    write("post", "/api/v1/auth/session", Area::People,
        "anonymous, JSON {token}: ten people redeem their links; one link redeemed ten times"),
    write("delete", "/api/v1/auth/session", Area::People,
        "members: one person signs out on ten devices; ten people sign out"),
    write("post", "/api/v1/cohorts/{cohort_id}/invitations", Area::People,
        "the facilitator and the admin, JSON {email, name, role}: ten addresses; the same address ten times"),
    write("post", "/api/v1/cohorts/{cohort_id}/invitations/contacts", Area::People,
        "the facilitator and the admin, no body: every project contact invited, ten times at once"),
    write("post", "/api/v1/cohorts/{cohort_id}/invitations/batch", Area::People,
        "the facilitator, JSON {people, role}: the same three experts ten times"),
    write("post", "/api/v1/invitations/{invitation_id}/resend", Area::People,
        "the facilitator: one invitation resent ten times"),
    write("delete", "/api/v1/invitations/{invitation_id}", Area::People,
        "the facilitator: one invitation withdrawn ten times"),
    write("post", "/api/v1/invitations/accept", Area::People,
        "anonymous, JSON {token} from the mails: ten invitees; one link ten times; one person's other invitations"),
    write("delete", "/api/v1/cohorts/{cohort_id}/members/{user_id}", Area::People,
        "the facilitator: the same member ten times; ten members"),
    // Sessions: the food cohort with its facilitator, sixteen project leads and ten experts.
    write("post", "/api/v1/cohorts/{cohort_id}/plan/proposal", Area::Sessions,
        "the facilitator, JSON {}: ten proposals for the programme period"),
    write("put", "/api/v1/cohorts/{cohort_id}/plan", Area::Sessions,
        "the facilitator, JSON {sessions}: the proposal saved ten times"),
    write("patch", "/api/v1/sessions/{session_id}", Area::Sessions,
        "the facilitator, JSON {title, capacity}: ten titles for the first session, capacity 3"),
    write("post", "/api/v1/sessions/{session_id}/experts", Area::Sessions,
        "the facilitator, JSON {user_id, topic}: ten experts booked; one expert with ten topics"),
    write("put", "/api/v1/sessions/{session_id}/registration", Area::Sessions,
        "project leads: ten register for three seats; one person ten times"),
    write("delete", "/api/v1/sessions/{session_id}/registration", Area::Sessions,
        "project leads: the three seated and two waiting cancel, each twice"),
    write("put", "/api/v1/sessions/{session_id}/preparation", Area::Sessions,
        "project leads, JSON {needs, offers}: one person's ten first saves; ten people's first saves"),
    write("put", "/api/v1/preparations/{preparation_id}/addressed", Area::Sessions,
        "the facilitator, JSON {session_id}: one need marked ten times, taken up in two sessions or open"),
    write("post", "/api/v1/sessions/{session_id}/poll/options", Area::Sessions,
        "the facilitator, JSON {starts_at, ends_at}: ten candidate times"),
    write("put", "/api/v1/sessions/{session_id}/poll/answers", Area::Sessions,
        "project leads, JSON [{option_id, answer}]: ten people answer every time; one person ten times"),
    write("post", "/api/v1/me/calendar-feed", Area::Sessions,
        "project leads: one person ten times; ten people"),
    write("delete", "/api/v1/me/calendar-feed", Area::Sessions,
        "project leads: one person ten times; ten people"),
    write("put", "/api/v1/sessions/{session_id}/attendance", Area::Sessions,
        "the facilitator after the start, JSON [{user_id, attended}]: ten different mark sets"),
    write("put", "/api/v1/sessions/{session_id}/recap", Area::Sessions,
        "the facilitator after the start, JSON {summary, decisions, resources, follow_ups, publish}: ten versions"),
    write("post", "/api/v1/sessions/{session_id}/survey", Area::Sessions,
        "after the last session, one lead who came, JSON {usefulness, helped}: ten answers at once"),
    write("post", "/api/v1/cohorts/{cohort_id}/closing-survey", Area::Sessions,
        "after the last session, the same lead, JSON {changed_project, recommend}: ten answers at once"),
    write("post", "/api/v1/sessions/{session_id}/messages", Area::Sessions,
        "the facilitator, JSON {group, note}: ten messages to the registered"),
    // Threads: the food cohort with its facilitator, the admin, ten members and an expert.
    write("post", "/api/v1/cohorts/{cohort_id}/threads", Area::Threads,
        "members, JSON {title, body, client_id}: one send ten times (same client id); ten new threads"),
    write("post", "/api/v1/threads/{thread_id}/posts", Area::Threads,
        "members, JSON {body, client_id}: one reply ten times (same client id); ten replies"),
    write("patch", "/api/v1/threads/{thread_id}", Area::Threads,
        "the facilitator and the admin, JSON {pinned, version}: ten pin the thread at the version they saw"),
    write("put", "/api/v1/threads/{thread_id}/answer", Area::Threads,
        "the asker, the facilitator and the expert, JSON {post_id}: ten different answers"),
    write("put", "/api/v1/threads/{thread_id}/read", Area::Threads,
        "members, JSON {last_read_post_id}: one person's ten tabs; ten people"),
    write("patch", "/api/v1/posts/{post_id}", Area::Threads,
        "the author, JSON {body}: ten edits"),
    write("delete", "/api/v1/posts/{post_id}", Area::Threads,
        "the author: ten deletions of one post"),
    write("put", "/api/v1/posts/{post_id}/reactions/{reaction}", Area::Threads,
        "members: ten people react; one person ten times"),
    write("delete", "/api/v1/posts/{post_id}/reactions/{reaction}", Area::Threads,
        "members: ten people take it back; one person ten times"),
    write("post", "/api/v1/posts/{post_id}/reports", Area::Threads,
        "members, JSON {reason}: ten people report one post; one person ten times"),
    write("post", "/api/v1/posts/{post_id}/reports/dismiss", Area::Threads,
        "the facilitator and the admin: ten dismissals of one post's reports"),
    write("post", "/api/v1/posts/{post_id}/hide", Area::Threads,
        "the facilitator and the admin, JSON {reason, version}: ten hide one post at the version they saw"),
    write("post", "/api/v1/posts/{post_id}/restore", Area::Threads,
        "the facilitator and the admin, JSON {reason, version}: ten restore it"),
    write("post", "/api/v1/cohorts/{cohort_id}/mutes", Area::Threads,
        "the facilitator and the admin, JSON {user_id, minutes, reason}: one member ten times; ten members"),
    write("delete", "/api/v1/cohorts/{cohort_id}/mutes/{user_id}", Area::Threads,
        "the facilitator and the admin: one member ten times; ten members"),
    // Knowledge: profiles, lessons, resources and digests in the food and circular cohorts.
    write("put", "/api/v1/projects/{grant_id}/profile", Area::Knowledge,
        "the project lead and the facilitator, JSON {needs, offers}: ten first saves with ten lesson saves; ten projects"),
    write("put", "/api/v1/projects/{grant_id}/lesson", Area::Knowledge,
        "the project lead and the facilitator, JSON {learned, tips}: with the profile saves; five projects"),
    write("post", "/api/v1/cohorts/{cohort_id}/resources", Area::Knowledge,
        "experts, multipart {title, summary, tags, url | file}: links and PDF files at once"),
    write("delete", "/api/v1/resources/{resource_id}", Area::Knowledge,
        "the poster and the facilitator: one resource ten times; ten resources"),
    write("put", "/api/v1/cohorts/{cohort_id}/resource-settings", Area::Knowledge,
        "the facilitator, JSON {participants_post}: ten tabs open posting"),
    write("put", "/api/v1/me/digest-preference", Area::Knowledge,
        "members, JSON {preference}: one person's ten tabs; ten people"),
    write("post", "/api/v1/me/export", Area::Knowledge,
        "members, no body: one person's ten tabs ask for a copy of their data (one is prepared); ten people"),
    write("post", "/api/v1/unsubscribe", Area::Knowledge,
        "anonymous, ?token= and List-Unsubscribe=One-Click: one link ten times; ten people's links"),
    write("patch", "/api/v1/digests/{digest_id}", Area::Knowledge,
        "the facilitator, JSON {intro, send_at}: ten intros for one digest"),
    write("post", "/api/v1/digests/{digest_id}/send", Area::Knowledge,
        "the facilitator: ten sends of one digest"),
];

/// One request of a burst.
struct Req {
    method: &'static str,
    template: &'static str,
    token: Option<String>,
    params: Vec<(&'static str, String)>,
    query: Option<String>,
    body: Body,
}

enum Body {
    Empty,
    Json(Value),
    Csv(Vec<u8>),
    Multipart(Vec<(&'static str, Field)>),
    Form(&'static str),
}

enum Field {
    Text(String),
    File { name: String, bytes: Vec<u8> },
}

/// A request with a bearer token.
fn call(method: &'static str, template: &'static str, token: &str) -> Req {
    Req {
        token: Some(token.to_string()),
        ..anonymous(method, template)
    }
}

fn anonymous(method: &'static str, template: &'static str) -> Req {
    Req {
        method,
        template,
        token: None,
        params: Vec::new(),
        query: None,
        body: Body::Empty,
    }
}

impl Req {
    fn at(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    fn csv(mut self, bytes: Vec<u8>) -> Self {
        self.body = Body::Csv(bytes);
        self
    }

    fn multipart(mut self, fields: Vec<(&'static str, Field)>) -> Self {
        self.body = Body::Multipart(fields);
        self
    }

    fn form(mut self, body: &'static str) -> Self {
        self.body = Body::Form(body);
        self
    }

    fn query(mut self, query: String) -> Self {
        self.query = Some(query);
        self
    }

    /// The template with its parameters filled in.
    fn path(&self) -> String {
        let mut path = self.template.to_string();
        for (name, value) in &self.params {
            let placeholder = format!("{{{name}}}");
            assert!(path.contains(&placeholder), "{} has no {placeholder}", self.template);
            path = path.replace(&placeholder, value);
        }
        assert!(!path.contains('{'), "{}: a path parameter is missing", self.template);
        path
    }

    fn build(self, client: &reqwest::Client, address: &str) -> reqwest::Request {
        let mut url = format!("{address}{}", self.path());
        if let Some(query) = &self.query {
            url = format!("{url}?{query}");
        }
        let method = reqwest::Method::from_bytes(self.method.to_uppercase().as_bytes()).expect("a method");
        let mut builder = client.request(method, url);
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        builder = match self.body {
            Body::Empty => builder,
            Body::Json(body) => builder.json(&body),
            Body::Csv(bytes) => builder.header("content-type", "text/csv").body(bytes),
            Body::Multipart(fields) => {
                let form = fields.into_iter().fold(Form::new(), |form, (name, field)| match field {
                    Field::Text(text) => form.text(name, text),
                    Field::File { name: file_name, bytes } => form.part(name, Part::bytes(bytes).file_name(file_name)),
                });
                builder.multipart(form)
            }
            Body::Form(text) => builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(text),
        };
        builder.build().expect("a request")
    }
}

struct Answer {
    status: u16,
    /// The problem+json code of an error.
    code: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// `"409"` matches any 409, `"409 version_conflict"` only that code.
fn expected(pattern: &str, answer: &Answer) -> bool {
    let (status, code) = pattern.split_once(' ').unwrap_or((pattern, ""));
    status.parse() == Ok(answer.status) && (code.is_empty() || code == answer.code)
}

fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|answer| answer.status == status).count()
}

/// Documented statuses by (method, path template).
fn documented_statuses(document: &Value) -> HashMap<(String, String), BTreeSet<u16>> {
    let mut documented = HashMap::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("an item") {
            let statuses = operation["responses"]
                .as_object()
                .map(|responses| responses.keys().filter_map(|status| status.parse().ok()).collect())
                .unwrap_or_default();
            documented.insert((method.clone(), path.clone()), statuses);
        }
    }
    documented
}

/// One area's server, the clients that send its bursts and what they found.
struct World {
    app: TestApp,
    area: Area,
    documented: HashMap<(String, String), BTreeSet<u16>>,
    clients: Vec<reqwest::Client>,
    sent: BTreeSet<(&'static str, &'static str)>,
    failures: Vec<String>,
    statuses: BTreeMap<u16, usize>,
    requests: usize,
    bursts: usize,
    started: Instant,
}

impl World {
    async fn new(area: Area, app: TestApp) -> Self {
        let document = app.get("/api/openapi.json", None).await.json();
        World {
            documented: documented_statuses(&document),
            app,
            area,
            clients: Vec::new(),
            sent: BTreeSet::new(),
            failures: Vec::new(),
            statuses: BTreeMap::new(),
            requests: 0,
            bursts: 0,
            started: Instant::now(),
        }
    }

    fn db(&self) -> &DatabaseConnection {
        &self.app.db
    }

    /// Sends the requests at the same moment, each from its own client, and checks every
    /// answer: not 5xx, documented by its endpoint, and one of `expect`.
    async fn burst(&mut self, label: &str, expect: &[&str], requests: Vec<Req>) -> Vec<Answer> {
        assert!(requests.len() >= 10, "{label}: a burst is at least ten requests");
        while self.clients.len() < requests.len() {
            self.clients.push(reqwest::Client::new());
        }
        let operations: Vec<(&'static str, &'static str)> = requests.iter().map(|r| (r.method, r.template)).collect();
        for &(method, path) in &operations {
            assert!(
                WRITES
                    .iter()
                    .any(|w| w.method == method && w.path == path && w.area == self.area),
                "{method} {path} is not in the table under {:?}",
                self.area
            );
            self.sent.insert((method, path));
        }
        let paths: Vec<String> = requests.iter().map(Req::path).collect();
        // Each client opens its connection first, so the requests leave together.
        let clients = &self.clients[..requests.len()];
        futures::future::join_all(clients.iter().map(|client| client.get(self.app.url("/healthz")).send())).await;
        let barrier = Arc::new(Barrier::new(requests.len()));
        let tasks: Vec<_> = requests
            .into_iter()
            .zip(clients)
            .map(|(request, client)| {
                let request = request.build(client, &self.app.address);
                let (client, barrier) = (client.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let response = client.execute(request).await.expect("the server answers");
                    let status = response.status().as_u16();
                    (status, response.text().await.expect("a readable body"))
                })
            })
            .collect();
        let answers: Vec<Answer> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(|joined| {
                let (status, body) = joined.expect("a request task");
                let code = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|json| json["code"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Answer { status, code, body }
            })
            .collect();
        self.bursts += 1;
        let mut seen: BTreeMap<(&str, &str), BTreeMap<String, usize>> = BTreeMap::new();
        for ((&(method, template), path), answer) in operations.iter().zip(&paths).zip(&answers) {
            self.requests += 1;
            *self.statuses.entry(answer.status).or_default() += 1;
            let outcome = if answer.status >= 400 {
                format!("{} {}", answer.status, answer.code)
            } else {
                answer.status.to_string()
            };
            *seen.entry((method, template)).or_default().entry(outcome).or_default() += 1;
            let request = format!("{} {path} [{label}]", method.to_uppercase());
            if answer.status >= 500 {
                self.failures
                    .push(format!("{request} answered {}: {}", answer.status, answer.body));
                continue;
            }
            let documented = self
                .documented
                .get(&(method.to_string(), template.to_string()))
                .is_some_and(|statuses| statuses.contains(&answer.status));
            if !documented {
                self.failures.push(format!(
                    "{request} answered {}, which the endpoint does not document: {}",
                    answer.status, answer.body
                ));
            }
            if !expect.iter().any(|pattern| expected(pattern, answer)) {
                self.failures.push(format!(
                    "{request} answered {} {}, expected one of {expect:?}: {}",
                    answer.status, answer.code, answer.body
                ));
            }
        }
        for ((method, template), outcomes) in seen {
            let outcomes: Vec<String> = outcomes
                .iter()
                .map(|(outcome, times)| format!("{outcome} ×{times}"))
                .collect();
            println!(
                "{} {template} [{label}]: {}",
                method.to_uppercase(),
                outcomes.join(", ")
            );
        }
        answers
    }

    /// A check of the state afterwards; all problems are reported together at the end.
    fn check(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(problem());
        }
    }

    fn finish(mut self) {
        let expected: BTreeSet<(&str, &str)> = WRITES
            .iter()
            .filter(|w| w.area == self.area)
            .map(|w| (w.method, w.path))
            .collect();
        for (method, path) in expected.difference(&self.sent) {
            self.failures.push(format!(
                "{} {path} is in the table under {:?} but was not sent",
                method.to_uppercase(),
                self.area
            ));
        }
        println!(
            "{:?}: {} requests in {} bursts, statuses {:?}, {:.1} s after the world was prepared",
            self.area,
            self.requests,
            self.bursts,
            self.statuses,
            self.started.elapsed().as_secs_f64()
        );
        assert!(
            self.failures.is_empty(),
            "{} problems under concurrent writes ({:?}):\n{}",
            self.failures.len(),
            self.area,
            self.failures.join("\n")
        );
    }
}

async fn find<E: EntityTrait>(db: &DatabaseConnection, condition: impl IntoCondition) -> Vec<E::Model> {
    E::find().filter(condition).all(db).await.expect("a query")
}

async fn person(db: &DatabaseConnection, email: &str) -> user::Model {
    find::<user::Entity>(db, user::Column::Email.eq(email))
        .await
        .pop()
        .unwrap_or_else(|| panic!("{email} has an account"))
}

async fn audit_count(db: &DatabaseConnection, action: &str, subject_id: impl ToString) -> usize {
    find::<audit_log::Entity>(
        db,
        Condition::all()
            .add(audit_log::Column::Action.eq(action))
            .add(audit_log::Column::SubjectId.eq(subject_id.to_string())),
    )
    .await
    .len()
}

async fn events_of_post(db: &DatabaseConnection, kind: &str, post_id: i64) -> usize {
    find::<cohort_event::Entity>(
        db,
        Condition::all()
            .add(cohort_event::Column::Kind.eq(kind))
            .add(cohort_event::Column::PostId.eq(post_id as i32)),
    )
    .await
    .len()
}

/// `count` admins (besides the sample's), signed in.
async fn admins(app: &TestApp, count: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for n in 0..count {
        let (_, secret) =
            samling::users::create_admin(&app.db, &format!("admin{n}@example.no"), app.clock.now_for_tests())
                .await
                .expect("an admin");
        let session = app
            .post_json("/api/v1/auth/session", None, &json!({ "token": secret }))
            .await;
        assert_eq!(session.status.as_u16(), 200, "{}", session.body);
        tokens.push(session.json()["token"].as_str().expect("a token").to_string());
    }
    tokens
}

/// `count` people with a role in the cohort, `{prefix}{n}@example.no`, signed in.
async fn members(app: &TestApp, cohort_id: i64, prefix: &str, count: usize, role: Role) -> Vec<String> {
    let mut tokens = Vec::new();
    for n in 0..count {
        let email = format!("{prefix}{n}@example.no");
        tokens.push(
            app.member_token(cohort_id, &email, &format!("{prefix} {n}"), role)
                .await,
        );
    }
    tokens
}

/// How many projects a cohort has.
async fn projects(app: &TestApp, admin: &str, cohort_id: i64) -> usize {
    app.get(&format!("/api/v1/cohorts/{cohort_id}"), Some(admin))
        .await
        .json()["cohort"]["projects"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn id_of(app: &TestApp, token: &str) -> i64 {
    let me = app.get("/api/v1/me", Some(token)).await;
    me.json()["user"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", me.body))
}

const AVAILABILITY: [&str; 3] = ["yes", "if_need_be", "no"];

fn sample_pdf(n: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    pdf.extend_from_slice(
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
          2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
          3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n\
          trailer << /Root 1 0 R >>\n%%EOF\n",
    );
    pdf.extend(format!("% file {n}\n").bytes());
    pdf
}

/// Every file under a folder.
fn files_under(root: &std::path::Path) -> usize {
    let mut found = 0;
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                folders.push(entry.path());
            } else {
                found += 1;
            }
        }
    }
    found
}

#[test]
fn every_write_operation_of_the_api_is_in_the_table() {
    let (_, openapi) = samling::routes::api::router();
    let document: Value = serde_json::from_str(&openapi.to_json().expect("the document")).expect("JSON");
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_string(), path.clone()));
            }
        }
    }
    let table: BTreeSet<(String, String)> = WRITES
        .iter()
        .map(|w| (w.method.to_string(), w.path.to_string()))
        .collect();
    assert_eq!(table.len(), WRITES.len(), "an operation is in the table twice");
    assert!(
        WRITES.iter().all(|w| !w.requests.is_empty()),
        "every entry says what it sends"
    );
    let missing: Vec<String> = documented
        .difference(&table)
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    let gone: Vec<String> = table
        .difference(&documented)
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "write endpoints without ten-at-once requests in tests/api/concurrency.rs WRITES: {missing:#?}"
    );
    assert!(gone.is_empty(), "table entries the API no longer has: {gone:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_writes_ten_at_once() {
    let app = spawn_app_with(|_| {}).await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular, land) = (
        cohorts["mat-og-matsvinn"],
        cohorts["sirkulaerokonomi"],
        cohorts["klimavennlig-arealplanlegging"],
    );
    let admins = admins(&app, 10).await;
    let themes = app.get("/api/v1/admin/themes", Some(&admin)).await.json();
    let theme_id = |slug: &str| {
        themes
            .as_array()
            .expect("themes")
            .iter()
            .find(|theme| theme["slug"] == slug)
            .expect("the theme")["theme_id"]
            .as_i64()
            .expect("an id")
    };
    let (food_theme, land_theme) = (theme_id("mat-og-matsvinn"), theme_id("klimavennlig-arealplanlegging"));
    let mut w = World::new(Area::Admin, app).await;

    // Ten admins appoint the same new person: one person, one membership.
    let appoint = "/api/v1/admin/cohorts/{cohort_id}/facilitator";
    w.burst(
        "the same new person",
        &["200"],
        (0..10)
            .map(|n| {
                call("put", appoint, &admins[n])
                    .at("cohort_id", food)
                    .json(json!({ "email": "Ny.Fasilitator@example.no", "name": format!("Ny Fasilitator {n}") }))
            })
            .collect(),
    )
    .await;
    let appointed = find::<user::Entity>(w.db(), user::Column::Email.eq("ny.fasilitator@example.no")).await;
    w.check(appointed.len() == 1, || {
        format!("one person from ten appointments, not {}", appointed.len())
    });
    let roles: Vec<Role> = find::<membership::Entity>(
        w.db(),
        Condition::all()
            .add(membership::Column::CohortId.eq(food as i32))
            .add(membership::Column::UserId.is_in(appointed.iter().map(|p| p.id))),
    )
    .await
    .into_iter()
    .map(|m| m.role)
    .collect();
    w.check(roles == [Role::Facilitator], || {
        format!("one facilitator membership, not {roles:?}")
    });
    w.burst(
        "ten people",
        &["200"],
        (0..10)
            .map(|n| {
                call("put", appoint, &admins[n])
                    .at("cohort_id", circular)
                    .json(json!({ "email": format!("fasilitator{n}@example.no"), "name": format!("Fasilitator {n}") }))
            })
            .collect(),
    )
    .await;
    let facilitators = find::<membership::Entity>(
        w.db(),
        Condition::all()
            .add(membership::Column::CohortId.eq(circular as i32))
            .add(membership::Column::Role.eq("facilitator")),
    )
    .await;
    w.check(facilitators.len() == 10, || {
        format!("ten facilitators, not {}", facilitators.len())
    });

    // Ten programmes at once, each forming its cohorts once.
    let answers = w
        .burst(
            "ten programmes",
            &["201"],
            (0..10)
                .map(|n| {
                    call("post", "/api/v1/admin/programmes", &admins[n]).json(json!({
                        "name": format!("Klimasats-forum 2028 – {n}"),
                        "grant_years": "2022",
                        "starts_on": "2028-01-03",
                        "ends_on": "2028-12-15"
                    }))
                })
                .collect(),
        )
        .await;
    let programmes = find::<programme::Entity>(w.db(), Condition::all()).await;
    w.check(programmes.len() == 11, || {
        format!("eleven programmes, not {}", programmes.len())
    });
    let all_cohorts = find::<cohort::Entity>(w.db(), Condition::all()).await;
    let pairs: BTreeSet<(i32, i32)> = all_cohorts.iter().map(|c| (c.programme_id, c.theme_id)).collect();
    w.check(pairs.len() == all_cohorts.len(), || {
        "a programme got a theme's cohort twice".into()
    });
    let per_programme: BTreeSet<usize> = answers
        .iter()
        .filter_map(|answer| answer.json()["id"].as_i64())
        .map(|id| all_cohorts.iter().filter(|c| i64::from(c.programme_id) == id).count())
        .collect();
    w.check(per_programme == BTreeSet::from([3]), || {
        format!("each 2022 programme has three cohorts: {per_programme:?}")
    });

    // Five confirm, five reject the grant waiting for review: one decision stands.
    let review = w.app.get("/api/v1/admin/review", Some(&admin)).await.json();
    let waiting = review[0]["grant_id"].as_i64().expect("a grant waiting for review");
    w.burst(
        "five confirm, five reject",
        &["204"],
        (0..10)
            .map(|n| {
                let decision = if usize::is_multiple_of(n, 2) {
                    json!({ "decision": "confirm", "theme_id": food_theme })
                } else {
                    json!({ "decision": "reject" })
                };
                call("post", "/api/v1/admin/review/{grant_id}", &admins[n])
                    .at("grant_id", waiting)
                    .json(decision)
            })
            .collect(),
    )
    .await;
    let decided = find::<grant::Entity>(w.db(), grant::Column::Id.eq(waiting as i32))
        .await
        .pop()
        .expect("the grant");
    let food_projects = projects(&w.app, &admin, food).await;
    let consistent = match decided.placement.as_str() {
        "confirmed" => decided.theme_id == Some(food_theme as i32) && food_projects == 8,
        "rejected" => decided.theme_id.is_none() && food_projects == 7,
        _ => false,
    };
    w.check(consistent, || {
        format!(
            "the grant is {} in {:?} with {food_projects} food projects",
            decided.placement, decided.theme_id
        )
    });
    let left = w.app.get("/api/v1/admin/review", Some(&admin)).await.json();
    w.check(left == json!([]), || format!("nothing waits for review: {left}"));

    // Ten map the same type: one mapping, the rest a clean 409; ten new types: ten mappings.
    let land_before = projects(&w.app, &admin, land).await;
    let map = "/api/v1/admin/themes/{theme_id}/measure-types";
    let answers = w
        .burst(
            "the same measure type",
            &["204", "409 measure_type_taken"],
            (0..10)
                .map(|n| {
                    call("post", map, &admins[n])
                        .at("theme_id", land_theme)
                        .json(json!({ "measure_type": "Transport" }))
                })
                .collect(),
        )
        .await;
    w.check(count(&answers, 204) == 1, || "one of ten takes the measure type".into());
    let transport =
        find::<theme_measure_type::Entity>(w.db(), theme_measure_type::Column::MeasureType.eq("Transport")).await;
    w.check(transport.len() == 1, || {
        format!("one Transport mapping, not {}", transport.len())
    });
    let land_with_transport = projects(&w.app, &admin, land).await;
    w.check(land_with_transport == land_before + 2, || {
        format!("the two Transport projects join land use: {land_before} → {land_with_transport}")
    });
    w.burst(
        "ten new measure types",
        &["204"],
        (0..10)
            .map(|n| {
                call("post", map, &admins[n])
                    .at("theme_id", food_theme)
                    .json(json!({ "measure_type": format!("Tiltakstype {n}") }))
            })
            .collect(),
    )
    .await;
    let new_types =
        find::<theme_measure_type::Entity>(w.db(), theme_measure_type::Column::MeasureType.like("Tiltakstype %")).await;
    w.check(new_types.len() == 10, || {
        format!("ten new mappings, not {}", new_types.len())
    });

    let unmap = "/api/v1/admin/measure-types/{mapping_id}";
    if let Some(mapping) = transport.first() {
        let answers = w
            .burst(
                "the same mapping",
                &["204", "404"],
                (0..10)
                    .map(|n| call("delete", unmap, &admins[n]).at("mapping_id", mapping.id))
                    .collect(),
            )
            .await;
        w.check(count(&answers, 204) == 1, || "one of ten removes the mapping".into());
    }
    w.burst(
        "ten mappings",
        &["204"],
        new_types
            .iter()
            .zip(&admins)
            .map(|(mapping, token)| call("delete", unmap, token).at("mapping_id", mapping.id))
            .collect(),
    )
    .await;
    let remaining = find::<theme_measure_type::Entity>(
        w.db(),
        Condition::any()
            .add(theme_measure_type::Column::MeasureType.eq("Transport"))
            .add(theme_measure_type::Column::MeasureType.like("Tiltakstype %")),
    )
    .await;
    w.check(remaining.is_empty(), || format!("all removed: {remaining:?}"));
    let land_after = projects(&w.app, &admin, land).await;
    w.check(land_after == land_before, || {
        format!("land use as before: {land_before} → {land_after}")
    });

    // Ten corrected files at once: the rows are updated, none is added, one title stands.
    let sample = String::from_utf8(sample_grants()).expect("the sample is UTF-8");
    let original_title = "Matsvinnreduksjon i kommunale kantiner og sykehjem";
    let titles: Vec<String> = (0..10).map(|n| format!("{original_title} – rettet {n}")).collect();
    let grants_before = find::<grant::Entity>(w.db(), Condition::all()).await.len();
    w.burst(
        "ten corrected files",
        &["200"],
        titles
            .iter()
            .zip(&admins)
            .map(|(title, token)| {
                call("post", "/api/v1/admin/grant-imports", token)
                    .csv(sample.replace(original_title, title).into_bytes())
            })
            .collect(),
    )
    .await;
    let grants_after = find::<grant::Entity>(w.db(), Condition::all()).await;
    w.check(grants_after.len() == grants_before, || {
        format!("{grants_before} grants before, {} after", grants_after.len())
    });
    let corrected = grants_after
        .iter()
        .find(|g| g.reference == "2021-0412")
        .map(|g| g.title.clone())
        .unwrap_or_default();
    w.check(titles.contains(&corrected), || {
        format!("one of the ten titles, not {corrected:?}")
    });

    // Ten admins deactivate the same person; then ten people at once.
    let leaving = w
        .app
        .member_token(food, "slutter@example.no", "Slutter", Role::ProjectLead)
        .await;
    let leaving_id = id_of(&w.app, &leaving).await;
    let deactivate = "/api/v1/admin/users/{user_id}/deactivate";
    w.burst(
        "the same person",
        &["204"],
        (0..10)
            .map(|n| call("post", deactivate, &admins[n]).at("user_id", leaving_id))
            .collect(),
    )
    .await;
    let signed_out = w.app.get("/api/v1/me", Some(&leaving)).await.status.as_u16();
    w.check(signed_out == 401, || {
        format!("a deactivated person is signed out, not {signed_out}")
    });
    let mut ids = Vec::new();
    for token in members(&w.app, circular, "deaktivert", 10, Role::ProjectLead).await {
        ids.push(id_of(&w.app, &token).await);
    }
    w.burst(
        "ten people",
        &["204"],
        ids.iter()
            .zip(&admins)
            .map(|(id, token)| call("post", deactivate, token).at("user_id", id))
            .collect(),
    )
    .await;
    let active = find::<user::Entity>(
        w.db(),
        Condition::all()
            .add(user::Column::Id.is_in(ids.iter().map(|id| *id as i32)))
            .add(user::Column::Active.eq(true)),
    )
    .await;
    w.check(active.is_empty(), || format!("{} still active", active.len()));

    // Ten admins erase the same person (once erased, erasing again changes nothing); then ten
    // people at once.
    let erased = w
        .app
        .member_token(food, "slettes@example.no", "Slettes Helt", Role::ProjectLead)
        .await;
    let erased_id = id_of(&w.app, &erased).await;
    let erase = "/api/v1/admin/users/{user_id}/erasure";
    w.burst(
        "the same person",
        &["204"],
        (0..10)
            .map(|n| {
                call("post", erase, &admins[n])
                    .at("user_id", erased_id)
                    .json(json!({ "posts": "keep" }))
            })
            .collect(),
    )
    .await;
    let erasures = audit_count(w.db(), "privacy.erase_by_admin", erased_id).await;
    w.check(erasures == 1, || {
        format!("one erasure in the audit log, not {erasures}")
    });
    let mut ids = Vec::new();
    for token in members(&w.app, circular, "slettet", 10, Role::ProjectLead).await {
        ids.push(id_of(&w.app, &token).await);
    }
    w.burst(
        "ten people",
        &["204"],
        ids.iter()
            .zip(&admins)
            .map(|(id, token)| {
                call("post", erase, token)
                    .at("user_id", id)
                    .json(json!({ "posts": "delete" }))
            })
            .collect(),
    )
    .await;
    let left = find::<user::Entity>(
        w.db(),
        Condition::all()
            .add(user::Column::Id.is_in(ids.iter().map(|id| *id as i32)))
            .add(user::Column::ErasedAt.is_null()),
    )
    .await;
    w.check(left.is_empty(), || format!("{} not erased", left.len()));

    // Ten admins set a programme's planning rules at once: one set stands whole.
    let programme_id = find::<programme::Entity>(w.db(), Condition::all())
        .await
        .into_iter()
        .map(|p| p.id)
        .min()
        .expect("a programme");
    w.burst(
        "ten rule sets",
        &["200"],
        (0..10)
            .map(|n| {
                call("put", "/api/v1/programmes/{programme_id}/planning-rules", &admins[n])
                    .at("programme_id", programme_id)
                    .json(json!({
                        "session_minutes": 60 + 10 * n, "day_starts_hour": 8, "day_ends_hour": 16,
                        "min_gap_days": 7 + n, "lead_days": n
                    }))
            })
            .collect(),
    )
    .await;
    let stored = find::<programme::Entity>(w.db(), programme::Column::Id.eq(programme_id))
        .await
        .pop()
        .expect("the programme");
    w.check(
        stored.session_minutes == 60 + 10 * stored.lead_days && stored.min_gap_days == 7 + stored.lead_days,
        || format!("one rule set stands whole: {stored:?}"),
    );
    w.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_invitation_and_membership_writes_ten_at_once() {
    let app = spawn_app_with(|settings| settings.sign_in_limit_per_ip = 10_000).await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    members(&app, food, "person", 10, Role::ProjectLead).await;
    app.member_token(food, "gjentar@example.no", "Gjentar", Role::ProjectLead)
        .await;
    let devices = app
        .member_token(food, "enheter@example.no", "Enheter", Role::ProjectLead)
        .await;
    let mut w = World::new(Area::People, app).await;

    // Ten people ask for a link at once: ten mails. One address ten times: five, then 429.
    let link = "/api/v1/auth/sign-in-link";
    let people: Vec<String> = (0..10).map(|n| format!("person{n}@example.no")).collect();
    w.burst(
        "ten people",
        &["202"],
        people
            .iter()
            .map(|email| anonymous("post", link).json(json!({ "email": email })))
            .collect(),
    )
    .await;
    let mut secrets = Vec::new();
    for email in &people {
        secrets.push(w.app.smtp.wait_for_mail_to(email).await.link_token("/sign-in/link"));
    }
    let answers = w
        .burst(
            "one address ten times",
            &["202", "429 too_many_requests"],
            (0..10)
                .map(|_| anonymous("post", link).json(json!({ "email": "gjentar@example.no" })))
                .collect(),
        )
        .await;
    w.check(count(&answers, 202) == 5, || {
        format!("five links an address per 15 minutes, not {}", count(&answers, 202))
    });
    w.app
        .smtp
        .wait_for_nth_mail_to("gjentar@example.no", count(&answers, 202))
        .await;
    let asker = person(w.db(), "gjentar@example.no").await;
    let open = find::<sign_in_token::Entity>(
        w.db(),
        Condition::all()
            .add(sign_in_token::Column::UserId.eq(asker.id))
            .add(sign_in_token::Column::ConsumedAt.is_null()),
    )
    .await;
    w.check(open.len() == 1, || {
        format!("a new link voids the older ones: {} links work", open.len())
    });

    // Ten people redeem their links; then one link ten times: one session.
    let session = "/api/v1/auth/session";
    let answers = w
        .burst(
            "ten links",
            &["200"],
            secrets
                .iter()
                .map(|secret| anonymous("post", session).json(json!({ "token": secret })))
                .collect(),
        )
        .await;
    let tokens: Vec<String> = answers
        .iter()
        .filter_map(|answer| answer.json()["token"].as_str().map(str::to_string))
        .collect();
    let once = w.app.request_sign_in_token("person0@example.no").await;
    let answers = w
        .burst(
            "one link ten times",
            &["200", "422 sign_in_link_invalid"],
            (0..10)
                .map(|_| anonymous("post", session).json(json!({ "token": once })))
                .collect(),
        )
        .await;
    w.check(count(&answers, 200) == 1, || "a link works once".into());

    // One person signs out on ten devices; ten people sign out at once.
    let answers = w
        .burst(
            "one person, ten devices",
            &["204", "401 unauthenticated"],
            (0..10).map(|_| call("delete", session, &devices)).collect(),
        )
        .await;
    w.check(count(&answers, 204) >= 1, || "one of the ten signs out".into());
    let after = w.app.get("/api/v1/me", Some(&devices)).await.status.as_u16();
    w.check(after == 401, || format!("signed out everywhere, not {after}"));
    w.burst(
        "ten people",
        &["204"],
        tokens.iter().map(|token| call("delete", session, token)).collect(),
    )
    .await;
    for token in &tokens {
        let after = w.app.get("/api/v1/me", Some(token)).await.status.as_u16();
        w.check(after == 401, || format!("signed out, not {after}"));
    }

    // The facilitator invites ten addresses; the facilitator and the admin invite one address
    // ten times.
    let invite = "/api/v1/cohorts/{cohort_id}/invitations";
    let invitees: Vec<String> = (0..10).map(|n| format!("invitert{n}@example.no")).collect();
    w.burst(
        "ten addresses",
        &["201"],
        invitees
            .iter()
            .map(|email| {
                call("post", invite, &marte)
                    .at("cohort_id", food)
                    .json(json!({ "email": email, "name": email, "role": "project_lead" }))
            })
            .collect(),
    )
    .await;
    let mut invited = Vec::new();
    for email in &invitees {
        invited.push(
            w.app
                .smtp
                .wait_for_mail_to(email)
                .await
                .link_token("/invitations/accept"),
        );
    }
    let answers = w
        .burst(
            "the same address ten times",
            &["201", "409"],
            (0..10)
                .map(|n| {
                    call(
                        "post",
                        invite,
                        if usize::is_multiple_of(n, 2) { &marte } else { &admin },
                    )
                    .at("cohort_id", food)
                    .json(json!({ "email": "samme@example.no", "name": "Samme Person", "role": "expert" }))
                })
                .collect(),
        )
        .await;
    // An address with an open invitation is not invited again (409 `already_invited`), so a
    // serial order of ten gives one open invitation; whatever answered 201 must be open, with its
    // mail, and a 409 must have stored nothing.
    let created = count(&answers, 201);
    w.check(created >= 1, || "the address is invited".into());
    let open = find::<invitation::Entity>(
        w.db(),
        Condition::all()
            .add(invitation::Column::Email.eq("samme@example.no"))
            .add(invitation::Column::AcceptedAt.is_null()),
    )
    .await;
    w.check(open.len() == created, || {
        format!("{created} answered 201, {} open invitations", open.len())
    });
    w.app.smtp.wait_for_nth_mail_to("samme@example.no", created).await;
    let same: Vec<String> = w
        .app
        .smtp
        .mails_to("samme@example.no")
        .iter()
        .map(|mail| mail.link_token("/invitations/accept"))
        .collect();

    // Ten invitees accept at once; one link is clicked ten times; the same person accepts
    // their other invitations at once (and the used one again).
    let accept = "/api/v1/invitations/accept";
    w.burst(
        "ten invitees",
        &["200"],
        invited
            .iter()
            .map(|token| anonymous("post", accept).json(json!({ "token": token })))
            .collect(),
    )
    .await;
    let joined = find::<membership::Entity>(
        w.db(),
        Condition::all().add(membership::Column::CohortId.eq(food as i32)).add(
            membership::Column::UserId.is_in(
                find::<user::Entity>(w.db(), user::Column::Email.like("invitert%"))
                    .await
                    .iter()
                    .map(|p| p.id),
            ),
        ),
    )
    .await;
    w.check(joined.len() == 10, || format!("ten new members, not {}", joined.len()));
    let answers = w
        .burst(
            "one link ten times",
            &["200", "422 invitation_invalid"],
            (0..10)
                .map(|_| anonymous("post", accept).json(json!({ "token": same[0] })))
                .collect(),
        )
        .await;
    w.check(count(&answers, 200) == 1, || "an invitation works once".into());
    let mut again: Vec<&String> = same.iter().skip(1).collect();
    while again.len() < 10 {
        again.push(&same[0]);
    }
    let answers = w
        .burst(
            "one person's other invitations",
            &["200", "422 invitation_invalid"],
            again
                .iter()
                .map(|token| anonymous("post", accept).json(json!({ "token": token })))
                .collect(),
        )
        .await;
    w.check(count(&answers, 200) == same.len() - 1, || {
        format!(
            "each unused invitation works once: {} of {}",
            count(&answers, 200),
            same.len() - 1
        )
    });
    let samme = find::<user::Entity>(w.db(), user::Column::Email.eq("samme@example.no")).await;
    w.check(samme.len() == 1, || format!("one person, not {}", samme.len()));
    let samme_id = samme.first().map_or(0, |p| p.id);
    let memberships = find::<membership::Entity>(w.db(), membership::Column::UserId.eq(samme_id)).await;
    w.check(memberships.len() == 1, || {
        format!("one membership, not {}", memberships.len())
    });

    // The facilitator removes one member ten times, then ten members at once.
    let remove = "/api/v1/cohorts/{cohort_id}/members/{user_id}";
    let mut ids = Vec::new();
    for email in invitees.iter().skip(1).chain(["samme@example.no".to_string()].iter()) {
        ids.push(person(w.db(), email).await.id);
    }
    let first = person(w.db(), &invitees[0]).await.id;
    let answers = w
        .burst(
            "the same member",
            &["204", "404"],
            (0..10)
                .map(|_| {
                    call("delete", remove, &marte)
                        .at("cohort_id", food)
                        .at("user_id", first)
                })
                .collect(),
        )
        .await;
    w.check(count(&answers, 204) == 1, || {
        format!("one of ten removes the member, not {}", count(&answers, 204))
    });
    w.check(audit_count(w.db(), "cohorts.remove_member", first).await == 1, || {
        "one removal audited".into()
    });
    w.burst(
        "ten members",
        &["204"],
        ids.iter()
            .map(|id| call("delete", remove, &marte).at("cohort_id", food).at("user_id", id))
            .collect(),
    )
    .await;
    let left = find::<membership::Entity>(
        w.db(),
        Condition::all()
            .add(membership::Column::CohortId.eq(food as i32))
            .add(membership::Column::UserId.is_in(ids.iter().copied().chain([first]))),
    )
    .await;
    w.check(left.is_empty(), || format!("{} still members", left.len()));

    // "Invite every project contact" ten times at once: each contact is invited once.
    let contacts = "/api/v1/cohorts/{cohort_id}/invitations/contacts";
    let answers = w
        .burst(
            "every project contact ten times",
            &["200"],
            (0..10)
                .map(|n| call("post", contacts, if n % 2 == 0 { &marte } else { &admin }).at("cohort_id", food))
                .collect(),
        )
        .await;
    let sent: usize = answers
        .iter()
        .map(|a| a.json()["sent"].as_array().map_or(0, Vec::len))
        .sum();
    let of_grants = find::<invitation::Entity>(
        w.db(),
        Condition::all()
            .add(invitation::Column::CohortId.eq(food as i32))
            .add(invitation::Column::GrantId.is_not_null()),
    )
    .await;
    w.check(sent == of_grants.len() && sent > 0, || {
        format!("{sent} reported sent, {} invitations of contacts", of_grants.len())
    });
    let addresses: BTreeSet<&str> = of_grants.iter().map(|i| i.email.as_str()).collect();
    w.check(addresses.len() == of_grants.len(), || "no contact invited twice".into());

    // The same three experts ten times at once: three invitations.
    let batch = "/api/v1/cohorts/{cohort_id}/invitations/batch";
    let people =
        "Ekspert En <ekspert.en@example.no>\nekspert.to@example.no, Ekspert To\nEkspert Tre <ekspert.tre@example.no>";
    w.burst(
        "the same three experts",
        &["200"],
        (0..10)
            .map(|_| {
                call("post", batch, &marte)
                    .at("cohort_id", food)
                    .json(json!({ "people": people, "role": "expert" }))
            })
            .collect(),
    )
    .await;
    let experts = find::<invitation::Entity>(w.db(), invitation::Column::Email.like("ekspert.%@example.no")).await;
    w.check(experts.len() == 3, || {
        format!("three invitations, not {}", experts.len())
    });

    // One invitation resent ten times: still one invitation, and only the last link works.
    let resend = "/api/v1/invitations/{invitation_id}/resend";
    let resent_id = experts.first().map_or(0, |i| i.id);
    w.burst(
        "one invitation resent",
        &["200"],
        (0..10)
            .map(|_| call("post", resend, &marte).at("invitation_id", resent_id))
            .collect(),
    )
    .await;
    let rows = find::<invitation::Entity>(w.db(), invitation::Column::Id.eq(resent_id)).await;
    w.check(rows.len() == 1, || "still one invitation".into());

    // One invitation withdrawn ten times: one withdrawal.
    let withdraw = "/api/v1/invitations/{invitation_id}";
    let answers = w
        .burst(
            "one invitation withdrawn",
            &["204", "404"],
            (0..10)
                .map(|_| call("delete", withdraw, &marte).at("invitation_id", resent_id))
                .collect(),
        )
        .await;
    w.check(count(&answers, 204) == 1, || {
        format!("one of ten withdraws it, not {}", count(&answers, 204))
    });
    // Erasure: one person asks ten times (one link works), ten people ask; then one link is
    // confirmed ten times (one erasure), and nine links with the used one at once.
    let ask = "/api/v1/me/erasure";
    let askers = members(&w.app, food, "sletter", 11, Role::ProjectLead).await;
    w.burst(
        "one person ten times",
        &["202"],
        (0..10)
            .map(|_| call("post", ask, &askers[10]).json(json!({ "posts": "keep" })))
            .collect(),
    )
    .await;
    let asker = person(w.db(), "sletter10@example.no").await;
    let open = find::<erasure_request::Entity>(
        w.db(),
        Condition::all()
            .add(erasure_request::Column::UserId.eq(asker.id))
            .add(erasure_request::Column::ConsumedAt.is_null()),
    )
    .await;
    w.check(open.len() == 1, || {
        format!("a new request voids the older links: {} work", open.len())
    });
    w.burst(
        "ten people",
        &["202"],
        askers[..10]
            .iter()
            .map(|token| call("post", ask, token).json(json!({ "posts": "delete" })))
            .collect(),
    )
    .await;
    let mut links = Vec::new();
    for n in 0..10 {
        let mail = w.app.smtp.wait_for_mail_to(&format!("sletter{n}@example.no")).await;
        links.push(mail.link_token("/account/erasure"));
    }
    let confirm = "/api/v1/me/erasure/confirm";
    let answers = w
        .burst(
            "one link ten times",
            &["204", "410 erasure_link_invalid"],
            (0..10)
                .map(|_| anonymous("post", confirm).json(json!({ "token": links[0] })))
                .collect(),
        )
        .await;
    w.check(count(&answers, 204) == 1, || {
        format!("one of ten confirms, not {}", count(&answers, 204))
    });
    let answers = w
        .burst(
            "nine links and a used one",
            &["204", "410 erasure_link_invalid"],
            links
                .iter()
                .map(|token| anonymous("post", confirm).json(json!({ "token": token })))
                .collect(),
        )
        .await;
    w.check(count(&answers, 204) == 9, || {
        format!("nine erasures, not {}", count(&answers, 204))
    });
    w.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_writes_ten_at_once() {
    let app = spawn_app_with(|_| {}).await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let leads = members(&app, food, "deltaker", 16, Role::ProjectLead).await;
    let experts = members(&app, food, "ekspert", 10, Role::Expert).await;
    let mut expert_ids = Vec::new();
    for token in &experts {
        expert_ids.push(id_of(&app, token).await);
    }
    let mut lead_ids = Vec::new();
    for token in &leads {
        lead_ids.push(id_of(&app, token).await);
    }
    let mut w = World::new(Area::Sessions, app).await;

    // Ten proposals at once are the same proposal; the plan saved ten times is four sessions.
    let answers = w
        .burst(
            "ten proposals",
            &["200"],
            (0..10)
                .map(|_| {
                    call("post", "/api/v1/cohorts/{cohort_id}/plan/proposal", &marte)
                        .at("cohort_id", food)
                        .json(json!({}))
                })
                .collect(),
        )
        .await;
    let proposals: BTreeSet<String> = answers.iter().map(|a| a.json()["plan"].to_string()).collect();
    w.check(proposals.len() == 1, || {
        format!("{} different proposals", proposals.len())
    });
    let plan: Vec<Value> = answers[0].json()["plan"]["sessions"]
        .as_array()
        .expect("planned sessions")
        .iter()
        .map(|s| json!({ "number": s["number"], "starts_at": s["start"], "ends_at": s["end"] }))
        .collect();
    w.burst(
        "the plan ten times",
        &["200"],
        (0..10)
            .map(|_| {
                call("put", "/api/v1/cohorts/{cohort_id}/plan", &marte)
                    .at("cohort_id", food)
                    .json(json!({ "sessions": plan }))
            })
            .collect(),
    )
    .await;
    let mut sessions = find::<session::Entity>(w.db(), session::Column::CohortId.eq(food as i32)).await;
    sessions.sort_by_key(|s| s.number);
    let numbers: Vec<i32> = sessions.iter().map(|s| s.number).collect();
    w.check(numbers == [1, 2, 3, 4], || format!("four sessions, not {numbers:?}"));
    let (first, second) = (sessions[0].clone(), sessions[1].clone());
    let stored = |db: &DatabaseConnection, id: i32| {
        let db = db.clone();
        async move {
            find::<session::Entity>(&db, session::Column::Id.eq(id))
                .await
                .pop()
                .expect("the session")
        }
    };

    // Ten edits of the first session: one title stands, the calendar SEQUENCE rises ten times.
    let titles: Vec<String> = (0..10).map(|n| format!("Samling 1 – versjon {n}")).collect();
    w.burst(
        "ten titles",
        &["200"],
        titles
            .iter()
            .map(|title| {
                call("patch", "/api/v1/sessions/{session_id}", &marte)
                    .at("session_id", first.id)
                    .json(json!({ "title": title, "capacity": 3 }))
            })
            .collect(),
    )
    .await;
    let edited = stored(w.db(), first.id).await;
    w.check(titles.contains(&edited.title) && edited.capacity == Some(3), || {
        format!(
            "one of the titles with capacity 3: {:?} {:?}",
            edited.title, edited.capacity
        )
    });
    w.check(edited.sequence == first.sequence + 10, || {
        format!("SEQUENCE {} after ten edits from {}", edited.sequence, first.sequence)
    });

    // Ten experts booked at once; one expert booked ten times with ten topics.
    let book = "/api/v1/sessions/{session_id}/experts";
    w.burst(
        "ten experts",
        &["200"],
        expert_ids
            .iter()
            .map(|id| {
                call("post", book, &marte)
                    .at("session_id", first.id)
                    .json(json!({ "user_id": id, "topic": format!("Tema for {id}") }))
            })
            .collect(),
    )
    .await;
    let booked = find::<session_expert::Entity>(w.db(), session_expert::Column::SessionId.eq(first.id)).await;
    w.check(booked.len() == 10, || {
        format!("ten experts booked, not {}", booked.len())
    });
    let after_booking = stored(w.db(), first.id).await;
    w.check(after_booking.sequence == edited.sequence + 10, || {
        format!(
            "SEQUENCE {} after ten bookings from {}",
            after_booking.sequence, edited.sequence
        )
    });
    let topics: Vec<String> = (0..10).map(|n| format!("Tema {n}")).collect();
    w.burst(
        "one expert, ten topics",
        &["200"],
        topics
            .iter()
            .map(|topic| {
                call("post", book, &marte)
                    .at("session_id", second.id)
                    .json(json!({ "user_id": expert_ids[0], "topic": topic }))
            })
            .collect(),
    )
    .await;
    let one = find::<session_expert::Entity>(w.db(), session_expert::Column::SessionId.eq(second.id)).await;
    w.check(one.len() == 1 && topics.contains(&one[0].topic), || {
        format!("one booking with one of the topics: {one:?}")
    });

    // Ten people register for three seats: three seated, seven waiting.
    let register = "/api/v1/sessions/{session_id}/registration";
    let answers = w
        .burst(
            "ten people, three seats",
            &["200"],
            leads[..10]
                .iter()
                .map(|token| call("put", register, token).at("session_id", first.id))
                .collect(),
        )
        .await;
    let mine: Vec<String> = answers
        .iter()
        .map(|a| a.json()["my_registration"].as_str().unwrap_or_default().to_string())
        .collect();
    let seated = mine.iter().filter(|s| *s == "registered").count();
    let waiting = mine.iter().filter(|s| *s == "waitlisted").count();
    w.check((seated, waiting) == (3, 7), || {
        format!("3 seated and 7 waiting, not {mine:?}")
    });
    let mut rows = find::<registration::Entity>(w.db(), registration::Column::SessionId.eq(first.id)).await;
    rows.sort_by_key(|r| (r.created_at, r.id));
    let status_of = |rows: &[registration::Model], status: RegistrationStatus| -> Vec<i32> {
        rows.iter().filter(|r| r.status == status).map(|r| r.user_id).collect()
    };
    let (seats, line) = (
        status_of(&rows, RegistrationStatus::Registered),
        status_of(&rows, RegistrationStatus::Waitlisted),
    );
    w.check((seats.len(), line.len()) == (3, 7), || {
        format!("stored: {} seated, {} waiting", seats.len(), line.len())
    });
    w.burst(
        "one person ten times",
        &["200"],
        (0..10)
            .map(|_| call("put", register, &leads[10]).at("session_id", second.id))
            .collect(),
    )
    .await;
    let twice = find::<registration::Entity>(w.db(), registration::Column::SessionId.eq(second.id)).await;
    w.check(twice.len() == 1, || format!("one registration, not {}", twice.len()));

    // The three seated and the last two waiting cancel, each twice: the first three left in
    // line move up, once.
    let token_of = |user_id: i32| {
        let index = lead_ids
            .iter()
            .position(|id| *id == i64::from(user_id))
            .expect("a lead");
        leads[index].clone()
    };
    let leaving: Vec<i32> = seats.iter().chain(&line[5..]).copied().collect();
    w.burst(
        "five cancel twice",
        &["200"],
        leaving
            .iter()
            .chain(&leaving)
            .map(|id| call("delete", register, &token_of(*id)).at("session_id", first.id))
            .collect(),
    )
    .await;
    let rows = find::<registration::Entity>(w.db(), registration::Column::SessionId.eq(first.id)).await;
    let mut now_seated = status_of(&rows, RegistrationStatus::Registered);
    now_seated.sort_unstable();
    let mut moved_up = line[..3].to_vec();
    moved_up.sort_unstable();
    w.check(now_seated == moved_up, || {
        format!("the first three in line move up: {now_seated:?}, expected {moved_up:?}")
    });
    let still_waiting = status_of(&rows, RegistrationStatus::Waitlisted).len();
    w.check(still_waiting == 2, || format!("two still waiting, not {still_waiting}"));

    // One person's ten first saves of the needs intake: one row with one of the answers. Ten
    // people's first saves at once.
    let prepare = "/api/v1/sessions/{session_id}/preparation";
    let texts: Vec<(String, String)> = (0..10)
        .map(|n| (format!("Trenger hjelp {n}"), format!("Kan dele {n}")))
        .collect();
    w.burst(
        "one person's ten first saves",
        &["200"],
        texts
            .iter()
            .map(|(needs, offers)| {
                call("put", prepare, &leads[0])
                    .at("session_id", first.id)
                    .json(json!({ "needs": needs, "offers": offers }))
            })
            .collect(),
    )
    .await;
    let saved = find::<preparation::Entity>(
        w.db(),
        Condition::all()
            .add(preparation::Column::SessionId.eq(first.id))
            .add(preparation::Column::UserId.eq(lead_ids[0] as i32)),
    )
    .await;
    w.check(
        saved.len() == 1 && texts.contains(&(saved[0].needs.clone(), saved[0].offers.clone())),
        || format!("one row holding one of the ten answers: {saved:?}"),
    );
    w.burst(
        "ten people's first saves",
        &["200"],
        leads[6..]
            .iter()
            .map(|token| {
                call("put", prepare, token)
                    .at("session_id", first.id)
                    .json(json!({ "needs": "Erfaringer med veiing", "offers": "Måleskjema" }))
            })
            .collect(),
    )
    .await;
    let all = find::<preparation::Entity>(w.db(), preparation::Column::SessionId.eq(first.id)).await;
    w.check(all.len() == 11, || format!("eleven answers, not {}", all.len()));

    // One need marked ten times at once: taken up in the first or second session, or open.
    // It ends as one of them, the moment set exactly when a session is.
    let need = saved[0].id;
    let choices = [Some(first.id), Some(second.id), None];
    w.burst(
        "one need marked ten times",
        &["200"],
        (0..10)
            .map(|n| {
                call("put", "/api/v1/preparations/{preparation_id}/addressed", &marte)
                    .at("preparation_id", need)
                    .json(json!({ "session_id": choices[n % 3] }))
            })
            .collect(),
    )
    .await;
    let marked = find::<preparation::Entity>(w.db(), preparation::Column::Id.eq(need)).await;
    w.check(
        marked.len() == 1
            && choices.contains(&marked[0].addressed_session_id)
            && marked[0].addressed_session_id.is_some() == marked[0].addressed_at.is_some(),
        || format!("the need ends as one of the marks: {marked:?}"),
    );

    // Ten candidate times at once; ten people answer them all; one person answers ten times.
    w.burst(
        "ten times",
        &["200"],
        (0..10)
            .map(|n| {
                let starts = second.starts_at + Duration::days(n + 1);
                call("post", "/api/v1/sessions/{session_id}/poll/options", &marte)
                    .at("session_id", second.id)
                    .json(json!({ "starts_at": starts, "ends_at": starts + Duration::hours(2) }))
            })
            .collect(),
    )
    .await;
    let options: Vec<i32> = find::<poll_option::Entity>(w.db(), poll_option::Column::SessionId.eq(second.id))
        .await
        .iter()
        .map(|o| o.id)
        .collect();
    w.check(options.len() == 10, || format!("ten options, not {}", options.len()));
    let choice = |n: usize| -> Vec<Value> {
        options
            .iter()
            .enumerate()
            .map(|(k, id)| json!({ "option_id": id, "answer": AVAILABILITY[(k + n) % 3] }))
            .collect()
    };
    let vote = "/api/v1/sessions/{session_id}/poll/answers";
    w.burst(
        "ten people",
        &["200"],
        leads[..10]
            .iter()
            .enumerate()
            .map(|(n, token)| {
                call("put", vote, token)
                    .at("session_id", second.id)
                    .json(Value::Array(choice(n)))
            })
            .collect(),
    )
    .await;
    let stored_answers =
        find::<poll_answer::Entity>(w.db(), poll_answer::Column::OptionId.is_in(options.clone())).await;
    w.check(stored_answers.len() == 100, || {
        format!("a hundred answers, not {}", stored_answers.len())
    });
    w.burst(
        "one person ten times",
        &["200"],
        (0..10)
            .map(|n| {
                call("put", vote, &leads[12])
                    .at("session_id", second.id)
                    .json(Value::Array(choice(n)))
            })
            .collect(),
    )
    .await;
    let mut theirs: Vec<(i32, String)> = find::<poll_answer::Entity>(
        w.db(),
        Condition::all()
            .add(poll_answer::Column::OptionId.is_in(options.clone()))
            .add(poll_answer::Column::UserId.eq(lead_ids[12] as i32)),
    )
    .await
    .into_iter()
    .map(|a| (a.option_id, a.answer))
    .collect();
    theirs.sort();
    let one_of = (0..10).any(|n| {
        let mut sent: Vec<(i32, String)> = choice(n)
            .iter()
            .map(|a| {
                (
                    a["option_id"].as_i64().unwrap_or_default() as i32,
                    a["answer"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        sent.sort();
        sent == theirs
    });
    w.check(one_of, || format!("one request's answers: {theirs:?}"));

    // Calendar feeds: one person makes ten at once (one works), ten people one each; then
    // revoked the same way.
    let feed = "/api/v1/me/calendar-feed";
    let answers = w
        .burst(
            "one person ten times",
            &["201"],
            (0..10).map(|_| call("post", feed, &leads[0])).collect(),
        )
        .await;
    let mut working = 0;
    for answer in &answers {
        if let Some(url) = answer.json()["url"].as_str() {
            let fetched = w.app.api.get(url).send().await.expect("the feed answers");
            working += usize::from(fetched.status().as_u16() == 200);
        }
    }
    w.check(working == 1, || format!("one of ten feed URLs works, not {working}"));
    let feeds = find::<calendar_feed::Entity>(w.db(), calendar_feed::Column::UserId.eq(lead_ids[0] as i32)).await;
    w.check(feeds.len() == 1, || format!("one feed, not {}", feeds.len()));
    w.burst(
        "ten people",
        &["201"],
        leads[..10].iter().map(|t| call("post", feed, t)).collect(),
    )
    .await;
    let feeds = find::<calendar_feed::Entity>(w.db(), Condition::all()).await;
    w.check(feeds.len() == 10, || format!("ten feeds, not {}", feeds.len()));
    w.burst(
        "one person ten times",
        &["204"],
        (0..10).map(|_| call("delete", feed, &leads[0])).collect(),
    )
    .await;
    w.burst(
        "ten people",
        &["204"],
        leads[..10].iter().map(|t| call("delete", feed, t)).collect(),
    )
    .await;
    let feeds = find::<calendar_feed::Entity>(w.db(), Condition::all()).await;
    w.check(feeds.is_empty(), || format!("no feeds left: {}", feeds.len()));

    // After the start: ten attendance lists and ten recaps at once; one of each stands whole.
    let now = w.app.clock.now_for_tests();
    w.app.clock.advance(first.starts_at - now + Duration::minutes(30));
    let marte = w
        .app
        .member_token(food, "marte@example.no", "Marte Fjeld", Role::Facilitator)
        .await;
    // List n marks the three by the bits of n % 7 + 1: every list has someone present, which
    // the survey below needs whichever list stands.
    let marks = |n: usize| -> Vec<(i32, bool)> {
        moved_up
            .iter()
            .enumerate()
            .map(|(k, id)| (*id, ((n % 7 + 1) >> k) & 1 == 1))
            .collect()
    };
    w.burst(
        "ten lists",
        &["200"],
        (0..10)
            .map(|n| {
                let body: Vec<Value> = marks(n)
                    .iter()
                    .map(|(id, attended)| json!({ "user_id": id, "attended": attended }))
                    .collect();
                call("put", "/api/v1/sessions/{session_id}/attendance", &marte)
                    .at("session_id", first.id)
                    .json(Value::Array(body))
            })
            .collect(),
    )
    .await;
    let mut recorded: Vec<(i32, bool)> = find::<registration::Entity>(
        w.db(),
        Condition::all()
            .add(registration::Column::SessionId.eq(first.id))
            .add(registration::Column::Status.eq("registered")),
    )
    .await
    .into_iter()
    .map(|r| (r.user_id, r.attended.unwrap_or_default()))
    .collect();
    recorded.sort_unstable();
    w.check((0..10).any(|n| marks(n) == recorded), || {
        format!("one list stands whole: {recorded:?}")
    });
    let trondheim = find::<organisation::Entity>(w.db(), organisation::Column::Number.eq("5001"))
        .await
        .pop()
        .expect("Trondheim");
    w.burst(
        "ten versions",
        &["200"],
        (0..10)
            .map(|n| {
                call("put", "/api/v1/sessions/{session_id}/recap", &marte)
                    .at("session_id", first.id)
                    .json(json!({
                        "summary": format!("Oppsummering {n}"),
                        "decisions": format!("Vedtak {n}"),
                        "resources": "[Veileder](https://www.miljodirektoratet.no)",
                        "follow_ups": [{ "organisation_id": trondheim.id, "text": format!("Oppfølging {n}") }],
                        "publish": true
                    }))
            })
            .collect(),
    )
    .await;
    let recap = stored(w.db(), first.id).await;
    let follow_ups: Vec<String> =
        find::<session_follow_up::Entity>(w.db(), session_follow_up::Column::SessionId.eq(first.id))
            .await
            .into_iter()
            .map(|f| f.text)
            .collect();
    let version = recap.recap_summary.trim_start_matches("Oppsummering ").to_string();
    w.check(
        recap.recap_published_at.is_some()
            && recap.recap_decisions == format!("Vedtak {version}")
            && follow_ups == [format!("Oppfølging {version}")],
        || {
            format!(
                "one version stands whole: {:?} {:?} {follow_ups:?}",
                recap.recap_summary, recap.recap_decisions
            )
        },
    );

    // Ten messages to the registered at once: each goes to every one of them, once per message.
    let seated = find::<registration::Entity>(
        w.db(),
        Condition::all()
            .add(registration::Column::SessionId.eq(first.id))
            .add(registration::Column::Status.eq(RegistrationStatus::Registered)),
    )
    .await
    .len();
    let notices = |db: &DatabaseConnection| {
        let db = db.clone();
        async move {
            find::<outbox_mail::Entity>(&db, outbox_mail::Column::Kind.eq(outbox_mail::Kind::Notice))
                .await
                .len()
        }
    };
    let before = notices(w.db()).await;
    w.burst(
        "ten messages",
        &["200"],
        (0..10)
            .map(|n| {
                call("post", "/api/v1/sessions/{session_id}/messages", &marte)
                    .at("session_id", first.id)
                    .json(json!({ "group": "registered", "note": format!("Hilsen {n}") }))
            })
            .collect(),
    )
    .await;
    let after = notices(w.db()).await;
    w.check(seated > 0 && after - before == 10 * seated, || {
        format!("{seated} seated, {} mails", after - before)
    });

    // After the last session, one person who came answers the first session's survey ten times
    // at once, and the closing survey ten times at once: one answer of each is stored, the
    // others are told it was answered.
    let last_end = find::<session::Entity>(w.db(), session::Column::CohortId.eq(food as i32))
        .await
        .iter()
        .map(|s| s.ends_at)
        .max()
        .expect("the sessions");
    let now = w.app.clock.now_for_tests();
    w.app.clock.advance(last_end - now + Duration::hours(1));
    let came = recorded
        .iter()
        .find(|(_, attended)| *attended)
        .map(|(id, _)| *id)
        .expect("someone marked present");
    let n = lead_ids.iter().position(|id| *id as i32 == came).expect("a lead");
    let taker = w
        .app
        .member_token(
            food,
            &format!("deltaker{n}@example.no"),
            &format!("deltaker {n}"),
            Role::ProjectLead,
        )
        .await;
    let session_answers = w
        .burst(
            "one person's ten session answers",
            &["201", "409 survey_already_answered"],
            (0..10)
                .map(|n| {
                    call("post", "/api/v1/sessions/{session_id}/survey", &taker)
                        .at("session_id", first.id)
                        .json(json!({ "usefulness": 1 + n % 5, "helped": format!("Svar {n}") }))
                })
                .collect(),
        )
        .await;
    let closing_answers = w
        .burst(
            "one person's ten closing answers",
            &["201", "409 survey_already_answered"],
            (0..10)
                .map(|_| {
                    call("post", "/api/v1/cohorts/{cohort_id}/closing-survey", &taker)
                        .at("cohort_id", food)
                        .json(json!({ "changed_project": "partly", "recommend": "yes" }))
                })
                .collect(),
        )
        .await;
    let answers = find::<survey_answer::Entity>(w.db(), survey_answer::Column::CohortId.eq(food as i32)).await;
    let created = session_answers
        .iter()
        .chain(&closing_answers)
        .filter(|a| a.status == 201)
        .count();
    w.check(created == 2, || format!("one 201 per burst, not {created}"));
    let kinds: Vec<&str> = answers.iter().map(|a| a.kind.as_str()).collect();
    w.check(
        kinds.len() == 2 && kinds.contains(&"session") && kinds.contains(&"programme"),
        || format!("one answer of each survey, not {kinds:?}"),
    );
    w.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discussion_and_moderation_writes_ten_at_once() {
    let app = spawn_app_with(|settings| settings.posts_per_minute = 10_000).await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let frida = app
        .facilitator_token(&admin, food, "frida@example.no", "Frida Fasilitator")
        .await;
    let people = members(&app, food, "medlem", 10, Role::ProjectLead).await;
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;
    let mut ids = Vec::new();
    for token in &people {
        ids.push(id_of(&app, token).await);
    }
    let moderator = |n: usize| {
        if usize::is_multiple_of(n, 2) {
            frida.clone()
        } else {
            admin.clone()
        }
    };
    let mut w = World::new(Area::Threads, app).await;
    let post_row = |db: &DatabaseConnection, id: i64| {
        let db = db.clone();
        async move {
            find::<post::Entity>(&db, post::Column::Id.eq(id as i32))
                .await
                .pop()
                .expect("the post")
        }
    };
    let thread_row = |db: &DatabaseConnection, id: i64| {
        let db = db.clone();
        async move {
            find::<thread::Entity>(&db, thread::Column::Id.eq(id as i32))
                .await
                .pop()
                .expect("the thread")
        }
    };

    // One send of a new thread ten times (a retrying client): one thread. Ten new threads.
    let start = "/api/v1/cohorts/{cohort_id}/threads";
    let answers = w
        .burst(
            "one send ten times",
            &["201", "200"],
            (0..10)
                .map(|_| {
                    call("post", start, &people[0])
                        .at("cohort_id", food)
                        .json(json!({ "title": "Veiing i kantinene", "body": "Hvordan veier dere?", "client_id": "samme-trad" }))
                })
                .collect(),
        )
        .await;
    w.check(count(&answers, 201) == 1, || {
        format!("one created, not {}", count(&answers, 201))
    });
    let thread_ids: BTreeSet<i64> = answers
        .iter()
        .filter_map(|a| a.json()["thread"]["id"].as_i64())
        .collect();
    w.check(thread_ids.len() == 1, || {
        format!("every answer is the same thread: {thread_ids:?}")
    });
    let threads = find::<thread::Entity>(w.db(), thread::Column::Title.eq("Veiing i kantinene")).await;
    w.check(threads.len() == 1, || {
        format!("one thread stored, not {}", threads.len())
    });
    let thread_id = *thread_ids.first().expect("the thread");
    w.burst(
        "ten new threads",
        &["201"],
        people
            .iter()
            .enumerate()
            .map(|(n, token)| {
                call("post", start, token)
                    .at("cohort_id", food)
                    .json(json!({ "title": format!("Tråd {n}"), "body": "Innlegg", "client_id": format!("trad-{n}") }))
            })
            .collect(),
    )
    .await;

    // One reply sent ten times: one post. Ten replies at once.
    let reply = "/api/v1/threads/{thread_id}/posts";
    let answers = w
        .burst(
            "one reply ten times",
            &["201", "200"],
            (0..10)
                .map(|_| {
                    call("post", reply, &people[1])
                        .at("thread_id", thread_id)
                        .json(json!({ "body": "Vi veier hver dag.", "client_id": "samme-svar" }))
                })
                .collect(),
        )
        .await;
    w.check(count(&answers, 201) == 1, || {
        format!("one created, not {}", count(&answers, 201))
    });
    let stored = find::<post::Entity>(w.db(), post::Column::ClientId.eq("samme-svar")).await;
    w.check(stored.len() == 1, || format!("one post stored, not {}", stored.len()));
    let edited_post = stored.first().map_or(0, |p| i64::from(p.id));
    let answers = w
        .burst(
            "ten replies",
            &["201"],
            people
                .iter()
                .enumerate()
                .map(|(n, token)| {
                    call("post", reply, token)
                        .at("thread_id", thread_id)
                        .json(json!({ "body": format!("Svar {n}"), "client_id": format!("svar-{n}") }))
                })
                .collect(),
        )
        .await;
    let replies: Vec<i64> = answers.iter().filter_map(|a| a.json()["id"].as_i64()).collect();
    w.check(replies.len() == 10, || format!("ten replies, not {}", replies.len()));

    // Two moderators pin the thread ten times at the version they saw: one wins.
    let seen = thread_row(w.db(), thread_id).await;
    let answers = w
        .burst(
            "ten pins at one version",
            &["200", "409 version_conflict"],
            (0..10)
                .map(|n| {
                    call("patch", "/api/v1/threads/{thread_id}", &moderator(n))
                        .at("thread_id", thread_id)
                        .json(json!({ "pinned": true, "version": seen.version }))
                })
                .collect(),
        )
        .await;
    w.check(count(&answers, 200) == 1, || {
        format!("one pin, not {}", count(&answers, 200))
    });
    let pinned = thread_row(w.db(), thread_id).await;
    w.check(pinned.pinned && pinned.version == seen.version + 1, || {
        format!("pinned once: {} at version {}", pinned.pinned, pinned.version)
    });
    w.check(audit_count(w.db(), "threads.pin", thread_id).await == 1, || {
        "one pin audited".into()
    });

    // The asker, the facilitator and the expert mark ten different answers: ten changes.
    let markers = [people[0].clone(), frida.clone(), expert.clone()];
    w.burst(
        "ten different answers",
        &["200"],
        replies
            .iter()
            .enumerate()
            .map(|(n, post_id)| {
                call("put", "/api/v1/threads/{thread_id}/answer", &markers[n % 3])
                    .at("thread_id", thread_id)
                    .json(json!({ "post_id": post_id }))
            })
            .collect(),
    )
    .await;
    let marked = thread_row(w.db(), thread_id).await;
    w.check(
        marked
            .answered_post_id
            .is_some_and(|id| replies.contains(&i64::from(id))),
        || format!("one of the replies answers: {:?}", marked.answered_post_id),
    );
    w.check(marked.version == pinned.version + 10, || {
        format!("version {} after ten changes from {}", marked.version, pinned.version)
    });

    // One person's ten tabs report ten read positions: the furthest stands. Ten people at once.
    let read = "/api/v1/threads/{thread_id}/read";
    w.burst(
        "one person's ten tabs",
        &["204"],
        replies
            .iter()
            .map(|post_id| {
                call("put", read, &people[2])
                    .at("thread_id", thread_id)
                    .json(json!({ "last_read_post_id": post_id }))
            })
            .collect(),
    )
    .await;
    let position = find::<thread_read::Entity>(
        w.db(),
        Condition::all()
            .add(thread_read::Column::UserId.eq(ids[2] as i32))
            .add(thread_read::Column::ThreadId.eq(thread_id as i32)),
    )
    .await;
    let furthest = replies.iter().max().copied().unwrap_or_default();
    w.check(
        position.len() == 1 && i64::from(position[0].last_read_post_id) == furthest,
        || format!("one position at the furthest post {furthest}: {position:?}"),
    );
    w.burst(
        "ten people",
        &["204"],
        people
            .iter()
            .map(|token| {
                call("put", read, token)
                    .at("thread_id", thread_id)
                    .json(json!({ "last_read_post_id": furthest }))
            })
            .collect(),
    )
    .await;

    // The author edits ten times at once: every earlier text is kept, one text stands.
    let before = post_row(w.db(), edited_post).await;
    let texts: Vec<String> = (0..10).map(|n| format!("Vi veier hver dag, versjon {n}.")).collect();
    w.burst(
        "ten edits",
        &["200"],
        texts
            .iter()
            .map(|text| {
                call("patch", "/api/v1/posts/{post_id}", &people[1])
                    .at("post_id", edited_post)
                    .json(json!({ "body": text }))
            })
            .collect(),
    )
    .await;
    let after = post_row(w.db(), edited_post).await;
    let mut history: Vec<String> =
        find::<post_revision::Entity>(w.db(), post_revision::Column::PostId.eq(edited_post as i32))
            .await
            .into_iter()
            .map(|r| r.body)
            .collect();
    history.push(after.body.clone());
    history.sort();
    let mut serial: Vec<String> = texts.iter().cloned().chain([before.body.clone()]).collect();
    serial.sort();
    w.check(history == serial, || {
        format!("the revisions and the text are the original and the ten edits: {history:#?}")
    });
    w.check(after.version == before.version + 10, || {
        format!("version {} after ten edits from {}", after.version, before.version)
    });

    // The author deletes a post ten times: deleted once.
    let deleted = replies[3];
    let before = post_row(w.db(), deleted).await;
    w.burst(
        "ten deletions",
        &["200"],
        (0..10)
            .map(|_| call("delete", "/api/v1/posts/{post_id}", &people[3]).at("post_id", deleted))
            .collect(),
    )
    .await;
    let after = post_row(w.db(), deleted).await;
    let events = events_of_post(w.db(), "post_deleted", deleted).await;
    w.check(
        after.deleted && after.version == before.version + 1 && events == 1,
        || {
            format!(
                "deleted once: version {} → {}, {events} events",
                before.version, after.version
            )
        },
    );

    // Ten people react at once; one person reacts ten times; then they take it back.
    let reaction = "/api/v1/posts/{post_id}/reactions/{reaction}";
    let reactions_of = |db: &DatabaseConnection| {
        let db = db.clone();
        async move { find::<post_reaction::Entity>(&db, post_reaction::Column::PostId.eq(edited_post as i32)).await }
    };
    w.burst(
        "ten people",
        &["200"],
        people
            .iter()
            .map(|t| {
                call("put", reaction, t)
                    .at("post_id", edited_post)
                    .at("reaction", "thumbs_up")
            })
            .collect(),
    )
    .await;
    w.burst(
        "one person ten times",
        &["200"],
        (0..10)
            .map(|_| {
                call("put", reaction, &frida)
                    .at("post_id", edited_post)
                    .at("reaction", "heart")
            })
            .collect(),
    )
    .await;
    let stored = reactions_of(w.db()).await;
    let changes = events_of_post(w.db(), "reactions_changed", edited_post).await;
    w.check(stored.len() == 11 && changes == 11, || {
        format!(
            "eleven reactions from eleven changes: {} stored, {changes} events",
            stored.len()
        )
    });
    w.burst(
        "ten people",
        &["200"],
        people
            .iter()
            .map(|t| {
                call("delete", reaction, t)
                    .at("post_id", edited_post)
                    .at("reaction", "thumbs_up")
            })
            .collect(),
    )
    .await;
    w.burst(
        "one person ten times",
        &["200"],
        (0..10)
            .map(|_| {
                call("delete", reaction, &frida)
                    .at("post_id", edited_post)
                    .at("reaction", "heart")
            })
            .collect(),
    )
    .await;
    let stored = reactions_of(w.db()).await;
    let changes = events_of_post(w.db(), "reactions_changed", edited_post).await;
    w.check(stored.is_empty() && changes == 22, || {
        format!(
            "none left after eleven more changes: {} stored, {changes} events",
            stored.len()
        )
    });

    // Ten people report a post; one person reports another ten times; two moderators dismiss
    // the first one's reports ten times.
    let report = "/api/v1/posts/{post_id}/reports";
    let reported = replies[0];
    w.burst(
        "ten people",
        &["204"],
        people
            .iter()
            .map(|t| {
                call("post", report, t)
                    .at("post_id", reported)
                    .json(json!({ "reason": "Upassende" }))
            })
            .collect(),
    )
    .await;
    let open = |db: &DatabaseConnection, post_id: i64| {
        let db = db.clone();
        async move {
            find::<post_report::Entity>(
                &db,
                Condition::all()
                    .add(post_report::Column::PostId.eq(post_id as i32))
                    .add(post_report::Column::ResolvedAt.is_null()),
            )
            .await
            .len()
        }
    };
    let reports = open(w.db(), reported).await;
    w.check(reports == 10, || format!("ten open reports, not {reports}"));
    w.burst(
        "one person ten times",
        &["204"],
        (0..10)
            .map(|n| {
                call("post", report, &people[0])
                    .at("post_id", replies[1])
                    .json(json!({ "reason": format!("Grunn {n}") }))
            })
            .collect(),
    )
    .await;
    let reports = open(w.db(), replies[1]).await;
    w.check(reports == 1, || format!("one open report, not {reports}"));
    w.burst(
        "ten dismissals",
        &["204"],
        (0..10)
            .map(|n| call("post", "/api/v1/posts/{post_id}/reports/dismiss", &moderator(n)).at("post_id", reported))
            .collect(),
    )
    .await;
    let reports = open(w.db(), reported).await;
    let dismissals = audit_count(w.db(), "reports.dismiss", reported).await;
    w.check(reports == 0 && dismissals == 1, || {
        format!("dismissed once: {reports} open, {dismissals} audit entries")
    });

    // Two moderators hide a post ten times at the version they saw: one wins; then restore it.
    let hidden = replies[4];
    let mails_before = w.app.smtp.mails_to("medlem4@example.no").len();
    for (action, audit, hide) in [("hide", "posts.hide", true), ("restore", "posts.restore", false)] {
        let seen = post_row(w.db(), hidden).await;
        let template = if hide {
            "/api/v1/posts/{post_id}/hide"
        } else {
            "/api/v1/posts/{post_id}/restore"
        };
        let answers = w
            .burst(
                "ten at one version",
                &["200", "409 version_conflict"],
                (0..10)
                    .map(|n| {
                        call("post", template, &moderator(n))
                            .at("post_id", hidden)
                            .json(json!({ "reason": format!("Grunn {n}"), "version": seen.version }))
                    })
                    .collect(),
            )
            .await;
        let now = post_row(w.db(), hidden).await;
        let audited = audit_count(w.db(), audit, hidden).await;
        w.check(
            count(&answers, 200) == 1 && now.hidden == hide && now.version == seen.version + 1 && audited == 1,
            || {
                format!(
                    "{action} once: {} won, version {} → {}, {audited} audited",
                    count(&answers, 200),
                    seen.version,
                    now.version
                )
            },
        );
    }
    // The author is told of each change once (a request that lost sends nothing).
    w.app
        .smtp
        .wait_for_nth_mail_to("medlem4@example.no", mails_before + 2)
        .await;
    let told = w.app.smtp.mails_to("medlem4@example.no").len() - mails_before;
    w.check(told == 2, || format!("two mails to the author, not {told}"));

    // Two moderators mute one member ten times, then ten members; and unmute them the same way.
    let mutes = "/api/v1/cohorts/{cohort_id}/mutes";
    let muted = ids[5];
    w.burst(
        "one member ten times",
        &["201"],
        (0..10)
            .map(|n| {
                call("post", mutes, &moderator(n))
                    .at("cohort_id", food)
                    .json(json!({ "user_id": muted, "minutes": 10 + n, "reason": "Trenger en pause" }))
            })
            .collect(),
    )
    .await;
    let rows = find::<cohort_mute::Entity>(w.db(), cohort_mute::Column::CohortId.eq(food as i32)).await;
    w.check(rows.len() == 1, || format!("one mute, not {}", rows.len()));
    w.burst(
        "ten members",
        &["201"],
        ids.iter()
            .enumerate()
            .map(|(n, id)| {
                call("post", mutes, &moderator(n))
                    .at("cohort_id", food)
                    .json(json!({ "user_id": id, "minutes": 30, "reason": "Trenger en pause" }))
            })
            .collect(),
    )
    .await;
    let rows = find::<cohort_mute::Entity>(w.db(), cohort_mute::Column::CohortId.eq(food as i32)).await;
    w.check(rows.len() == 10, || format!("ten mutes, not {}", rows.len()));
    let unmute = "/api/v1/cohorts/{cohort_id}/mutes/{user_id}";
    w.burst(
        "one member ten times",
        &["204"],
        (0..10)
            .map(|n| {
                call("delete", unmute, &moderator(n))
                    .at("cohort_id", food)
                    .at("user_id", muted)
            })
            .collect(),
    )
    .await;
    let unmuted = audit_count(w.db(), "members.unmute", muted).await;
    w.check(unmuted == 1, || format!("one unmute audited, not {unmuted}"));
    w.burst(
        "ten members",
        &["204"],
        ids.iter()
            .enumerate()
            .map(|(n, id)| {
                call("delete", unmute, &moderator(n))
                    .at("cohort_id", food)
                    .at("user_id", id)
            })
            .collect(),
    )
    .await;
    let rows = find::<cohort_mute::Entity>(w.db(), cohort_mute::Column::CohortId.eq(food as i32)).await;
    w.check(rows.is_empty(), || format!("no mutes left: {}", rows.len()));
    w.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowledge_resource_and_digest_writes_ten_at_once() {
    // The server's own digest worker is off, so only the requests decide digests.
    let app = spawn_app_with(|settings| settings.digest_interval_seconds = 0).await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let frida = app
        .facilitator_token(&admin, food, "frida@example.no", "Frida Fasilitator")
        .await;
    let sindre = app
        .facilitator_token(&admin, circular, "sindre@example.no", "Sindre Fasilitator")
        .await;
    let kari = app
        .member_token(
            food,
            "kari.nordmann@example.trondheim.kommune.no",
            "Kari Nordmann",
            Role::ProjectLead,
        )
        .await;
    let experts = members(&app, food, "ekspert", 10, Role::Expert).await;
    let people = members(&app, food, "medlem", 10, Role::ProjectLead).await;
    let mut people_ids = Vec::new();
    for token in &people {
        people_ids.push(id_of(&app, token).await);
    }
    let projects_of = |cohort_id: i64| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.get(&format!("/api/v1/cohorts/{cohort_id}"), Some(&admin))
                .await
                .json()["cohort"]["projects"]
                .as_array()
                .expect("projects")
                .iter()
                .map(|p| {
                    (
                        p["reference"].as_str().unwrap_or_default().to_string(),
                        p["grant_id"].as_i64().unwrap_or_default(),
                    )
                })
                .collect::<Vec<(String, i64)>>()
        }
    };
    let food_projects = projects_of(food).await;
    let circular_projects = projects_of(circular).await;
    app.plan_sessions(&frida, food).await;
    let mut w = World::new(Area::Knowledge, app).await;

    // The mix that used to fail: ten first saves of one project's profile with ten saves of
    // its lesson, by its lead and the facilitator. One row each, holding one request's texts.
    let profile = "/api/v1/projects/{grant_id}/profile";
    let lesson = "/api/v1/projects/{grant_id}/lesson";
    let trondheim = food_projects
        .iter()
        .find(|(reference, _)| reference == "2021-0412")
        .expect("Trondheim's project")
        .1;
    let editors = [kari.clone(), frida.clone()];
    let profiles: Vec<(String, String)> = (0..10)
        .map(|n| {
            (
                format!("Vi trenger hjelp med veiing {n}"),
                format!("Vi deler menyplaner {n}"),
            )
        })
        .collect();
    let lessons: Vec<(String, String)> = (0..10)
        .map(|n| (format!("Veiing hver dag virket {n}"), format!("Start smått {n}")))
        .collect();
    let mix: Vec<Req> = profiles
        .iter()
        .zip(&lessons)
        .enumerate()
        .flat_map(|(n, ((needs, offers), (learned, tips)))| {
            [
                call("put", profile, &editors[n % 2])
                    .at("grant_id", trondheim)
                    .json(json!({ "needs": needs, "offers": offers })),
                call("put", lesson, &editors[(n + 1) % 2])
                    .at("grant_id", trondheim)
                    .json(json!({ "learned": learned, "tips": tips })),
            ]
        })
        .collect();
    w.burst("ten first saves with ten lessons", &["200"], mix).await;
    let saved = find::<project_profile::Entity>(w.db(), project_profile::Column::GrantId.eq(trondheim as i32)).await;
    w.check(
        saved.len() == 1 && profiles.contains(&(saved[0].needs.clone(), saved[0].offers.clone())),
        || format!("one profile holding one request's texts: {saved:?}"),
    );
    let learned = find::<lesson::Entity>(w.db(), lesson::Column::GrantId.eq(trondheim as i32)).await;
    w.check(
        learned.len() == 1 && lessons.contains(&(learned[0].learned.clone(), learned[0].tips.clone())),
        || format!("one lesson holding one request's texts: {learned:?}"),
    );

    // The circular facilitator saves all ten projects' profiles and the finished ones' lessons.
    let finished: Vec<i64> = find::<grant::Entity>(
        w.db(),
        grant::Column::Id.is_in(circular_projects.iter().map(|(_, id)| *id as i32)),
    )
    .await
    .into_iter()
    .filter(|g| g.status == samling::domain::grants::GrantStatus::Completed)
    .map(|g| i64::from(g.id))
    .collect();
    let requests: Vec<Req> = circular_projects
        .iter()
        .map(|(reference, id)| {
            call("put", profile, &sindre)
                .at("grant_id", id)
                .json(json!({ "needs": format!("Behov i {reference}"), "offers": "" }))
        })
        .chain(finished.iter().map(|id| {
            call("put", lesson, &sindre)
                .at("grant_id", id)
                .json(json!({ "learned": "Ombruk sparer penger", "tips": "" }))
        }))
        .collect();
    w.burst("ten projects", &["200"], requests).await;
    let ids: Vec<i32> = circular_projects.iter().map(|(_, id)| *id as i32).collect();
    let profiles_now =
        find::<project_profile::Entity>(w.db(), project_profile::Column::GrantId.is_in(ids.clone())).await;
    let lessons_now = find::<lesson::Entity>(w.db(), lesson::Column::GrantId.is_in(ids)).await;
    w.check(
        profiles_now.len() == circular_projects.len() && lessons_now.len() == finished.len(),
        || format!("{} profiles and {} lessons", profiles_now.len(), lessons_now.len()),
    );

    // Ten experts post at once, links and files alike (eleven resources).
    let post_resource = "/api/v1/cohorts/{cohort_id}/resources";
    let answers = w
        .burst(
            "links and files",
            &["201"],
            (0..11)
                .map(|n| {
                    let mut fields = vec![
                        ("title", Field::Text(format!("Ressurs {n}"))),
                        ("summary", Field::Text("Erfaringer fra kantinen".into())),
                        ("tags", Field::Text("Matsvinn, kantine".into())),
                    ];
                    fields.push(if usize::is_multiple_of(n, 2) {
                        ("url", Field::Text(format!("https://example.no/ressurs-{n}")))
                    } else {
                        (
                            "file",
                            Field::File {
                                name: format!("ressurs-{n}.pdf"),
                                bytes: sample_pdf(n),
                            },
                        )
                    });
                    call("post", post_resource, &experts[n % 10])
                        .at("cohort_id", food)
                        .multipart(fields)
                })
                .collect(),
        )
        .await;
    let posted: Vec<(i64, usize)> = answers
        .iter()
        .enumerate()
        .filter_map(|(n, a)| a.json()["id"].as_i64().map(|id| (id, n % 10)))
        .collect();
    let rows = find::<resource::Entity>(w.db(), resource::Column::CohortId.eq(food as i32)).await;
    let files = files_under(&w.app.settings.files_dir);
    w.check(rows.len() == 11 && files == 5, || {
        format!("eleven resources and five files: {} and {files}", rows.len())
    });

    // One resource deleted ten times by its poster and the facilitator; then ten at once.
    let delete = "/api/v1/resources/{resource_id}";
    let (once, poster) = posted[1];
    let answers = w
        .burst(
            "one resource ten times",
            &["204", "404"],
            (0..10)
                .map(|n| {
                    let token = if usize::is_multiple_of(n, 2) {
                        &experts[poster]
                    } else {
                        &frida
                    };
                    call("delete", delete, token).at("resource_id", once)
                })
                .collect(),
        )
        .await;
    w.check(count(&answers, 204) == 1, || {
        format!("deleted once, not {}", count(&answers, 204))
    });
    let deletions = audit_count(w.db(), "resources.delete", once).await;
    w.check(deletions == 1, || format!("one deletion audited, not {deletions}"));
    w.burst(
        "ten resources",
        &["204"],
        posted
            .iter()
            .filter(|(id, _)| *id != once)
            .map(|(id, poster)| call("delete", delete, &experts[*poster]).at("resource_id", id))
            .collect(),
    )
    .await;
    let rows = find::<resource::Entity>(w.db(), resource::Column::CohortId.eq(food as i32)).await;
    let files = files_under(&w.app.settings.files_dir);
    w.check(rows.is_empty() && files == 0, || {
        format!("no resources or files left: {} and {files}", rows.len())
    });

    // The facilitator's ten tabs open posting to project leads: it opens once.
    w.burst(
        "ten tabs",
        &["200"],
        (0..10)
            .map(|_| {
                call("put", "/api/v1/cohorts/{cohort_id}/resource-settings", &frida)
                    .at("cohort_id", food)
                    .json(json!({ "participants_post": true }))
            })
            .collect(),
    )
    .await;
    let opened = audit_count(w.db(), "resources.participants_post", food).await;
    w.check(opened == 1, || format!("opened once, not {opened} times"));

    // Digest preferences: one person's ten tabs, then ten people.
    let preference = "/api/v1/me/digest-preference";
    let choices = ["everything", "essentials", "nothing"];
    w.burst(
        "one person's ten tabs",
        &["200"],
        (0..10)
            .map(|n| call("put", preference, &people[0]).json(json!({ "preference": choices[n % 3] })))
            .collect(),
    )
    .await;
    let chosen = person(w.db(), "medlem0@example.no").await.digest_preference;
    w.check(choices.contains(&chosen.as_str()), || {
        format!("one of the choices, not {chosen}")
    });
    w.burst(
        "ten people",
        &["200"],
        people
            .iter()
            .map(|t| call("put", preference, t).json(json!({ "preference": "essentials" })))
            .collect(),
    )
    .await;

    // Copies of one's data: one person's ten tabs ask at once (one copy is prepared), ten people.
    let export = "/api/v1/me/export";
    w.burst(
        "one person's ten tabs",
        &["202"],
        (0..10).map(|_| call("post", export, &people[1])).collect(),
    )
    .await;
    let asker = person(w.db(), "medlem1@example.no").await.id;
    let copies = find::<data_export::Entity>(w.db(), data_export::Column::UserId.eq(asker)).await;
    w.check(copies.len() == 1, || {
        format!("one copy for ten requests at once, not {}", copies.len())
    });
    w.burst(
        "ten people",
        &["202"],
        people.iter().map(|t| call("post", export, t)).collect(),
    )
    .await;

    // One-click unsubscribe: one link ten times (a mail program retrying), ten people's links.
    let keys = samling::auth::session_token::SessionKeys::new(w.app.settings.signing_secret.expose());
    let now = w.app.clock.now_for_tests();
    let link = |id: i64| format!("token={}", keys.issue_unsubscribe(id as i32, now).expect("a token"));
    let unsubscribe = "/api/v1/unsubscribe";
    w.burst(
        "one link ten times",
        &["200"],
        (0..10)
            .map(|_| {
                anonymous("post", unsubscribe)
                    .query(link(people_ids[0]))
                    .form("List-Unsubscribe=One-Click")
            })
            .collect(),
    )
    .await;
    w.burst(
        "ten people",
        &["200"],
        people_ids
            .iter()
            .map(|id| {
                anonymous("post", unsubscribe)
                    .query(link(*id))
                    .form("List-Unsubscribe=One-Click")
            })
            .collect(),
    )
    .await;
    let still = find::<user::Entity>(
        w.db(),
        Condition::all()
            .add(user::Column::Id.is_in(people_ids.iter().map(|id| *id as i32)))
            .add(user::Column::DigestPreference.ne("nothing")),
    )
    .await;
    w.check(still.is_empty(), || format!("{} still get digests", still.len()));

    // The facilitator writes ten intros for one digest at once, then sends it ten times: one
    // intro stands, it is decided once and every member gets it once.
    let schedule = w
        .app
        .get(&format!("/api/v1/cohorts/{food}/digests"), Some(&frida))
        .await
        .json();
    let digest_id = schedule
        .as_array()
        .expect("digests")
        .iter()
        .find(|d| d["status"] == "scheduled")
        .expect("a scheduled digest")["id"]
        .as_i64()
        .expect("an id");
    let intros: Vec<String> = (0..10).map(|n| format!("Husk tallene fra kantina ({n}).")).collect();
    let later = w.app.clock.now_for_tests() + Duration::days(1);
    w.burst(
        "ten intros",
        &["200"],
        intros
            .iter()
            .map(|intro| {
                call("patch", "/api/v1/digests/{digest_id}", &frida)
                    .at("digest_id", digest_id)
                    .json(json!({ "intro": intro, "send_at": later }))
            })
            .collect(),
    )
    .await;
    let changed = find::<digest::Entity>(w.db(), digest::Column::Id.eq(digest_id as i32))
        .await
        .pop()
        .expect("the digest");
    w.check(intros.contains(&changed.intro) && changed.postponed, || {
        format!("one intro, postponed: {:?} {}", changed.intro, changed.postponed)
    });
    let answers = w
        .burst(
            "ten sends",
            &["200", "409 digest_not_scheduled"],
            (0..10)
                .map(|_| call("post", "/api/v1/digests/{digest_id}/send", &frida).at("digest_id", digest_id))
                .collect(),
        )
        .await;
    w.check(count(&answers, 200) == 1, || {
        format!("decided once, not {}", count(&answers, 200))
    });
    let enqueued = answers
        .iter()
        .find_map(|a| a.json()["enqueued"].as_u64())
        .unwrap_or_default() as usize;
    let mails = find::<outbox_mail::Entity>(w.db(), outbox_mail::Column::DigestId.eq(digest_id as i32)).await;
    let recipients: BTreeSet<i32> = mails.iter().filter_map(|m| m.user_id).collect();
    w.check(mails.len() == enqueued && recipients.len() == enqueued, || {
        format!(
            "{enqueued} enqueued, {} mails to {} people",
            mails.len(),
            recipients.len()
        )
    });
    w.finish();
}
