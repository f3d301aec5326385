//! The `samling` command: serve, migrate, import grants, create the admin.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use samling::auth::Caller;
use samling::clock::{Clock, SystemClock};
use samling::cohorts::{self, NewProgramme};
use samling::config::Settings;
use samling::domain::digest_schedule::DigestKind;
use samling::error::AppError;
use samling::i18n::{Language, Tr};
use samling::startup::{Application, shutdown_signal};
use samling::{db, demo, telemetry, users};

#[derive(Parser)]
#[command(
    name = "samling",
    version,
    about = "Samling: facilitated knowledge exchange between municipalities that received climate funding"
)]
struct Cli {
    /// Optional TOML settings file; `SAMLING_*` environment variables override it.
    #[arg(long, global = true, env = "SAMLING_CONFIG")]
    config: Option<PathBuf>,
    /// The language of what the command prints: nb (Bokmål, the default), nn or en.
    #[arg(long, global = true, env = "SAMLING_LANGUAGE", value_parser = parse_language)]
    language: Option<Language>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and API (applies migrations first).
    Serve {
        /// Load demo data into an empty database and print sign-in links.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import a grant export (CSV), update cohorts and print the report.
    ImportGrants {
        /// The CSV file, as the agency exports it.
        file: PathBuf,
    },
    /// Create a programme; its cohorts form from the imported grants.
    CreateProgramme {
        #[arg(long)]
        name: String,
        /// Grant years it invites, e.g. 2021,2022.
        #[arg(long)]
        grant_years: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        starts_on: chrono::NaiveDate,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        ends_on: chrono::NaiveDate,
    },
    /// Create the programme admin (or promote an existing person) and print a one-time sign-in link.
    CreateAdmin { email: String },
    /// Print the OpenAPI document of the JSON API.
    Openapi,
    /// E-mail digests: preview one person's, or process what is due now.
    Digests {
        #[command(subcommand)]
        command: DigestsCommand,
    },
    /// Personal data past its retention period: purge and anonymise it.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Seed cohorts of members with session tokens for the realtime benchmark (never in production).
    #[cfg(feature = "bench-seed")]
    BenchSeed {
        #[arg(long)]
        cohorts: usize,
        #[arg(long)]
        members: usize,
        /// Where to write the cohorts, threads and tokens as JSON.
        #[arg(long)]
        out: PathBuf,
        /// Also give every cohort a held session with a published recap, its digest due now
        /// (for the digest benchmark).
        #[arg(long)]
        recap_due: bool,
        /// Also fill the threads with this many generated posts, indexed for search (for the
        /// search benchmark).
        #[arg(long, default_value_t = 0)]
        posts: usize,
    },
    /// Seed a programme of national size for the report benchmark (never in production).
    #[cfg(feature = "bench-seed")]
    BenchSeedReport {
        /// Where to write the admin's token and the scopes to ask for, as JSON.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 400)]
        municipalities: usize,
        #[arg(long, default_value_t = 30)]
        cohorts: usize,
        #[arg(long, default_value_t = 10_000)]
        registrations: usize,
        #[arg(long, default_value_t = 200_000)]
        posts: usize,
    },
}

#[derive(Subcommand)]
enum DigestsCommand {
    /// Print what this person would get now, per cohort (the next digest of each kind).
    Preview {
        /// The person's e-mail address.
        #[arg(long)]
        user: String,
        /// Only this kind: recap, activity or reminder.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Decide the digests that are due and send the outbox, once.
    Run,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Purge old sign-in links, expired invitations and sent mail, anonymise people whose
    /// programmes ended long enough ago, once, and print what went.
    Run,
}

fn parse_language(code: &str) -> Result<Language, String> {
    Language::parse(code).ok_or_else(|| format!("{code:?}: nb, nn or en"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let tr = Tr::new(cli.language.unwrap_or_default());
    // A panic is a bug, but the person at the terminal still gets one line, not a backtrace.
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("{}", tr.f("cli_lang.internal_error", &[("error", info.to_string())]));
    }));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{}", tr.f("cli_lang.cannot_start", &[("error", error.to_string())]));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, tr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", tr.f("cli_lang.error", &[("error", one_line(&error, tr))]));
            ExitCode::FAILURE
        }
    }
}

fn one_line(error: &anyhow::Error, tr: Tr) -> String {
    if let Some(app_error) = error.downcast_ref::<AppError>() {
        return app_error.message(tr);
    }
    format!("{error:#}").replace('\n', " ")
}

