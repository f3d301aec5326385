//! The `samling` command as a person at a terminal uses it: real binary, real SQLite file.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn samling(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samling"));
    command.args(args).current_dir(dir).env("RUST_LOG", "warn");
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("SAMLING_")) {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the samling binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sample_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-data/klimasats-tildelinger-sample.csv")
}

/// One line on stderr, no panic, no backtrace, non-zero status.
fn assert_clear_failure(output: &Output, expected: &str) {
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "must fail: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("samling: feil: "), "{stderr}");
    assert!(stderr.contains(expected), "expected {expected:?} in {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn help_explains_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let output = samling(dir.path(), &["--help"], &[]);
    let help = text(&output.stdout);
    for command in ["serve", "migrate", "import-grants", "create-admin", "create-programme"] {
        assert!(help.contains(command), "{command} missing from {help}");
    }
    let serve = text(&samling(dir.path(), &["serve", "--help"], &[]).stdout);
    assert!(serve.contains("--demo"), "{serve}");
}

#[test]
fn import_from_the_command_line_reports_cohorts_and_rejected_rows() {
    let dir = tempfile::tempdir().unwrap();
    let created = samling(
        dir.path(),
        &[
            "create-programme",
            "--name",
            "Klimasats-forum 2027",
            "--grant-years",
            "2021,2022",
            "--starts-on",
            "2027-01-04",
            "--ends-on",
            "2027-12-17",
        ],
        &[],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(
        dir.path().join("data/samling.sqlite").is_file(),
        "the embedded default is a SQLite file under ./data/"
    );

    let sample = sample_file();
    let first = samling(dir.path(), &["import-grants", sample.to_str().unwrap()], &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let report = text(&first.stdout);
    assert!(
        report.contains("30 rader lest: 30 nye, 0 oppdatert, 0 uendret, 0 avvist."),
        "{report}"
    );
    assert!(report.contains("Mat og matsvinn – 7 prosjekter"), "{report}");
    assert!(report.contains("Sirkulærøkonomi – 10 prosjekter"), "{report}");
    assert!(
        report.contains("Klimavennlig arealplanlegging – 6 prosjekter"),
        "{report}"
    );
    assert!(report.contains("1 tilskudd venter på vurdering"), "{report}");

    let again = samling(dir.path(), &["import-grants", sample.to_str().unwrap()], &[]);
    assert!(
        text(&again.stdout).contains("0 nye, 0 oppdatert, 30 uendret, 0 avvist"),
        "{}",
        text(&again.stdout)
    );

    let bad = dir.path().join("bad.csv");
    let mut content = std::fs::read_to_string(&sample).unwrap();
    content = content.replacen("Gjennomført", "Ferdig", 1);
    std::fs::write(&bad, content).unwrap();
    let rejected = samling(dir.path(), &["import-grants", bad.to_str().unwrap()], &[]);
    assert!(
        text(&rejected.stdout)
            .contains("Linje 2: «Status» må være Tildelt, Pågående, Gjennomført eller Trukket: «Ferdig»."),
        "{}",
        text(&rejected.stdout)
    );
    assert_clear_failure(&rejected, "1 rad ble avvist; rett den");
}

#[test]
fn a_missing_file_or_bad_configuration_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    assert_clear_failure(
        &samling(dir.path(), &["import-grants", "no-such-file.csv"], &[]),
        "kan ikke lese no-such-file.csv",
    );
    assert_clear_failure(
        &samling(dir.path(), &["--config", "missing.toml", "migrate"], &[]),
        "configuration file missing.toml does not exist",
    );
    assert_clear_failure(
        &samling(dir.path(), &["migrate"], &[("SAMLING_SMTP_PORT", "many")]),
        "configuration is invalid",
    );
    assert_clear_failure(
        &samling(dir.path(), &["create-admin", "not-an-address"], &[]),
        "Skriv inn en gyldig e-postadresse",
    );
    let unreachable = samling(
        dir.path(),
        &["migrate"],
        &[("SAMLING_DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/samling")],
    );
    assert_clear_failure(
        &unreachable,
        "cannot connect to the database at postgres://nobody:***@127.0.0.1:1/samling",
    );
    assert!(!text(&unreachable.stderr).contains("secret"));
}

#[test]
fn production_refuses_to_start_without_a_signing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let production = [
        ("SAMLING_ENVIRONMENT", "production"),
        ("SAMLING_PUBLIC_URL", "https://samling.example.no"),
    ];
    assert_clear_failure(&samling(dir.path(), &["serve"], &production), "SAMLING_SIGNING_SECRET");
    let with_http = [
        ("SAMLING_ENVIRONMENT", "production"),
        ("SAMLING_SIGNING_SECRET", &"s".repeat(40)),
    ];
    assert_clear_failure(&samling(dir.path(), &["serve"], &with_http), "https://");
}

#[test]
fn settings_come_from_a_toml_file_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("samling.toml"),
        "database_url = \"sqlite://from-file.sqlite?mode=rwc\"\n",
    )
    .unwrap();
    let from_file = samling(dir.path(), &["--config", "samling.toml", "migrate"], &[]);
    assert!(from_file.status.success(), "{}", text(&from_file.stderr));
    assert!(dir.path().join("from-file.sqlite").is_file());
    let from_env = samling(
        dir.path(),
        &["--config", "samling.toml", "migrate"],
        &[("SAMLING_DATABASE_URL", "sqlite://from-env.sqlite?mode=rwc")],
    );
    assert!(from_env.status.success(), "{}", text(&from_env.stderr));
    assert!(dir.path().join("from-env.sqlite").is_file());
}

