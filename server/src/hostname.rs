//! Hostnames, as keys' domain scopes and (later) custom domains name them: validated as DNS
//! names (or IPv4 literals, for deployments addressed by IP) and normalised — trimmed,
//! lower-cased, without a trailing dot — so that comparisons are plain string equality.

/// A hostname as the API takes it, for the spec: a DNS name of letters, digits and hyphens in
/// dot-separated labels (the last not all digits), or an IPv4 address; any case, an optional
/// trailing dot, at most 253 characters. The pattern is exactly what the server accepts.
#[derive(utoipa::ToSchema)]
#[schema(
    value_type = String,
    max_length = 254,
    pattern = r"^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\.?|(?=.{1,253}\.?$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*(?=[A-Za-z0-9-]*[A-Za-z-])[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)$",
    example = "go.example.com"
)]
#[allow(dead_code)]
pub struct Hostname(String);

/// Normalises and validates a hostname; the error says what is wrong, for a field error.
pub fn normalize(input: &str) -> Result<String, &'static str> {
    if input.trim() != input {
        return Err("must not start or end with whitespace");
    }
    let host = input.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err("must be a hostname, e.g. links.example.com");
    }
    if host.len() > 253 {
        return Err("must be at most 253 characters");
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(host);
    }
    for label in host.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err("must be a hostname: letters, digits and hyphens in dot-separated labels");
        }
    }
    if host.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err("must be a hostname, not a partial IP address");
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn hostnames_are_normalised() {
        assert_eq!(normalize("Links.Example.COM.").unwrap(), "links.example.com");
        assert_eq!(normalize("xn--bcher-kva.example").unwrap(), "xn--bcher-kva.example");
        assert_eq!(normalize("localhost").unwrap(), "localhost");
        assert_eq!(normalize("127.0.0.1").unwrap(), "127.0.0.1");
    }

    /// The spec's pattern (`Hostname`) accepts exactly what `normalize` accepts.
    #[test]
    fn the_spec_pattern_agrees_with_normalize() {
        let doc = crate::openapi::document();
        let schema = serde_json::json!({"pattern": doc["components"]["schemas"]["Hostname"]["pattern"]});
        let validator = jsonschema::validator_for(&schema).unwrap();
        let cases = [
            "go.example.com",
            "localhost",
            "127.0.0.1",
            "1.2.3.4.",
            "Links.Example.COM.",
            "xn--bcher-kva.example",
            "a-1.b",
            "",
            " x.com",
            "x.com ",
            "-bad.example",
            "bad-.example",
            "a..b",
            "under_score.example",
            "http://x.io",
            "x.io/path",
            "1.2.3",
            "01.2.3.4",
            "999.1.1.1",
            "1-2",
            "a.1",
            "é.example",
        ];
        let long_label = "a".repeat(64);
        let long_name = format!("{}.example", ["abcdefghij"; 25].join("."));
        for case in cases.iter().copied().chain([long_label.as_str(), long_name.as_str()]) {
            let spec = validator.is_valid(&serde_json::json!(case));
            assert_eq!(spec, normalize(case).is_ok(), "{case:?}: the spec says {spec}");
        }
    }

    #[test]
    fn non_hostnames_are_refused() {
        for bad in [
            "",
            "  ",
            " links.example.com",
            "-bad.example",
            "bad-.example",
            "a..b",
            "under_score.example",
            "http://x.io",
            "x.io/path",
            "1.2.3",
            &"a".repeat(64),
        ] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
    }
}