async fn run(cli: Cli, tr: Tr) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        println!("{}", samling::routes::api::router().1.to_pretty_json()?);
        return Ok(());
    }
    let settings = Settings::load(cli.config.as_deref()).map_err(anyhow::Error::msg)?;
    telemetry::init(settings.log_format);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve { demo } => serve(settings, clock, demo, tr).await,
        Command::Migrate => {
            let db = db::connect(&settings.database_url).await?;
            db::migrate(&db).await?;
            println!("{}", tr.t("cli.migrated"));
            Ok(())
        }
        Command::ImportGrants { file } => import(settings, clock, file, tr).await,
        Command::CreateProgramme {
            name,
            grant_years,
            starts_on,
            ends_on,
        } => {
            let db = db::connect(&settings.database_url).await?;
            db::migrate(&db).await?;
            let programme = cohorts::create_programme(
                &db,
                Caller::CommandLine,
                NewProgramme {
                    name,
                    grant_years,
                    starts_on,
                    ends_on,
                },
                clock.now(),
            )
            .await?;
            println!(
                "{}",
                tr.f(
                    "cli.programme_created",
                    &[("name", &programme.name), ("id", &programme.id.to_string())]
                )
            );
            Ok(())
        }
        Command::Openapi => Ok(()),
        Command::Digests { command } => digests(settings, clock, command, tr).await,
        Command::Retention {
            command: RetentionCommand::Run,
        } => retention_run(settings, clock, tr).await,
        #[cfg(feature = "bench-seed")]
        Command::BenchSeed {
            cohorts,
            members,
            out,
            recap_due,
            posts,
        } => samling::bench_seed::run(&settings, cohorts, members, recap_due, posts, &out, clock.now()).await,
        #[cfg(feature = "bench-seed")]
        Command::BenchSeedReport {
            out,
            municipalities,
            cohorts,
            registrations,
            posts,
        } => {
            let size = samling::bench_seed::report::Size {
                municipalities,
                cohorts,
                registrations,
                posts,
                ..Default::default()
            };
            samling::bench_seed::report::run(&settings, size, &out, clock.now()).await
        }
        Command::CreateAdmin { email } => {
            let db = db::connect(&settings.database_url).await?;
            db::migrate(&db).await?;
            let (admin, secret) = users::create_admin(&db, &email, clock.now()).await?;
            let link = format!(
                "{}{}",
                settings.public_url.trim_end_matches('/'),
                samling::auth::sign_in::sign_in_path(&secret)
            );
            println!("{}", tr.f("cli.admin_ready", &[("email", &admin.email)]));
            println!("{link}");
            Ok(())
        }
    }
}

async fn serve(settings: Settings, clock: Arc<dyn Clock>, with_demo: bool, tr: Tr) -> anyhow::Result<()> {
    let public_url = settings.public_url.clone();
    let application = Application::build(settings, clock.clone()).await?;
    if with_demo {
        match demo::load(&application.state().db, &application.state().storage, clock.now()).await? {
            Some(people) => {
                let sign_in = format!("{}/sign-in", public_url.trim_end_matches('/'));
                println!("{}", tr.f("cli_lang.demo_loaded", &[("sign_in", sign_in)]));
                for person in people {
                    println!(
                        "  {:<14} {:<28} {}{}",
                        tr.t(&format!("cli_lang.demo_role.{}", person.role)),
                        person.email,
                        public_url.trim_end_matches('/'),
                        person.sign_in_path
                    );
                }
            }
            None => println!("{}", tr.t("cli_lang.demo_not_loaded")),
        }
    }
    tracing::info!(address = %application.state().settings.bind, port = application.port(), "Samling is listening");
    println!("{}", tr.f("cli_lang.runs_at", &[("url", public_url.as_str())]));
    application.run_until_stopped(shutdown_signal()).await
}

