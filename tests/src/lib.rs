//! Test harness: the real server on port 0, a fresh SQLite file or PostgreSQL database per
//! test, and a real SMTP server that receives the mail the server sends.
//!
//! `SAMLING_TEST_DATABASE=postgres` runs the suite against PostgreSQL
//! (`SAMLING_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432`).

pub mod s3;
pub mod smtp;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use samling::clock::ManualClock;
use samling::config::{Settings, SmtpTls};
use samling::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

pub use smtp::{ReceivedMail, TestSmtp};

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub db: DatabaseConnection,
    pub smtp: TestSmtp,
    pub clock: ManualClock,
    /// The server's live part, to look at what its sockets hold.
    pub hub: samling::realtime::Hub,
    /// A client without cookies; requests authenticate with bearer tokens.
    pub api: reqwest::Client,
    /// What the server was started with, for more instances on the same database.
    pub settings: Settings,
    _dir: tempfile::TempDir,
}

/// Another server instance on the same database, with its own runtime: stopping it ends every
/// task it runs, open websockets included, like a process that exits.
pub struct Instance {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Instance {
    /// Stops the instance and waits until its runtime is gone.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Which database the suite runs against.
pub fn backend_is_postgres() -> bool {
    std::env::var("SAMLING_TEST_DATABASE").is_ok_and(|value| value == "postgres")
}

async fn fresh_database_url(dir: &std::path::Path) -> String {
    if !backend_is_postgres() {
        return format!("sqlite://{}/samling.sqlite?mode=rwc", dir.display());
    }
    let server =
        std::env::var("SAMLING_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("samling_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(format!("{server}/postgres"))
        .await
        .expect("PostgreSQL must be reachable for the postgres test run");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("cannot create a test database");
    format!("{server}/{name}")
}

/// A moment in the middle of an ordinary working day, so tests do not depend on today's date.
pub fn test_start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 10, 9, 0, 0)
        .single()
        .expect("a valid date")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server with test settings, changed by `adjust` before it starts.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let smtp = TestSmtp::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let port = listener.local_addr().expect("a bound port").port();
    let address = format!("http://127.0.0.1:{port}");
    let mut settings = Settings {
        database_url: fresh_database_url(dir.path()).await,
        bind: format!("127.0.0.1:{port}"),
        public_url: address.clone(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: smtp.port,
        smtp_tls: SmtpTls::None,
        outbox_dir: dir.path().join("outbox"),
        files_dir: dir.path().join("files"),
        // The retention job runs at start by `now`, which tests move on: a test that wants it
        // turns it on (tests/api/retention.rs).
        retention_interval_hours: 0,
        ..Settings::default()
    };
    adjust(&mut settings);
    let clock = ManualClock::starting_at(test_start_time());
    let started_with = settings.clone();
    let application = Application::build_on(settings, listener, Arc::new(clock.clone()))
        .await
        .expect("the server starts");
    let db = application.state().db.clone();
    let hub = application.state().hub.clone();
    tokio::spawn(application.run_until_stopped(std::future::pending()));
    TestApp {
        address,
        db,
        smtp,
        clock,
        hub,
        api: reqwest::Client::new(),
        settings: started_with,
        _dir: dir,
    }
}

/// The sample grant export from `../shared/data` (the copy in `server/demo-data` if it is missing).
pub fn sample_grants() -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("../shared/data/klimasats-tildelinger-sample.csv");
    let path = if shared.is_file() {
        shared
    } else {
        root.join("server/demo-data/klimasats-tildelinger-sample.csv")
    };
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.body))
    }

    /// The stable error code of a problem+json answer.
    pub fn code(&self) -> String {
        assert_eq!(
            self.headers.get("content-type").and_then(|value| value.to_str().ok()),
            Some("application/problem+json"),
            "errors are problem+json: {}",
            self.body
        );
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
}

async fn into_response(response: reqwest::Response) -> Response {
    Response {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.expect("a readable body"),
    }
}

impl TestApp {
    /// Starts one more server instance on this app's database, settings and clock.
    pub async fn start_instance(&self) -> Instance {
        self.start_instance_with(|_| {}).await
    }

