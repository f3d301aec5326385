//! Translations (web/i18n/*.toml) and Norwegian formatting of amounts and dates.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Europe::Oslo;
use intl_pluralrules::{PluralCategory, PluralRuleType, PluralRules};
use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Norwegian Bokmål, the default.
    #[default]
    Nb,
    /// Norwegian Nynorsk.
    Nn,
    En,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Nb, Language::Nn, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::Nb => "nb",
            Language::Nn => "nn",
            Language::En => "en",
        }
    }

    /// Parses a stored or submitted language code; anything unknown is `None`.
    pub fn parse(code: &str) -> Option<Language> {
        match code.trim().to_ascii_lowercase().as_str() {
            "nb" | "no" | "nb-no" => Some(Language::Nb),
            "nn" | "nn-no" => Some(Language::Nn),
            "en" | "en-gb" | "en-us" => Some(Language::En),
            _ => None,
        }
    }
}

static TRANSLATIONS: LazyLock<HashMap<Language, HashMap<String, String>>> = LazyLock::new(|| {
    let sources = [
        (Language::Nb, include_str!("../../web/i18n/nb.toml")),
        (Language::Nn, include_str!("../../web/i18n/nn.toml")),
        (Language::En, include_str!("../../web/i18n/en.toml")),
    ];
    sources
        .into_iter()
        .map(|(language, source)| {
            let table: toml::Table = source
                .parse()
                .unwrap_or_else(|error| panic!("web/i18n/{}.toml is invalid: {error}", language.code()));
            let mut flat = HashMap::new();
            flatten("", &toml::Value::Table(table), &mut flat);
            (language, flat)
        })
        .collect()
});