async fn digests(settings: Settings, clock: Arc<dyn Clock>, command: DigestsCommand, tr: Tr) -> anyhow::Result<()> {
    let state = samling::startup::build_state(settings, clock).await?;
    match command {
        DigestsCommand::Preview { user, kind } => {
            let kind = match kind.as_deref() {
                None => None,
                Some(code) => Some(
                    DigestKind::parse(code)
                        .ok_or_else(|| anyhow::anyhow!(tr.f("cli_lang.unknown_kind", &[("kind", code)])))?,
                ),
            };
            let previews = samling::digests::preview_for_person(&state, &user, kind).await?;
            if previews.is_empty() {
                println!("{}", tr.f("cli_lang.no_digests", &[("user", user.as_str())]));
            }
            for preview in previews {
                let heading = tr.f(
                    "cli_lang.preview_heading",
                    &[
                        ("cohort", preview.cohort_id.to_string()),
                        (
                            "kind",
                            tr.t(&format!("digests.kind.{}", preview.kind.code())).to_string(),
                        ),
                        ("due", tr.date_time(preview.due_at)),
                    ],
                );
                println!("=== {heading}");
                match preview.mail {
                    Some(mail) => println!(
                        "{}\n\n{}",
                        tr.f("cli_lang.subject", &[("subject", mail.subject.as_str())]),
                        mail.text
                    ),
                    None => println!("{}\n", tr.t("cli_lang.nothing_now")),
                }
            }
            Ok(())
        }
        DigestsCommand::Run => {
            let worker_id = format!("cli-{}", std::process::id());
            let report = samling::digests::run_due(&state, &worker_id).await?;
            println!(
                "{}",
                tr.f(
                    "cli_lang.digests_run",
                    &[
                        ("decided", report.decided.to_string()),
                        ("enqueued", report.enqueued.to_string()),
                        ("sent", report.sent.to_string()),
                        ("failed", report.failed.to_string()),
                    ]
                )
            );
            println!(
                "{}",
                tr.f(
                    "survey.cli_nudges",
                    &[
                        ("sessions", report.nudges.sessions_nudged.to_string()),
                        ("reminders", report.nudges.facilitator_mails.to_string()),
                        ("links", report.nudges.survey_links.to_string()),
                    ]
                )
            );
            Ok(())
        }
    }
}

async fn retention_run(settings: Settings, clock: Arc<dyn Clock>, tr: Tr) -> anyhow::Result<()> {
    let state = samling::startup::build_state(settings, clock).await?;
    let report = samling::privacy::retention::run(&state, state.now()).await?;
    // The running servers close the sockets of the people anonymised (on PostgreSQL), told
    // here before the command exits rather than in the background.
    for person in &report.anonymised {
        samling::realtime::events::notify_instances(&state.db, format!("u:{person}")).await?;
    }
    for (key, count) in [
        ("retention.cli_sign_ins", report.sign_in_tokens.to_string()),
        ("retention.cli_invitations", report.invitations.to_string()),
        ("retention.cli_outbox", report.outbox_mails.to_string()),
        ("retention.cli_exports", report.data_exports.to_string()),
        ("retention.cli_people", report.anonymised.len().to_string()),
    ] {
        println!("{}", tr.f(key, &[("count", count)]));
    }
    if report.failed > 0 {
        anyhow::bail!(tr.f("retention.cli_failed", &[("count", report.failed.to_string())]));
    }
    Ok(())
}

async fn import(settings: Settings, clock: Arc<dyn Clock>, file: PathBuf, tr: Tr) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&file).with_context(|| tr.f("cli_lang.cannot_read", &[("file", file.display().to_string())]))?;
    let db = db::connect(&settings.database_url).await?;
    db::migrate(&db).await?;
    let bar = ProgressBar::new(bytes.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}% {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let report =
        samling::grants::import::import_grants(&db, Caller::CommandLine, &bytes, clock.now(), &progress).await?;
    bar.finish_and_clear();
    println!(
        "{}",
        tr.f(
            "cli.import_summary",
            &[
                ("rows", &tr.plural("counted.rows_read", report.rows)),
                ("created", &tr.plural("counted.created", report.created)),
                ("updated", &tr.plural("counted.updated", report.updated)),
                ("unchanged", &tr.plural("counted.unchanged", report.unchanged)),
                ("rejected", &tr.plural("counted.rejected", report.rejected.len())),
            ]
        )
    );
    for rejected in &report.rejected {
        let reason = tr.f(
            &format!("import.error.{}", rejected.error.code),
            &[("column", &rejected.error.column), ("value", &rejected.error.value)],
        );
        println!(
            "  {}",
            tr.f(
                "cli.import_rejected",
                &[("line", &rejected.line.to_string()), ("reason", &reason)]
            )
        );
    }
    for cohort in &report.cohorts {
        println!(
            "  {}",
            tr.f(
                "cli.import_cohort",
                &[
                    ("programme", &cohort.programme),
                    ("theme", &cohort.theme),
                    ("projects", &tr.plural("counted.projects", cohort.projects))
                ]
            )
        );
    }
    if report.contacts_left_out > 0 {
        println!("{}", tr.plural("counted.contacts_left_out", report.contacts_left_out));
    }
    if report.needs_review > 0 {
        println!("{}", tr.plural("counted.cli_pending_reviews", report.needs_review));
    }
    if !report.rejected.is_empty() {
        anyhow::bail!(tr.plural("counted.had_rejections", report.rejected.len()));
    }
    Ok(())
}
