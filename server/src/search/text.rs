//! Norwegian text analysis shared by indexing, querying, snippets and match suggestions:
//! words are split on anything that is not a letter or digit, lower-cased and reduced to
//! their Snowball stem, so "matsvinnet" and "matsvinn" meet.

use std::collections::HashSet;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static NORWEGIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Norwegian));

static STOP_WORDS: LazyLock<HashSet<String>> =
    LazyLock::new(|| stop_words::get("no").iter().map(|word| stem(word)).collect());

/// A word of a text, with where it stands.
struct Word<'a> {
    start: usize,
    text: &'a str,
}

fn words(text: &str) -> impl Iterator<Item = Word<'_>> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(move |word| Word {
            start: word.as_ptr() as usize - text.as_ptr() as usize,
            text: word,
        })
}

/// The Snowball stem, with a doubled final consonant made single: Snowball's Norwegian stemmer
/// leaves "sykehjemmene" as "sykehjemm" but "sykehjem" as it is, and Norwegian doubles the
/// consonant before an ending (as Snowball's Danish stemmer knows).
fn stem(word: &str) -> String {
    let mut stem = NORWEGIAN.stem(&word.to_lowercase()).into_owned();
    let mut last_two = stem.chars().rev().take(2);
    if let (Some(last), Some(before)) = (last_two.next(), last_two.next())
        && last == before
        && last.is_alphabetic()
        && !"aeiouyæøå".contains(last)
    {
        stem.pop();
    }
    stem
}

/// The stems of every word, in order, as the index stores them.
pub fn stems(text: &str) -> Vec<String> {
    words(text).map(|word| stem(word.text)).collect()
}

/// The distinct stems that say what a text is about: no stop words, no one-letter words.
pub fn content_stems(text: &str) -> HashSet<String> {
    words(text)
        .map(|word| stem(word.text))
        .filter(|stem| stem.chars().count() > 1 && !STOP_WORDS.contains(stem))
        .collect()
}

fn escape(text: &str) -> String {
    askama::filters::escape(text, askama::filters::Html)
        .map(|escaped| escaped.to_string())
        .unwrap_or_default()
}

/// `text` as HTML with the words whose stem is in `terms` wrapped in `<mark>`.
pub fn highlight(text: &str, terms: &HashSet<String>) -> String {
    let mut html = String::new();
    let mut written = 0;
    for word in words(text) {
        if terms.contains(&stem(word.text)) {
            let end = word.start + word.text.len();
            html.push_str(&escape(&text[written..word.start]));
            html.push_str("<mark>");
            html.push_str(&escape(word.text));
            html.push_str("</mark>");
            written = end;
        }
    }
    html.push_str(&escape(&text[written..]));
    html
}

/// Words shown before the first match in a snippet, and in all.
const SNIPPET_LEAD: usize = 8;
const SNIPPET_WORDS: usize = 30;

/// About thirty words of `text` around its first match, highlighted; "…" where it is cut.
pub fn snippet(text: &str, terms: &HashSet<String>) -> String {
    let all: Vec<Word> = words(text).collect();
    let first_match = all
        .iter()
        .position(|word| terms.contains(&stem(word.text)))
        .unwrap_or(0);
    let from = first_match.saturating_sub(SNIPPET_LEAD);
    let to = (from + SNIPPET_WORDS).min(all.len());
    if all.is_empty() {
        return String::new();
    }
    let start = if from == 0 { 0 } else { all[from].start };
    let end = if to == all.len() {
        text.len()
    } else {
        all[to - 1].start + all[to - 1].text.len()
    };
    let mut html = highlight(&text[start..end], terms);
    if start > 0 {
        html.insert_str(0, "… ");
    }
    if end < text.len() {
        html.push_str(" …");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflected_norwegian_words_share_a_stem() {
        assert_eq!(stem("matsvinnet"), stem("matsvinn"));
        assert_eq!(stem("kantinene"), stem("kantine"));
        assert_eq!(stem("sykehjemmet"), stem("sykehjem"));
        assert_eq!(stem("sykehjemmene"), stem("sykehjem"));
        assert_eq!(stem("kommunene"), stem("kommune"));
        assert_eq!(
            stems("Måling av MATSVINNET"),
            vec![stem("måling"), "av".to_string(), stem("matsvinn")]
        );
    }

    #[test]
    fn content_stems_leave_out_stop_words() {
        let stems = content_stems("Vi trenger hjelp med måling av matsvinn i sykehjem");
        assert!(stems.contains(&stem("matsvinn")) && stems.contains(&stem("sykehjem")));
        assert!(
            !stems.contains("av") && !stems.contains("i") && !stems.contains("med"),
            "{stems:?}"
        );
    }

    #[test]
    fn highlights_mark_inflected_matches_and_escape_the_rest() {
        let terms: HashSet<String> = [stem("matsvinn")].into();
        assert_eq!(
            highlight("Mindre matsvinnet <i> kantina", &terms),
            "Mindre <mark>matsvinnet</mark> &#60;i&#62; kantina"
        );
    }

    #[test]
    fn snippets_show_words_around_the_first_match() {
        let terms: HashSet<String> = [stem("matsvinn")].into();
        let text = (1..=50).map(|n| format!("ord{n}")).collect::<Vec<_>>().join(" ") + " matsvinnet slutt";
        let snippet = snippet(&text, &terms);
        assert!(snippet.starts_with("… ord43 "), "{snippet}");
        assert!(snippet.contains("<mark>matsvinnet</mark> slutt"), "{snippet}");
        assert!(!snippet.ends_with('…'), "{snippet}");
    }
}
