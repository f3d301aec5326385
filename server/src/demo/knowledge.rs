//! The demo's resources, needs and offers, and lesson learned, in the food-waste cohort (where
//! the sample has finished projects to match a need with).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait};

use crate::entities::{cohort, grant, lesson, membership, project_profile, resource, theme};
use crate::error::AppResult;
use crate::resources::storage::Storage;
use crate::{projects, resources};

/// Needs and offers by project reference.
const PROFILES: [(&str, &str, &str); 3] = [
    (
        "2022-0118",
        "Vi trenger erfaringer med å redusere matsvinn på sykehjem, særlig hvordan kjøkkenet får med seg avdelingene.",
        "Et enkelt skjema for måling i hjemmetjenesten.",
    ),
    (
        "2022-0102",
        "",
        "Vi deler gjerne erfaringer med å redusere matsvinn i kommunale kjøkken, og avtalene våre med butikkene.",
    ),
    (
        "2022-0131",
        "Hjelp til å lage en opplæringsplan for barnehageansatte om matplanlegging.",
        "",
    ),
];

const LESSON: (&str, &str, &str) = (
    "2021-0412",
    "Matsvinnet gikk ned med en tredel da kjøkkenene veide matavfallet hver dag i fire uker. \
     Menyene ble kortere, og porsjonene ble tilpasset beboerne.",
    "Start med ett kjøkken, vei hver dag i fire uker, og del tallene med de ansatte hver uke.",
);

pub async fn load<C: TransactionTrait + sea_orm::ConnectionTrait>(
    db: &C,
    storage: &Storage,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(food_theme) = theme::Entity::find()
        .filter(theme::Column::Slug.eq("mat-og-matsvinn"))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let Some(food) = cohort::Entity::find()
        .filter(cohort::Column::ThemeId.eq(food_theme.id))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let members = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(food.id))
        .all(db)
        .await?;
    let Some(expert) = members.iter().find(|m| m.role == crate::domain::roles::Role::Expert) else {
        return Ok(());
    };
    let grants = grant::Entity::find().all(db).await?;
    let lead_of = |reference: &str| {
        let grant = grants.iter().find(|grant| grant.reference == reference)?;
        let lead = members.iter().find(|m| m.grant_id == Some(grant.id))?;
        Some((grant.id, lead.user_id))
    };

    let link = resource_row(food.id, expert.user_id, now - Duration::hours(40), resource::Kind::Link);
    resources::store(
        db,
        expert.user_id,
        resource::ActiveModel {
            title: Set("Veileder: slik måler dere matsvinn".to_string()),
            summary: Set("Trinn for trinn fra første veiing til tall dere kan sammenligne.".to_string()),
            tags: Set("matsvinn,måling".to_string()),
            url: Set(Some("https://example.no/veileder-matsvinn".to_string())),
            ..link
        },
    )
    .await?;
    let pdf = demo_pdf("Veieskjema for matsvinn: dato, kjokken, kilo kastet, arsak.");
    let key = uuid::Uuid::new_v4().simple().to_string();
    let mut incoming = storage.begin(&key).await?;
    incoming.write(&pdf).await?;
    incoming.keep().await?;
    let file = resource_row(food.id, expert.user_id, now - Duration::hours(39), resource::Kind::File);
    resources::store(
        db,
        expert.user_id,
        resource::ActiveModel {
            title: Set("Veieskjema".to_string()),
            summary: Set("Skjema for daglig veiing av matsvinn i kjøkkenet.".to_string()),
            tags: Set("matsvinn,skjema".to_string()),
            storage_key: Set(Some(key)),
            file_name: Set(Some("veieskjema.pdf".to_string())),
            content_type: Set(Some("application/pdf".to_string())),
            size_bytes: Set(Some(pdf.len() as i64)),
            ..file
        },
    )
    .await?;

    let txn = crate::db::write_transaction(db).await?;
    for (reference, needs, offers) in PROFILES {
        let Some((grant_id, lead)) = lead_of(reference) else {
            continue;
        };
        project_profile::ActiveModel {
            grant_id: Set(grant_id),
            needs: Set(needs.to_string()),
            offers: Set(offers.to_string()),
            updated_by: Set(lead),
            updated_at: Set(now - Duration::hours(30)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    projects::index_all_profiles(&txn).await?;
    let (reference, learned, tips) = LESSON;
    if let Some((grant_id, lead)) = lead_of(reference) {
        let written = lesson::ActiveModel {
            grant_id: Set(grant_id),
            cohort_id: Set(food.id),
            theme_id: Set(food_theme.id),
            learned: Set(learned.to_string()),
            tips: Set(tips.to_string()),
            author_id: Set(lead),
            created_at: Set(now - Duration::hours(28)),
            updated_at: Set(now - Duration::hours(28)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        projects::index_lesson(&txn, &written).await?;
    }
    txn.commit().await?;
    Ok(())
}

fn resource_row(cohort_id: i32, posted_by: i32, at: DateTime<Utc>, kind: resource::Kind) -> resource::ActiveModel {
    resource::ActiveModel {
        cohort_id: Set(cohort_id),
        session_id: Set(None),
        kind: Set(kind),
        title: Set(String::new()),
        summary: Set(String::new()),
        tags: Set(String::new()),
        url: Set(None),
        storage_key: Set(None),
        file_name: Set(None),
        content_type: Set(None),
        size_bytes: Set(None),
        posted_by: Set(posted_by),
        created_at: Set(at),
        ..Default::default()
    }
}

/// A one-page PDF with a line of text (ASCII, in the standard Helvetica font), with the
/// cross-reference table PDF readers need.
fn demo_pdf(line: &str) -> Vec<u8> {
    let text = line.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
    let content = format!("BT /F1 14 Tf 50 780 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let xref_at = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}
