//! Resources: uploading real files through the API and getting them back. The checks that keep
//! a file out (its content, its size while it streams, its name) and who may download it.

use std::path::{Path, PathBuf};

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app, spawn_app_with};

/// A small, valid PDF with a binary line, so a changed byte would show.
fn sample_pdf() -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    pdf.extend_from_slice(
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
          2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
          3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n\
          trailer << /Root 1 0 R >>\n%%EOF\n",
    );
    pdf.extend((0..=255u8).cycle().take(4096));
    pdf
}

fn file_form(title: &str, file_name: &str, bytes: Vec<u8>) -> Form {
    Form::new()
        .text("title", title.to_string())
        .text("summary", "Erfaringer fra kantinen")
        .text("tags", "Matsvinn, kantine")
        .part("file", Part::bytes(bytes).file_name(file_name.to_string()))
}

async fn upload(app: &TestApp, token: &str, cohort_id: i64, form: Form) -> (u16, serde_json::Value) {
    let response = app
        .api
        .post(format!("{}/api/v1/cohorts/{cohort_id}/resources", app.address))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("the upload request");
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON answer");
    (status, body)
}

/// Every file under the storage folder, the folder for unfinished uploads included.
fn stored_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn an_uploaded_pdf_comes_back_byte_identical_to_members_only_and_as_an_attachment() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let circular = cohorts["sirkulaerokonomi"];
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let stranger = app
        .member_token(circular, "per@example.no", "Per", Role::ProjectLead)
        .await;
    let pdf = sample_pdf();

    let (status, posted) = upload(
        &app,
        &expert,
        food,
        file_form("Veileder", "Veileder matsvinn æøå.pdf", pdf.clone()),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["kind"], "file");
    assert_eq!(posted["content_type"], "application/pdf");
    assert_eq!(posted["file_name"], "Veileder matsvinn æøå.pdf");
    assert_eq!(posted["size_bytes"].as_u64(), Some(pdf.len() as u64));
    assert_eq!(posted["tags"], serde_json::json!(["kantine", "matsvinn"]));
    assert_eq!(posted["posted_by_name"], "Eva Ekspert");
    let stored = stored_files(&app.settings.files_dir);
    assert_eq!(stored.len(), 1, "one file kept: {stored:?}");
    let stored_name = stored[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        !stored_name.contains("Veileder"),
        "the stored name is the server's: {stored_name}"
    );

    let download = posted["download_url"].as_str().unwrap().to_string();
    let got = app
        .api
        .get(format!("{}{download}", app.address))
        .bearer_auth(&kari)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    let header = |name: &str| {
        got.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("content-security-policy").starts_with("sandbox"),
        "{}",
        header("content-security-policy")
    );
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''Veileder%20matsvinn%20%C3%A6%C3%B8%C3%A5.pdf"),
        "{disposition}"
    );
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf, "byte-identical");

    // Someone from another cohort: neither the resource nor its file exists for them.
    for path in [format!("/api/v1/resources/{}", posted["id"]), download.clone()] {
        let refused = app.get(&path, Some(&stranger)).await;
        assert_eq!(
            (refused.status.as_u16(), refused.code().as_str()),
            (404, "not_found"),
            "{path}"
        );
    }
    let listed = app.get(&format!("/api/v1/cohorts/{food}/resources"), Some(&kari)).await;
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    let not_listed = app
        .get(&format!("/api/v1/cohorts/{food}/resources"), Some(&stranger))
        .await;
    assert_eq!(not_listed.status.as_u16(), 404);
    let _ = admin;
}

#[tokio::test]
async fn a_file_is_listed_and_downloaded_under_the_extension_of_what_its_content_is() {
    let app = spawn_app().await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;
    let script = b"<html><body><script>alert(document.cookie)</script></body></html>";
    let mut pdf_then_html = b"%PDF-1.4\n".to_vec();
    pdf_then_html.extend_from_slice(script);
    let mut png_then_html = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    png_then_html.extend_from_slice(script);
    let jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec();
    let cases: [(&str, Vec<u8>, &str, &str); 4] = [
        ("poly.html", pdf_then_html, "application/pdf", "poly.pdf"),
        ("x.svg", png_then_html, "image/png", "x.png"),
        (
            "Rapport uten endelse",
            sample_pdf(),
            "application/pdf",
            "Rapport uten endelse.pdf",
        ),
        ("bilde.jpeg", jpeg, "image/jpeg", "bilde.jpeg"),
    ];
    for (name, bytes, content_type, expected) in cases {
        let (status, posted) = upload(&app, &expert, food, file_form("Fil", name, bytes)).await;
        assert_eq!(status, 201, "{name}: {posted}");
        assert_eq!(posted["content_type"], content_type, "{name}");
        assert_eq!(posted["file_name"], expected, "{name}: the listed name");
        let listed = app
            .get(&format!("/api/v1/resources/{}", posted["id"]), Some(&expert))
            .await
            .json();
        assert_eq!(listed["file_name"], expected, "{name}: the name read back");
        let got = app
            .api
            .get(format!("{}{}", app.address, posted["download_url"].as_str().unwrap()))
            .bearer_auth(&expert)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status().as_u16(), 200);
        let disposition = got
            .headers()
            .get("content-disposition")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let encoded = expected.replace(' ', "%20");
        assert!(
            disposition.contains(&format!("filename=\"{expected}\"")) && disposition.ends_with(&format!("''{encoded}")),
            "{name}: downloaded as {disposition}"
        );
    }
}