fn flatten(prefix: &str, value: &toml::Value, out: &mut HashMap<String, String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, inner) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        toml::Value::String(text) => {
            out.insert(prefix.to_string(), text.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

static PLURAL_RULES: LazyLock<HashMap<Language, PluralRules>> = LazyLock::new(|| {
    Language::ALL
        .into_iter()
        .filter_map(|language| {
            let id: LanguageIdentifier = language.code().parse().ok()?;
            let rules = PluralRules::create(id, PluralRuleType::CARDINAL).ok()?;
            Some((language, rules))
        })
        .collect()
});

/// A number of things, for [`Tr::plural`]: any integer, also behind a reference (templates
/// pass them that way).
pub trait Count {
    fn count(&self) -> i64;
}

macro_rules! count_for {
    ($($kind:ty),*) => {$(
        impl Count for $kind {
            fn count(&self) -> i64 {
                i64::try_from(*self).unwrap_or(i64::MAX)
            }
        }
    )*};
}
count_for!(i32, i64, u32, u64, usize);

impl<T: Count + ?Sized> Count for &T {
    fn count(&self) -> i64 {
        (**self).count()
    }
}

/// Values for `{name}` placeholders: arrays, slices or vectors of `(name, value)` pairs, also
/// behind references (templates pass them that way).
pub trait Placeholders {
    fn each(&self, visit: &mut dyn FnMut(&str, &str));
}

impl<V: AsRef<str>> Placeholders for [(&str, V)] {
    fn each(&self, visit: &mut dyn FnMut(&str, &str)) {
        for (name, value) in self {
            visit(name, value.as_ref());
        }
    }
}

impl<V: AsRef<str>, const N: usize> Placeholders for [(&str, V); N] {
    fn each(&self, visit: &mut dyn FnMut(&str, &str)) {
        self.as_slice().each(visit);
    }
}

impl<V: AsRef<str>> Placeholders for Vec<(&str, V)> {
    fn each(&self, visit: &mut dyn FnMut(&str, &str)) {
        self.as_slice().each(visit);
    }
}

impl<T: Placeholders + ?Sized> Placeholders for &T {
    fn each(&self, visit: &mut dyn FnMut(&str, &str)) {
        (**self).each(visit);
    }
}

/// Translates for one reader; handed to every template as `tr`.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub language: Language,
}

impl Tr {
    pub fn new(language: Language) -> Self {
        Self { language }
    }

    /// The text for `key`, falling back to Bokmål, then to the key itself (a visible gap, not a crash).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        let lookup = |language: Language| TRANSLATIONS.get(&language).and_then(|map| map.get(key));
        match lookup(self.language).or_else(|| lookup(Language::Nb)) {
            Some(text) => text.as_str(),
            None => {
                tracing::warn!(key, "missing translation");
                key
            }
        }
    }

    /// Whether `key` has a text (in the reader's language or Bokmål).
    pub fn has(&self, key: &str) -> bool {
        [self.language, Language::Nb]
            .iter()
            .any(|language| TRANSLATIONS.get(language).is_some_and(|map| map.contains_key(key)))
    }

    /// The text for `key` with `{name}` placeholders filled in.
    pub fn f(&self, key: &str, args: &(impl Placeholders + ?Sized)) -> String {
        let mut text = self.t(key).to_string();
        args.each(&mut |name, value| {
            text = text.replace(&format!("{{{name}}}"), value);
        });
        text
    }

    pub fn code(&self) -> &'static str {
        self.language.code()
    }

    /// `1 200 000 kr` in Norwegian, `NOK 1,200,000` in English.
    pub fn amount(&self, kroner: impl Borrow<i64>) -> String {
        let kroner = *kroner.borrow();
        let digits = kroner.unsigned_abs().to_string();
        let separator = if self.language == Language::En { ',' } else { '\u{a0}' };
        let mut grouped = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index) % 3 == 0 {
                grouped.push(separator);
            }
            grouped.push(digit);
        }
        let sign = if kroner < 0 { "-" } else { "" };
        match self.language {
            Language::En => format!("NOK {sign}{grouped}"),
            _ => format!("{sign}{grouped}\u{a0}kr"),
        }
    }

    /// `mars 2021` for a month.
    pub fn month_year(&self, date: impl Borrow<NaiveDate>) -> String {
        let date = *date.borrow();
        format!("{} {}", self.month_name(date.month()), date.year())
    }

    /// `tirsdag 14. mars 2023 kl. 09:00` in Oslo time.
    pub fn date_time(&self, at: impl Borrow<DateTime<Utc>>) -> String {
        let local = at.borrow().with_timezone(&Oslo);
        let weekday_key = format!("weekday.{}", local.weekday().num_days_from_monday());
        let weekday = self.t(&weekday_key);
        let month = self.month_name(local.month());
        match self.language {
            Language::En => format!(
                "{weekday} {} {month} {} at {:02}:{:02}",
                local.day(),
                local.year(),
                local.hour(),
                local.minute()
            ),
            _ => format!(
                "{weekday} {}. {month} {} kl. {:02}:{:02}",
                local.day(),
                local.year(),
                local.hour(),
                local.minute()
            ),
        }
    }

    /// `tirsdag 14. mars 2023` (a calendar day, no time zone involved).
    pub fn date(&self, date: impl Borrow<NaiveDate>) -> String {
        let date = *date.borrow();
        let weekday = self
            .t(&format!("weekday.{}", date.weekday().num_days_from_monday()))
            .to_string();
        match self.language {
            Language::En => format!(
                "{weekday} {} {} {}",
                date.day(),
                self.month_name(date.month()),
                date.year()
            ),
            _ => format!(
                "{weekday} {}. {} {}",
                date.day(),
                self.month_name(date.month()),
                date.year()
            ),
        }
    }

    /// `tirsdag 14. mars 2023 kl. 09:00–12:00` in Oslo time.
    pub fn time_span(&self, start: impl Borrow<DateTime<Utc>>, end: impl Borrow<DateTime<Utc>>) -> String {
        let end = end.borrow().with_timezone(&Oslo);
        format!("{}–{:02}:{:02}", self.date_time(start), end.hour(), end.minute())
    }

    /// `4. januar 2027` (`4 January 2027`): a calendar day without its weekday, for lists and
    /// tables.
    pub fn short_date(&self, date: impl Borrow<NaiveDate>) -> String {
        let date = *date.borrow();
        let month = self.month_name(date.month());
        match self.language {
            Language::En => format!("{} {month} {}", date.day(), date.year()),
            _ => format!("{}. {month} {}", date.day(), date.year()),
        }
    }

    /// The text of `key` for `count` by the language's CLDR plural rules: the key's `one`,
    /// `other` (or `zero`, `two`, `few`, `many`) variant, `{count}` filled in. `other` is the
    /// fallback every plural key has.
    pub fn plural(&self, key: &str, count: impl Count) -> String {
        self.plural_f(key, count, &[] as &[(&str, &str)])
    }

    /// [`Tr::plural`] with more `{name}` placeholders.
    pub fn plural_f(&self, key: &str, count: impl Count, args: &(impl Placeholders + ?Sized)) -> String {
        let count = count.count();
        let category = PLURAL_RULES
            .get(&self.language)
            .and_then(|rules| rules.select(count).ok())
            .unwrap_or(PluralCategory::OTHER);
        let name = match category {
            PluralCategory::ZERO => "zero",
            PluralCategory::ONE => "one",
            PluralCategory::TWO => "two",
            PluralCategory::FEW => "few",
            PluralCategory::MANY => "many",
            PluralCategory::OTHER => "other",
        };
        let exact = format!("{key}.{name}");
        let has = |key: &str| {
            TRANSLATIONS
                .get(&self.language)
                .is_some_and(|map| map.contains_key(key))
        };
        let chosen = if has(&exact) { exact } else { format!("{key}.other") };
        let mut text = self.f(&chosen, args);
        text = text.replace("{count}", &count.to_string());
        text
    }

    /// `592 B`, `12 kB`, `1,4 MB`: a file size in decimal units (as file managers show them),
    /// one decimal below ten, with the language's decimal separator.
    pub fn file_size(&self, bytes: impl Borrow<i64>) -> String {
        let bytes = (*bytes.borrow()).max(0);
        if bytes < 1000 {
            return format!("{bytes}\u{a0}B");
        }
        // What the value rounds to decides the unit: 999 950 bytes are 1 MB, not 1000 kB.
        let rounded = |value: f64| {
            if value < 9.95 {
                (value * 10.0).round() / 10.0
            } else {
                value.round()
            }
        };
        let units = ["kB", "MB", "GB", "TB"];
        let mut value = bytes as f64 / 1000.0;
        let mut index = 0;
        while index + 1 < units.len() && rounded(value) >= 1000.0 {
            value /= 1000.0;
            index += 1;
        }
        let unit = units[index];
        let text = if value < 9.95 {
            format!("{:.1}", value)
        } else {
            format!("{:.0}", value)
        };
        let text = match self.language {
            Language::En => text,
            _ => text.replace('.', ","),
        };
        format!("{text}\u{a0}{unit}")
    }

    fn month_name(&self, month: u32) -> String {
        self.t(&format!("month.{month}")).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_language_has_every_key() {
        let nb: Vec<&String> = TRANSLATIONS[&Language::Nb].keys().collect();
        for language in [Language::Nn, Language::En] {
            let other = &TRANSLATIONS[&language];
            let missing: Vec<_> = nb.iter().filter(|key| !other.contains_key(**key)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", language.code());
            let extra: Vec<_> = other
                .keys()
                .filter(|key| !TRANSLATIONS[&Language::Nb].contains_key(*key))
                .collect();
            assert!(extra.is_empty(), "{} has keys Bokmål lacks: {extra:?}", language.code());
        }
    }

    /// Every key the templates and the code name literally, and every error code, has a text.
    #[test]
    fn every_key_in_use_is_translated() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut sources = Vec::new();
        let mut folders = vec![root.join("server/src"), root.join("web/templates")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if !path.ends_with("i18n.rs") {
                    sources.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        let nb = &TRANSLATIONS[&Language::Nb];
        let mut missing = Vec::new();
        for (file, text) in &sources {
            // t("key"), f("key", …) and error codes: invalid("code", …), code: "code", Conflict { code: "code" }.
            for (pattern, prefix) in [
                ("t(\"", ""),
                ("f(\"", ""),
                ("invalid(\"", "error."),
                ("code: \"", "error."),
            ] {
                for (index, _) in text.match_indices(pattern) {
                    // `tr.t(`, `page.f(`, `AppError::invalid(`, `code: ` (not `place_grant(`).
                    let before = text[..index].chars().last();
                    if prefix.is_empty() && before != Some('.') {
                        continue;
                    }
                    let rest = &text[index + pattern.len()..];
                    let key: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                        .collect();
                    let is_key = rest[key.len()..].starts_with('"')
                        && !key.is_empty()
                        && (prefix.is_empty() || !key.contains('.'));
                    // Row errors of the import are translated under `import.error.`.
                    let known =
                        nb.contains_key(&format!("{prefix}{key}")) || nb.contains_key(&format!("import.{prefix}{key}"));
                    if is_key && !known {
                        missing.push(format!("{file}: {prefix}{key}"));
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "untranslated: {missing:#?}");
    }

    #[test]
    fn amounts_use_norwegian_grouping() {
        assert_eq!(Tr::new(Language::Nb).amount(1_200_000), "1\u{a0}200\u{a0}000\u{a0}kr");
        assert_eq!(Tr::new(Language::Nb).amount(850), "850\u{a0}kr");
        assert_eq!(Tr::new(Language::En).amount(1_200_000), "NOK 1,200,000");
    }

    #[test]
    fn date_times_are_shown_in_oslo_time_across_daylight_saving() {
        let tr = Tr::new(Language::Nb);
        // 14 March 2023 is winter time (UTC+1), 14 June summer time (UTC+2).
        let winter = Utc.with_ymd_and_hms(2023, 3, 14, 8, 0, 0).unwrap();
        assert_eq!(tr.date_time(winter), "tirsdag 14. mars 2023 kl. 09:00");
        let summer = Utc.with_ymd_and_hms(2023, 6, 14, 7, 0, 0).unwrap();
        assert_eq!(tr.date_time(summer), "onsdag 14. juni 2023 kl. 09:00");
    }

    #[test]
    fn plurals_follow_each_languages_rules() {
        for (language, one, many) in [
            (Language::Nb, "1 prosjekt", "2 prosjekter"),
            (Language::Nn, "1 prosjekt", "2 prosjekt"),
            (Language::En, "1 project", "2 projects"),
        ] {
            let tr = Tr::new(language);
            assert_eq!(tr.plural("counted.projects", 1), one);
            assert_eq!(tr.plural("counted.projects", 2_usize), many);
            let none = 0_i64;
            let counted: &i64 = &none; // templates pass counts by reference
            assert_eq!(tr.plural("counted.projects", counted), many.replace('2', "0"));
            assert_eq!(tr.plural("counted.projects", 21_u64), many.replace('2', "21"));
        }
        // More placeholders than the count.
        assert_eq!(
            Tr::new(Language::Nb).plural_f("counted.new_replies", 1, &[("title", "Matsvinn")]),
            "Matsvinn: 1 nytt svar"
        );
        assert_eq!(
            Tr::new(Language::Nb).plural_f("counted.new_replies", 3, &[("title", "Matsvinn")]),
            "Matsvinn: 3 nye svar"
        );
    }

    #[test]
    fn every_plural_key_has_its_other_form() {
        for language in Language::ALL {
            for key in TRANSLATIONS[&language].keys() {
                if let Some(base) = key.strip_suffix(".one") {
                    let other = format!("{base}.other");
                    assert!(
                        TRANSLATIONS[&language].contains_key(&other),
                        "{}: {other}",
                        language.code()
                    );
                }
            }
        }
    }

    #[test]
    fn short_dates_in_each_language() {
        let day = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        assert_eq!(Tr::new(Language::Nb).short_date(day), "4. januar 2027");
        assert_eq!(Tr::new(Language::Nn).short_date(day), "4. januar 2027");
        assert_eq!(Tr::new(Language::En).short_date(day), "4 January 2027");
        assert_eq!(Tr::new(Language::Nb).date(day), "mandag 4. januar 2027");
        assert_eq!(Tr::new(Language::Nn).date(day), "måndag 4. januar 2027");
        assert_eq!(Tr::new(Language::En).date(day), "Monday 4 January 2027");
    }

    #[test]
    fn file_sizes_in_decimal_units_with_the_languages_separator() {
        let nb = Tr::new(Language::Nb);
        let nn = Tr::new(Language::Nn);
        let en = Tr::new(Language::En);
        assert_eq!(nb.file_size(592), "592\u{a0}B");
        assert_eq!(nb.file_size(0), "0\u{a0}B");
        assert_eq!(nb.file_size(999), "999\u{a0}B");
        assert_eq!(nb.file_size(1_000), "1,0\u{a0}kB");
        assert_eq!(nb.file_size(12_345), "12\u{a0}kB");
        assert_eq!(nb.file_size(999_950), "1,0\u{a0}MB");
        assert_eq!(nb.file_size(1_400_000), "1,4\u{a0}MB");
        assert_eq!(nn.file_size(1_400_000), "1,4\u{a0}MB");
        assert_eq!(en.file_size(1_400_000), "1.4\u{a0}MB");
        assert_eq!(nb.file_size(26_214_400), "26\u{a0}MB");
        assert_eq!(en.file_size(3_000_000_000), "3.0\u{a0}GB");
    }

    #[test]
    fn placeholders_are_filled() {
        let tr = Tr::new(Language::En);
        assert!(tr.f("import.error.bad_amount", &[("value", "12x")]).contains("12x"));
    }
}