    /// Starts one more server instance on this app's database and clock, with its settings
    /// changed by `adjust` (e.g. another mail server).
    pub async fn start_instance_with(&self, adjust: impl FnOnce(&mut Settings)) -> Instance {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = format!("http://{}", listener.local_addr().expect("a bound port"));
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let mut settings = Settings {
            public_url: address.clone(),
            ..self.settings.clone()
        };
        adjust(&mut settings);
        let clock = self.clock.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, started) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                let application = Application::build_on(settings, listener, Arc::new(clock))
                    .await
                    .expect("the instance starts");
                let _ = ready.send(());
                let _ = application
                    .run_until_stopped(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
            // Dropping the runtime here ends every task of the instance.
        });
        started.await.expect("the instance starts");
        Instance {
            address,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.api.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        into_response(request.send().await.expect("the server answers")).await
    }

    pub async fn send_json(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.api.request(method, self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        into_response(request.send().await.expect("the server answers")).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, token, body).await
    }

    pub async fn post_bytes(&self, path: &str, token: &str, body: Vec<u8>) -> Response {
        let request = self
            .api
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body);
        into_response(request.send().await.expect("the server answers")).await
    }

    /// Asks for a sign-in link and returns the token from the mail that arrives.
    pub async fn request_sign_in_token(&self, email: &str) -> String {
        let before = self.smtp.mails_to(email).len();
        let response = self
            .post_json("/api/v1/auth/sign-in-link", None, &json!({ "email": email }))
            .await;
        assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
        let mail = self.smtp.wait_for_nth_mail_to(email, before + 1).await;
        mail.link_token("/sign-in/link")
    }

    /// Signs in through the e-mailed link; returns a bearer token.
    pub async fn sign_in(&self, email: &str) -> String {
        let token = self.request_sign_in_token(email).await;
        let response = self
            .post_json("/api/v1/auth/session", None, &json!({ "token": token }))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.json()["token"].as_str().expect("a session token").to_string()
    }

    /// Creates the admin the way `samling create-admin` does and signs them in.
    pub async fn admin_token(&self) -> String {
        let (_, secret) = samling::users::create_admin(&self.db, "admin@example.no", self.clock.now_for_tests())
            .await
            .expect("an admin");
        let response = self
            .post_json("/api/v1/auth/session", None, &json!({ "token": secret }))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.json()["token"].as_str().expect("a session token").to_string()
    }

    /// The programme of the sample's README: grant years 2021 and 2022.
    pub async fn create_programme(&self, admin: &str) -> Value {
        let response = self
            .post_json(
                "/api/v1/admin/programmes",
                Some(admin),
                &json!({ "name": "Klimasats-forum 2027", "grant_years": "2021,2022", "starts_on": "2027-01-04", "ends_on": "2027-12-17" }),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.json()
    }

    /// Imports a file through the API and returns the report.
    pub async fn import(&self, admin: &str, file: Vec<u8>) -> Value {
        let response = self.post_bytes("/api/v1/admin/grant-imports", admin, file).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.json()
    }

    /// Programme plus sample import: returns the admin token and the cohorts, by theme slug.
    pub async fn with_sample_cohorts(&self) -> (String, std::collections::HashMap<String, i64>) {
        let admin = self.admin_token().await;
        self.create_programme(&admin).await;
        self.import(&admin, sample_grants()).await;
        let cohorts = self.get("/api/v1/cohorts", Some(&admin)).await.json();
        let by_slug = cohorts
            .as_array()
            .expect("a list")
            .iter()
            .map(|cohort| {
                (
                    cohort["theme"]["slug"].as_str().unwrap_or_default().to_string(),
                    cohort["id"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        (admin, by_slug)
    }

    /// Makes `email` the facilitator of a cohort and signs them in.
    pub async fn facilitator_token(&self, admin: &str, cohort_id: i64, email: &str, name: &str) -> String {
        let response = self
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/admin/cohorts/{cohort_id}/facilitator"),
                Some(admin),
                &json!({ "email": email, "name": name }),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        self.sign_in(email).await
    }

    /// Invites someone as a facilitator would, accepts the mailed invitation; returns their token.
    pub async fn invite_and_accept(
        &self,
        inviter: &str,
        cohort_id: i64,
        email: &str,
        name: &str,
        role: &str,
    ) -> String {
        let response = self
            .post_json(
                &format!("/api/v1/cohorts/{cohort_id}/invitations"),
                Some(inviter),
                &json!({ "email": email, "name": name, "role": role }),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        let mail = self.smtp.wait_for_mail_to(email).await;
        let token = mail.link_token("/invitations/accept");
        let accepted = self
            .post_json("/api/v1/invitations/accept", None, &json!({ "token": token }))
            .await;
        assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
        accepted.json()["session"]["token"]
            .as_str()
            .expect("a session token")
            .to_string()
    }
}

impl TestApp {
    /// Puts a person straight into a cohort with a role (as an accepted invitation would) and
    /// signs them in through a one-time link; for tests that need many people.
    pub async fn member_token(
        &self,
        cohort_id: i64,
        email: &str,
        name: &str,
        role: samling::domain::roles::Role,
    ) -> String {
        let now = self.clock.now_for_tests();
        let txn = samling::db::write_transaction(&self.db).await.expect("a transaction");
        let person = samling::cohorts::find_or_create_user(&txn, email, name, now)
            .await
            .expect("a person");
        samling::cohorts::set_membership(&txn, person.id, cohort_id as i32, role, None, now)
            .await
            .expect("a membership");
        let secret = samling::auth::sign_in::issue_sign_in_secret(&txn, person.id, now)
            .await
            .expect("a link");
        sea_orm::TransactionSession::commit(txn).await.expect("committed");
        let response = self
            .post_json("/api/v1/auth/session", None, &json!({ "token": secret }))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.json()["token"].as_str().expect("a session token").to_string()
    }

    /// Proposes the cohort's plan for the programme period and accepts it; returns the sessions.
    pub async fn plan_sessions(&self, facilitator: &str, cohort_id: i64) -> Vec<Value> {
        let proposal = self
            .post_json(
                &format!("/api/v1/cohorts/{cohort_id}/plan/proposal"),
                Some(facilitator),
                &json!({}),
            )
            .await;
        assert_eq!(proposal.status, StatusCode::OK, "{}", proposal.body);
        let sessions: Vec<Value> = proposal.json()["plan"]["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .map(|s| json!({ "number": s["number"], "starts_at": s["start"], "ends_at": s["end"] }))
            .collect();
        let saved = self
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/cohorts/{cohort_id}/plan"),
                Some(facilitator),
                &json!({ "sessions": sessions }),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        saved.json().as_array().expect("sessions").clone()
    }
}

/// Reading the manual clock from tests.
pub trait ClockExt {
    fn now_for_tests(&self) -> chrono::DateTime<Utc>;
}

impl ClockExt for ManualClock {
    fn now_for_tests(&self) -> chrono::DateTime<Utc> {
        samling::clock::Clock::now(self)
    }
}