#[tokio::test]
async fn disguised_scripted_oversized_and_path_named_files_are_refused_and_leave_nothing() {
    let app = spawn_app_with(|settings| settings.resource_max_bytes = 1024 * 1024).await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;

    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>".to_vec();
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    let mut oversized = sample_pdf();
    oversized.resize(1024 * 1024 + 1, b'x');
    let cases: [(&str, Vec<u8>, u16, &str); 4] = [
        ("rapport.pdf", html, 422, "unsupported_file_type"),
        ("logo.svg", svg, 422, "unsupported_file_type"),
        ("stor.pdf", oversized, 413, "file_too_large"),
        ("../../etc/passwd.pdf", sample_pdf(), 422, "invalid_file_name"),
    ];
    for (name, bytes, status, code) in cases {
        let (got_status, problem) = upload(&app, &expert, food, file_form("Forsøk", name, bytes)).await;
        assert_eq!(
            (got_status, problem["code"].as_str().unwrap()),
            (status, code),
            "{name}: {problem}"
        );
        assert!(
            !problem["detail"].as_str().unwrap().is_empty(),
            "a sentence for people: {problem}"
        );
        assert_eq!(
            stored_files(&app.settings.files_dir),
            Vec::<PathBuf>::new(),
            "{name} left a file"
        );
    }
    let mut twice_the_limit = sample_pdf();
    twice_the_limit.resize(2 * 1024 * 1024, b'x');
    let (_, too_large) = upload(&app, &expert, food, file_form("Forsøk", "stor.pdf", twice_the_limit)).await;
    assert!(too_large["detail"].as_str().unwrap().contains("1 MiB"), "{too_large}");

    let listed = app
        .get(&format!("/api/v1/cohorts/{food}/resources"), Some(&expert))
        .await;
    assert_eq!(listed.json(), serde_json::json!([]), "no row for a refused upload");
}

#[tokio::test]
async fn links_must_be_http_and_only_experts_and_facilitators_post_unless_participants_are_allowed() {
    let app = spawn_app().await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let link = |url: &str| Form::new().text("title", "Klimasats").text("url", url.to_string());

    let (status, problem) = upload(&app, &expert, food, link("javascript:alert(1)")).await;
    assert_eq!((status, problem["code"].as_str().unwrap()), (422, "invalid_link"));
    let (status, posted) = upload(&app, &expert, food, link("https://www.miljodirektoratet.no/klimasats")).await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["kind"], "link");
    assert_eq!(posted["download_url"], serde_json::Value::Null);

    let (status, problem) = upload(&app, &kari, food, link("https://example.no")).await;
    assert_eq!((status, problem["code"].as_str().unwrap()), (403, "forbidden"));
    let (status, problem) = upload(&app, &expert, food, Form::new().text("title", "Tom")).await;
    assert_eq!((status, problem["code"].as_str().unwrap()), (422, "link_or_file"));

    // The facilitator opens posting to project leads; only the facilitator may.
    let admin = app.admin_token().await;
    let facilitator = app
        .facilitator_token(&admin, food, "frida@example.no", "Frida Fasilitator")
        .await;
    let open = serde_json::json!({ "participants_post": true });
    let settings = format!("/api/v1/cohorts/{food}/resource-settings");
    let refused = app.send_json(Method::PUT, &settings, Some(&expert), &open).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let opened = app.send_json(Method::PUT, &settings, Some(&facilitator), &open).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let (status, posted) = upload(&app, &kari, food, link("https://example.no/kari")).await;
    assert_eq!(status, 201, "{posted}");
    let audit = app.get("/api/v1/admin/audit", Some(&admin)).await.json();
    assert!(audit.to_string().contains("resources.participants_post"), "{audit}");
}

