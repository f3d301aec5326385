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

fn main() -> ExitCode {
    // A panic is a bug, but the person at the terminal still gets one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("samling: internal error: {info}");
    }));
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("samling: error: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("samling: error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

fn one_line(error: &anyhow::Error) -> String {
    if let Some(app_error) = error.downcast_ref::<AppError>() {
        return app_error.message(Tr::new(Language::Nb));
    }
    format!("{error:#}").replace('\n', " ")
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        println!("{}", samling::routes::api::router().1.to_pretty_json()?);
        return Ok(());
    }
    let settings = Settings::load(cli.config.as_deref()).map_err(anyhow::Error::msg)?;
    telemetry::init(settings.log_format);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve { demo } => serve(settings, clock, demo).await,
        Command::Migrate => {
            let db = db::connect(&settings.database_url).await?;
            db::migrate(&db).await?;
            println!("{}", Tr::new(Language::Nb).t("cli.migrated"));
            Ok(())
        }
        Command::ImportGrants { file } => import(settings, clock, file).await,
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
                Tr::new(Language::Nb).f(
                    "cli.programme_created",
                    &[("name", &programme.name), ("id", &programme.id.to_string())]
                )
            );
            Ok(())
        }
        Command::Openapi => Ok(()),
        Command::Digests { command } => digests(settings, clock, command).await,
        #[cfg(feature = "bench-seed")]
        Command::BenchSeed {
            cohorts,
            members,
            out,
            recap_due,
            posts,
        } => samling::bench_seed::run(&settings, cohorts, members, recap_due, posts, &out, clock.now()).await,
        Command::CreateAdmin { email } => {
            let db = db::connect(&settings.database_url).await?;
            db::migrate(&db).await?;
            let (admin, secret) = users::create_admin(&db, &email, clock.now()).await?;
            let link = format!(
                "{}{}",
                settings.public_url.trim_end_matches('/'),
                samling::auth::sign_in::sign_in_path(&secret)
            );
            let tr = Tr::new(Language::Nb);
            println!("{}", tr.f("cli.admin_ready", &[("email", &admin.email)]));
            println!("{link}");
            Ok(())
        }
    }
}

async fn serve(settings: Settings, clock: Arc<dyn Clock>, with_demo: bool) -> anyhow::Result<()> {
    let public_url = settings.public_url.clone();
    let application = Application::build(settings, clock.clone()).await?;
    if with_demo {
        match demo::load(&application.state().db, &application.state().storage, clock.now()).await? {
            Some(people) => {
                println!(
                    "Demo data loaded. Sign-in links (valid 15 minutes; ask for a new one at {public_url}/sign-in, the mail lands in data/outbox/):"
                );
                for person in people {
                    println!(
                        "  {:<12} {:<28} {}{}",
                        person.role,
                        person.email,
                        public_url.trim_end_matches('/'),
                        person.sign_in_path
                    );
                }
            }
            None => println!("The database already has people; demo data not loaded again."),
        }
    }
    tracing::info!(address = %application.state().settings.bind, port = application.port(), "Samling is listening");
    println!("Samling runs at {public_url}");
    application.run_until_stopped(shutdown_signal()).await
}

async fn digests(settings: Settings, clock: Arc<dyn Clock>, command: DigestsCommand) -> anyhow::Result<()> {
    let state = samling::startup::build_state(settings, clock).await?;
    match command {
        DigestsCommand::Preview { user, kind } => {
            let kind = match kind.as_deref() {
                None => None,
                Some(code) => Some(
                    DigestKind::parse(code)
                        .ok_or_else(|| anyhow::anyhow!("unknown kind {code:?}: use recap, activity or reminder"))?,
                ),
            };
            let previews = samling::digests::preview_for_person(&state, &user, kind).await?;
            if previews.is_empty() {
                println!("{user} has no digests planned (no cohort with sessions).");
            }
            for preview in previews {
                println!("=== {}", preview.heading);
                match preview.mail {
                    Some(mail) => println!("Subject: {}\n\n{}", mail.subject, mail.text),
                    None => println!("(nothing for this person now)\n"),
                }
            }
            Ok(())
        }
        DigestsCommand::Run => {
            let worker_id = format!("cli-{}", std::process::id());
            let report = samling::digests::run_due(&state, &worker_id).await?;
            println!(
                "Digests decided: {}, mails enqueued: {}, sent: {}, failed: {}",
                report.decided, report.enqueued, report.sent, report.failed
            );
            Ok(())
        }
    }
}

async fn import(settings: Settings, clock: Arc<dyn Clock>, file: PathBuf) -> anyhow::Result<()> {
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
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
    let tr = Tr::new(Language::Nb);
    println!(
        "{}",
        tr.f(
            "cli.import_summary",
            &[
                ("rows", &report.rows.to_string()),
                ("created", &report.created.to_string()),
                ("updated", &report.updated.to_string()),
                ("unchanged", &report.unchanged.to_string()),
                ("rejected", &report.rejected.len().to_string()),
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
                    ("projects", &cohort.projects.to_string())
                ]
            )
        );
    }
    if report.needs_review > 0 {
        println!(
            "{}",
            tr.f("cli.import_review", &[("count", &report.needs_review.to_string())])
        );
    }
    if !report.rejected.is_empty() {
        anyhow::bail!(tr.f(
            "cli.import_had_rejections",
            &[("count", &report.rejected.len().to_string())]
        ));
    }
    Ok(())
}
