//! E-mail addresses as Samling stores them: trimmed and lower-cased.

/// Returns the normalised address, or `None` when it cannot be an address.
pub fn normalize_email(input: &str) -> Option<String> {
    let address = input.trim().to_lowercase();
    let (local, domain) = address.split_once('@')?;
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && address.len() <= 254
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == '"' || c == ',');
    plausible.then_some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Kari.Nordmann@Example.no "),
            Some("kari.nordmann@example.no".into())
        );
    }

    #[test]
    fn implausible_addresses_are_refused() {
        for bad in [
            "",
            "kari",
            "@example.no",
            "kari@",
            "kari@no",
            "kari@@example.no",
            "kari nordmann@example.no",
            "a@b.no,c@d.no",
            "<a@b.no>",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }
}