#[tokio::test]
async fn a_resource_is_deleted_by_its_poster_or_the_facilitator_with_its_file_and_search_entry() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;
    let other_expert = app
        .member_token(food, "ekspert2@example.no", "Erik Ekspert", Role::Expert)
        .await;
    let facilitator = app
        .facilitator_token(&admin, food, "frida@example.no", "Frida Fasilitator")
        .await;
    let (status, posted) = upload(&app, &expert, food, file_form("Veileder", "veileder.pdf", sample_pdf())).await;
    assert_eq!(status, 201, "{posted}");
    let id = posted["id"].as_i64().expect("an id");
    let (status, second) = upload(
        &app,
        &other_expert,
        food,
        file_form("Skjema", "skjema.pdf", sample_pdf()),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(stored_files(&app.settings.files_dir).len(), 2);
    let found = app
        .get("/api/v1/search?q=kantinen&kind=resource", Some(&expert))
        .await
        .json();
    assert_eq!(found.as_array().map(Vec::len), Some(2), "{found}");

    // Someone else's: refused, and nothing changes.
    let path = format!("/api/v1/resources/{id}");
    let refused = app
        .send_json(Method::DELETE, &path, Some(&other_expert), &serde_json::json!({}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path, Some(&expert)).await.status, StatusCode::OK);
    // Its poster's: the row, the file and the search entry go.
    let deleted = app
        .send_json(Method::DELETE, &path, Some(&expert), &serde_json::json!({}))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(app.get(&path, Some(&expert)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(stored_files(&app.settings.files_dir).len(), 1);
    let found = app
        .get("/api/v1/search?q=kantinen&kind=resource", Some(&expert))
        .await
        .json();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    // The facilitator deletes anyone's.
    let second_path = format!("/api/v1/resources/{}", second["id"]);
    let removed = app
        .send_json(Method::DELETE, &second_path, Some(&facilitator), &serde_json::json!({}))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert!(stored_files(&app.settings.files_dir).is_empty());
    let audit = app.get("/api/v1/admin/audit", Some(&admin)).await.json();
    assert_eq!(audit.to_string().matches("resources.delete").count(), 2, "{audit}");
}

#[tokio::test]
async fn the_theme_library_holds_every_cohort_of_the_theme_the_reader_is_in() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;
    let (status, posted) = upload(
        &app,
        &expert,
        food,
        Form::new().text("title", "Matvett").text("url", "https://example.no"),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    let all = app.get("/api/v1/cohorts", Some(&admin)).await.json();
    let theme_id = all
        .as_array()
        .expect("cohorts")
        .iter()
        .find(|cohort| cohort["id"] == food)
        .expect("the food cohort")["theme"]["id"]
        .clone();
    let library = app
        .get(&format!("/api/v1/themes/{theme_id}/resources"), Some(&expert))
        .await
        .json();
    assert_eq!(library[0]["title"], "Matvett", "{library}");
    let outsider = app
        .member_token(cohorts["sirkulaerokonomi"], "ut@example.no", "Ut", Role::Expert)
        .await;
    let hidden = app
        .get(&format!("/api/v1/themes/{theme_id}/resources"), Some(&outsider))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_s3_storage_a_file_goes_to_the_bucket_comes_back_and_is_deleted_there() {
    let s3 = samling_tests::s3::TestS3::start().await;
    let app = spawn_app_with(|settings| {
        settings.file_storage = samling::config::FileStorage::S3;
        settings.s3_bucket = s3.bucket.clone();
        settings.s3_endpoint = s3.endpoint.clone();
        settings.s3_access_key_id = "test".into();
        settings.s3_secret_access_key = samling::config::Secret::new("test");
        settings.resource_max_bytes = 1024 * 1024;
    })
    .await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;
    let pdf = sample_pdf();
    let (status, posted) = upload(&app, &expert, food, file_form("Veileder", "veileder.pdf", pdf.clone())).await;
    assert_eq!(status, 201, "{posted}");
    let keys = s3.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(s3.object(&keys[0]).await, pdf, "the bucket holds the file as uploaded");
    assert!(
        stored_files(&app.settings.files_dir).is_empty(),
        "nothing stays on local disk"
    );

    let download = app
        .api
        .get(app.url(posted["download_url"].as_str().expect("a download URL")))
        .bearer_auth(&expert)
        .send()
        .await
        .expect("downloaded");
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.expect("the file").to_vec(), pdf);

    // A refused file reaches neither the bucket nor the disk.
    let (status, problem) = upload(
        &app,
        &expert,
        food,
        file_form("Lure", "lure.pdf", b"<html>x</html>".to_vec()),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (422, "unsupported_file_type")
    );
    let mut too_large = sample_pdf();
    too_large.resize(1024 * 1024 + 1, b' ');
    let (status, _) = upload(&app, &expert, food, file_form("Stor", "stor.pdf", too_large)).await;
    assert_eq!(status, 413);
    assert_eq!(s3.keys().await.len(), 1);
    assert!(stored_files(&app.settings.files_dir).is_empty());

    let deleted = app
        .send_json(
            Method::DELETE,
            &format!("/api/v1/resources/{}", posted["id"]),
            Some(&expert),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert!(s3.keys().await.is_empty(), "the object is gone from the bucket");
}
