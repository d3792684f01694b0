//! Hostnames, as keys' domain scopes and (later) custom domains name them: validated as DNS
//! names (or IPv4 literals, for deployments addressed by IP) and normalised — trimmed,
//! lower-cased, without a trailing dot — so that comparisons are plain string equality.

/// Normalises and validates a hostname; the error says what is wrong, for a field error.
pub fn normalize(input: &str) -> Result<String, &'static str> {
    let host = input.trim().trim_end_matches('.').to_ascii_lowercase();
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
        assert_eq!(normalize(" Links.Example.COM. ").unwrap(), "links.example.com");
        assert_eq!(normalize("xn--bcher-kva.example").unwrap(), "xn--bcher-kva.example");
        assert_eq!(normalize("localhost").unwrap(), "localhost");
        assert_eq!(normalize("127.0.0.1").unwrap(), "127.0.0.1");
    }

    #[test]
    fn non_hostnames_are_refused() {
        for bad in [
            "",
            "  ",
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
