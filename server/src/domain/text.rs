//! The one rule for text people send: no control characters but line breaks and tabs.
//!
//! PostgreSQL cannot store NUL in text at all and SQLite can; other control characters are
//! never typed by a person, break mail headers and CSV exports, and hide text from readers.
//! The rule is applied once, where input enters the server, so both backends behave alike.

/// Whether the text holds a character the rule refuses: a control character (C0, DEL, C1)
/// other than line feed, carriage return (forms send line breaks as CR LF) and tab.
pub fn has_forbidden_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// The name of the first field of a JSON document (a key path such as `sessions[0].title`) whose
/// key or string value breaks the rule.
pub fn forbidden_in_json(value: &serde_json::Value) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(text) => has_forbidden_control(text),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(index, item)| {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(length);
                }
                found
            }),
            serde_json::Value::Object(fields) => fields.iter().any(|(key, item)| {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace(|c: char| c.is_control(), "\u{fffd}"));
                let found = has_forbidden_control(key) || walk(item, path);
                if !found {
                    path.truncate(length);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then_some(path)
}

/// The name of the first field of an url-encoded form or query whose name or value breaks the rule.
pub fn forbidden_in_form(encoded: &[u8]) -> Option<String> {
    form_urlencoded::parse(encoded)
        .find(|(name, value)| has_forbidden_control(name) || has_forbidden_control(value))
        .map(|(name, _)| name.replace(|c: char| c.is_control(), "\u{fffd}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_breaks_and_tabs_pass_other_controls_do_not() {
        assert!(!has_forbidden_control("Hei\r\nmed\ttab og æøå 🙂"));
        for bad in ["a\0b", "\u{7}", "\u{1b}[31m", "\u{7f}", "\u{85}", "\u{9f}"] {
            assert!(has_forbidden_control(bad), "{bad:?}");
        }
    }

    #[test]
    fn json_names_the_field_that_breaks_the_rule() {
        assert_eq!(forbidden_in_json(&json!({ "body": "fine", "n": 1 })), None);
        assert_eq!(
            forbidden_in_json(&json!({ "sessions": [{ "title": "ok" }, { "title": "nul\u{0}" }] })),
            Some("sessions[1].title".to_string())
        );
        assert_eq!(forbidden_in_json(&json!(["x", "\u{0}"])), Some("[1]".to_string()));
        assert!(forbidden_in_json(&json!({ "k\u{0}": 1 })).is_some());
    }

    #[test]
    fn forms_are_decoded_before_the_check() {
        assert_eq!(forbidden_in_form(b"title=Hei&body=a%0D%0Ab"), None);
        assert_eq!(forbidden_in_form(b"title=Hei&body=a%00b"), Some("body".to_string()));
    }
}
