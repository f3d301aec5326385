//! Markdown written by people (agendas, recaps) as safe HTML: rendered with pulldown-cmark,
//! then cleaned with ammonia, so no script, style or event handler survives; links get
//! `rel="nofollow noopener"`.

use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, TagEnd, html};

/// Built once: a new builder fills its tag and attribute sets again, on every post.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("nofollow noopener"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect());
    builder
});

pub fn to_safe_html(markdown: &str) -> String {
    let mut unsafe_html = String::new();
    html::push_html(
        &mut unsafe_html,
        Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH),
    );
    SANITIZER.clean(&unsafe_html).to_string()
}

/// The words of a markdown text without its markup (HTML tags left out), for search and snippets.
pub fn to_plain_text(markdown: &str) -> String {
    let mut text = String::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Text(words) | Event::Code(words) => text.push_str(&words),
            Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::Heading(_)) => {
                text.push(' ')
            }
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_keeps_the_words_and_drops_markup_and_html() {
        let text =
            to_plain_text("## Matsvinn\n\n- **Veiing** av `avfall`\n- <b>rå html</b> [lenke](https://example.no)");
        assert_eq!(text, "Matsvinn Veiing av avfall rå html lenke");
    }

    #[test]
    fn markdown_becomes_html() {
        let html = to_safe_html("## Agenda\n\n- Velkommen\n- **Matsvinn** i kantiner");
        assert!(
            html.contains("<h2>Agenda</h2>") && html.contains("<strong>Matsvinn</strong>"),
            "{html}"
        );
    }

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let html = to_safe_html("<script>alert(1)</script><img src=x onerror=alert(2)>");
        assert!(!html.contains("<script") && !html.contains("onerror"), "{html}");
        let link = to_safe_html("[klikk](javascript:alert(3)) og <a href=\"javascript:alert(4)\">her</a>");
        assert!(!link.contains("href=\"javascript"), "{link}");
    }

    #[test]
    fn links_get_nofollow_noopener() {
        let html = to_safe_html("[Miljødirektoratet](https://www.miljodirektoratet.no)");
        assert!(html.contains(r#"rel="nofollow noopener""#), "{html}");
    }
}