#[test]
fn the_command_line_speaks_the_chosen_language() {
    let dir = tempfile::tempdir().unwrap();
    let english = samling(
        dir.path(),
        &["create-admin", "admin@example.no"],
        &[("SAMLING_LANGUAGE", "en")],
    );
    assert!(english.status.success(), "{}", text(&english.stderr));
    assert!(text(&english.stdout).contains("is ready"), "{}", text(&english.stdout));
    let nynorsk = samling(dir.path(), &["--language", "nn", "import-grants", "missing.csv"], &[]);
    let stderr = text(&nynorsk.stderr);
    assert!(
        stderr.starts_with("samling: feil: kan ikkje lese missing.csv"),
        "{stderr}"
    );
    let unknown = samling(dir.path(), &["--language", "de", "migrate"], &[]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("nb, nn or en"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn create_admin_prints_a_one_time_sign_in_link() {
    let dir = tempfile::tempdir().unwrap();
    let output = samling(
        dir.path(),
        &["create-admin", "Admin@Example.no"],
        &[("SAMLING_PUBLIC_URL", "http://samling.test")],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("admin@example.no"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("http://samling.test/sign-in/link?token=")),
        "{stdout}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_with_demo_data_logs_json_with_request_ids_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_samling"))
        .args(["serve", "--demo"])
        .current_dir(dir.path())
        .env("SAMLING_BIND", format!("127.0.0.1:{port}"))
        .env("SAMLING_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !printed.contains("Samling kjører på") {
        assert!(Instant::now() < deadline, "the server did not start: {printed}");
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        printed.push_str(&line);
    }
    assert!(
        printed.contains("admin@example.no") && printed.contains("/sign-in/link?token="),
        "{printed}"
    );
    assert!(
        printed.contains("marte.fjeld@example.no") && printed.contains("eli.ekspert@example.no"),
        "{printed}"
    );
    // The demo speaks Bokmål, as the rest of the command line and the pages do.
    assert!(printed.contains("Demodata er lastet inn."), "{printed}");
    assert!(
        printed.contains("  administrator  ") && printed.contains("  fasilitator  "),
        "{printed}"
    );
    for english in ["Demo data loaded", "Sign-in links", "runs at", "facilitator "] {
        assert!(!printed.contains(english), "{english:?} in {printed}");
    }

    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let outbox = dir.path().join("data/outbox");
    assert!(outbox.is_dir(), "mail goes to ./data/outbox by default");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "a clean stop exits 0: {status}");
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    let request_log = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["span"]["path"] == "/readyz" || entry["path"] == "/readyz");
    let entry = request_log.unwrap_or_else(|| panic!("a JSON log line for the request: {logs}"));
    assert_eq!(
        entry["span"]["request_id"]
            .as_str()
            .or(entry["request_id"].as_str())
            .map(str::len),
        Some(36),
        "{entry}"
    );
    assert!(logs.contains("shutting down"), "{logs}");
}

#[test]
fn retention_run_prints_what_went_in_the_chosen_language() {
    let dir = tempfile::tempdir().unwrap();
    // The admin's fresh sign-in link is not due.
    let admin = samling(dir.path(), &["create-admin", "admin@example.no"], &[]);
    assert!(admin.status.success(), "{}", text(&admin.stderr));
    let help = text(&samling(dir.path(), &["--help"], &[]).stdout);
    assert!(help.contains("retention"), "{help}");

    let output = samling(dir.path(), &["retention", "run"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for line in [
        "Innloggingslenker slettet: 0",
        "Utgåtte invitasjoner slettet: 0",
        "Sendte e-poster slettet: 0",
        "Personer anonymisert: 0",
    ] {
        assert!(stdout.lines().any(|printed| printed == line), "{line:?} in {stdout}");
    }
    let english = samling(dir.path(), &["--language", "en", "retention", "run"], &[]);
    assert!(english.status.success(), "{}", text(&english.stderr));
    assert!(
        text(&english.stdout).contains("Sign-in links deleted: 0"),
        "{}",
        text(&english.stdout)
    );
}
