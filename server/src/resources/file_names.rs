//! The name a file is stored and served under: the uploader's, with the extension of the type
//! its content shows, so that a file is what its name says when it is downloaded and opened.

/// Extensions that name the same type as the extension the content detection gives (the first
/// of each row), and are kept when the uploader used them. Office templates are in the same
/// container as their documents and are detected as them.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("jpg", &["jpeg", "jpe", "jfif"]),
    ("tif", &["tiff"]),
    ("doc", &["dot"]),
    ("xls", &["xlt"]),
    ("ppt", &["pps", "pot"]),
    ("docx", &["dotx"]),
    ("xlsx", &["xltx"]),
    ("pptx", &["ppsx", "potx"]),
];

/// The most characters a file name keeps.
pub const MAX_FILE_NAME_CHARS: usize = 200;
/// An extension is at most this long; a longer "extension" is part of the name.
const MAX_EXTENSION_CHARS: usize = 8;

/// `name` with the extension `detected` (as the content detection names it: `pdf`, `jpg`,
/// `docx` …). A name whose extension already names that type, in any case or as a synonym
/// (`.jpeg` for `jpg`), keeps it; another extension is replaced (`poly.html` → `poly.pdf`);
/// a name without one gets it (`rapport` → `rapport.pdf`, `Rapport 1.5` → `Rapport 1.5.pdf`).
/// The result keeps to [`MAX_FILE_NAME_CHARS`], shortening the stem.
pub fn name_for_type(name: &str, detected: &str) -> String {
    let detected = detected.to_ascii_lowercase();
    let name = name.trim().trim_end_matches('.');
    let (stem, extension) = split_extension(name);
    if let Some(extension) = extension
        && names_type(extension, &detected)
    {
        return name.to_string();
    }
    let room = MAX_FILE_NAME_CHARS.saturating_sub(detected.chars().count() + 1);
    let stem: String = stem.chars().take(room).collect();
    let stem = stem.trim_end();
    if stem.is_empty() {
        return format!("file.{detected}");
    }
    format!("{stem}.{detected}")
}

/// The name without its extension, and the extension: what follows the last dot, when it is
/// short, of letters and digits with at least one letter, and something comes before the dot.
/// `Rapport 1.5` has none: `5` is a version, not a type.
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, extension))
            if !stem.is_empty()
                && (1..=MAX_EXTENSION_CHARS).contains(&extension.len())
                && extension.chars().all(|c| c.is_ascii_alphanumeric())
                && extension.chars().any(|c| c.is_ascii_alphabetic()) =>
        {
            (stem, Some(extension))
        }
        _ => (name, None),
    }
}

/// Whether `extension` names the type whose detected extension is `detected` (lower case).
fn names_type(extension: &str, detected: &str) -> bool {
    let extension = extension.to_ascii_lowercase();
    extension == detected
        || SYNONYMS
            .iter()
            .any(|(canonical, synonyms)| *canonical == detected && synonyms.contains(&extension.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_says_what_the_file_is_is_kept() {
        for (name, detected) in [
            ("Veileder matsvinn æøå.pdf", "pdf"),
            ("RAPPORT.PDF", "pdf"),
            ("bilde.jpeg", "jpg"),
            ("bilde.JPG", "jpg"),
            ("budsjett.xlsx", "xlsx"),
            ("notat.docx", "docx"),
            ("mal.dotx", "docx"),
            ("gammel.doc", "doc"),
            ("tall.xls", "xls"),
            ("lysark.pptx", "pptx"),
            ("notat.odt", "odt"),
            ("logo.png", "png"),
            ("foto.webp", "webp"),
        ] {
            assert_eq!(name_for_type(name, detected), name, "{name} as {detected}");
        }
    }

    #[test]
    fn a_name_that_says_another_type_gets_the_detected_one() {
        for (name, detected, expected) in [
            ("poly.html", "pdf", "poly.pdf"),
            ("x.svg", "png", "x.png"),
            ("Rapport.PDF.exe", "pdf", "Rapport.PDF.pdf"),
            ("notat.docx", "doc", "notat.doc"),
            ("tall.xlsx", "docx", "tall.docx"),
            ("makro.docm", "docx", "makro.docx"),
            ("bilde.jpg", "png", "bilde.png"),
            ("foto.png", "jpg", "foto.jpg"),
        ] {
            assert_eq!(name_for_type(name, detected), expected, "{name} as {detected}");
        }
    }

    #[test]
    fn a_name_without_an_extension_gets_one() {
        for (name, detected, expected) in [
            ("rapport", "pdf", "rapport.pdf"),
            ("Rapport 1.5", "pdf", "Rapport 1.5.pdf"),
            ("Notat 2026.03.01", "docx", "Notat 2026.03.01.docx"),
            ("rapport.", "pdf", "rapport.pdf"),
            (".pdf", "pdf", ".pdf.pdf"),
            ("Søknad.endelig versjon", "pdf", "Søknad.endelig versjon.pdf"),
            ("arkiv.tar.gzipfilen", "pdf", "arkiv.tar.gzipfilen.pdf"),
        ] {
            assert_eq!(name_for_type(name, detected), expected, "{name} as {detected}");
        }
    }

    #[test]
    fn a_long_name_keeps_its_new_extension_within_the_limit() {
        let long = format!("{}.html", "a".repeat(MAX_FILE_NAME_CHARS));
        let named = name_for_type(&long, "pdf");
        assert!(named.ends_with("a.pdf"), "{named}");
        assert_eq!(named.chars().count(), MAX_FILE_NAME_CHARS);
        let cut = "a".repeat(MAX_FILE_NAME_CHARS);
        assert_eq!(name_for_type(&cut, "pdf").chars().count(), MAX_FILE_NAME_CHARS);
    }

    #[test]
    fn what_the_content_detection_calls_a_polyglot_decides_its_name() {
        let mut pdf_then_html = b"%PDF-1.4\n".to_vec();
        pdf_then_html.extend_from_slice(b"<html><script>alert(1)</script></html>");
        let mut png_then_html = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png_then_html.extend_from_slice(b"<svg><script>alert(1)</script></svg>");
        for (bytes, name, expected) in [
            (pdf_then_html, "poly.html", "poly.pdf"),
            (png_then_html, "x.svg", "x.png"),
        ] {
            let detected = infer::get(&bytes).expect("a known type").extension();
            assert_eq!(name_for_type(name, detected), expected);
        }
    }
}
