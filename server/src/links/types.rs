//! The shapes of the link routes, and the validation of what callers send.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::Validation;

pub const MAX_URL_LEN: usize = 2048;
pub const MAX_TAGS: usize = 20;

/// A short link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Link {
    /// `lnk_…`
    #[schema(example = "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// Where the short link redirects.
    #[schema(example = "https://example.com/spring-sale?utm_source=newsletter")]
    pub url: String,
    /// The hostname the short link lives on.
    #[schema(example = "go.example.com")]
    pub domain: String,
    #[schema(example = "spring")]
    /// The path segment after `/r/`, unique on its domain among live links.
    pub slug: String,
    /// The short link itself.
    #[schema(example = "https://go.example.com/r/spring")]
    pub short_url: String,
    #[schema(example = "Spring sale")]
    /// A title for people; `null` when none.
    #[schema(required = true)]
    pub title: Option<String>,
    #[schema(example = json!(["newsletter", "2026"]))]
    /// Labels to find links by (`tag=` on the list).
    pub tags: Vec<String>,
    /// After this the link stops redirecting; `null`: never.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub expires_at: Option<DateTime<Utc>>,
    /// Redirects so far (counted within a second or so of each).
    #[schema(example = 42)]
    pub clicks: i64,
    /// When the link was created.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the link last changed.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; send it back in `If-Match` to update safely.
    #[schema(example = 1)]
    pub version: i64,
}

/// A new link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://example.com/spring-sale?utm_source=newsletter",
    "domain": "go.example.com",
    "slug": "spring",
    "title": "Spring sale",
    "tags": ["newsletter", "2026"]
}))]
pub struct CreateLinkRequest {
    /// An `http` or `https` URL, at most 2048 characters.
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
    /// A hostname the organisation registered, or the deployment's default domain (the
    /// default when absent).
    #[schema(value_type = Option<crate::hostname::Hostname>)]
    pub domain: Option<String>,
    /// `[A-Za-z0-9_-]{1,64}`, unique on its domain among live links; generated when absent.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub slug: Option<String>,
    /// At most 200 characters.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// At most 20 tags of 1–50 letters, digits, spaces and `-_.:/`.
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<Tag>)]
    pub tags: Vec<String>,
    /// A future time after which the link stops redirecting.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Changes to a link. Absent fields stay; `null` clears `title` and `expires_at`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://example.com/summer-sale", "slug": "summer", "tags": ["newsletter"]}))]
pub struct UpdateLinkRequest {
    /// A new destination: an `http` or `https` URL, at most 2048 characters.
    #[schema(format = "uri", max_length = 2048)]
    pub url: Option<String>,
    /// Moves the link to another of the organisation's domains.
    #[schema(value_type = Option<crate::hostname::Hostname>)]
    pub domain: Option<String>,
    /// A new slug: `[A-Za-z0-9_-]{1,64}`, free on the link's domain.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "crate::http::extract::nullable")]
    #[schema(value_type = Option<String>)]
    /// A new title (at most 200 characters); `null` or empty clears it.
    pub title: Option<Option<String>>,
    /// The new tags, replacing the old: at most 20 of 1–50 letters, digits, spaces and `-_.:/`.
    #[schema(max_items = 20, value_type = Option<Vec<Tag>>)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::http::extract::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    /// A new expiry in the future; `null`: never expires.
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// The query of the link list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListLinksParams {
    /// How many items to return, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many items to skip: the next page starts at `offset + limit`.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    /// Case-insensitive text to find in the title, URL or slug.
    pub search: Option<String>,
    /// Only links on this hostname.
    #[param(value_type = Option<crate::hostname::Hostname>)]
    pub domain: Option<String>,
    /// Only links with this tag.
    pub tag: Option<String>,
}

/// The query of link stats.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// First day (UTC, `YYYY-MM-DD`), inclusive; default 29 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last day (UTC, `YYYY-MM-DD`), inclusive; default today.
    pub to: Option<NaiveDate>,
}

/// Clicks on one day.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DailyClicks {
    #[schema(value_type = String, format = Date, example = "2026-11-22")]
    /// The day (UTC).
    pub date: NaiveDate,
    /// Redirects on that day.
    #[schema(example = 12)]
    pub clicks: i64,
}

/// A link's clicks over a range of days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LinkStats {
    /// Clicks over the range.
    #[schema(example = 42)]
    pub total: i64,
    #[schema(value_type = String, format = Date)]
    /// The range's first day (UTC), inclusive.
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    /// The range's last day (UTC), inclusive.
    pub to: NaiveDate,
    /// One entry per day of the range, oldest first, days without clicks included.
    pub series: Vec<DailyClicks>,
}

/// An absolute `http` or `https` URL with a host, at most 2048 characters, without
/// surrounding whitespace — what the spec's `format: uri, maxLength: 2048` promises.
pub fn parse_http_url(input: &str) -> Result<url::Url, &'static str> {
    if input.is_empty() {
        return Err("must not be empty");
    }
    if input.trim() != input {
        return Err("must not start or end with whitespace");
    }
    if input.chars().count() > MAX_URL_LEN {
        return Err("must be at most 2048 characters");
    }
    match url::Url::parse(input) {
        Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") => Err("must be an http or https URL"),
        Ok(parsed) if parsed.host_str().is_none_or(str::is_empty) => Err("must name a host"),
        Ok(parsed) => Ok(parsed),
        Err(_) => Err("must be an absolute http or https URL"),
    }
}

/// Validates a destination URL.
pub fn check_url(v: &mut Validation, field: &str, input: &str) -> String {
    if let Err(message) = parse_http_url(input) {
        v.reject(field, message);
    }
    input.to_owned()
}

/// Slugs that would read as part of the platform, refused to avoid confusion.
pub const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "app",
    "assets",
    "dashboard",
    "docs",
    "healthz",
    "help",
    "login",
    "logout",
    "metrics",
    "openapi",
    "r",
    "readyz",
    "signup",
    "static",
    "support",
    "v1",
    "www",
];

/// Validates a slug.
pub fn check_slug(v: &mut Validation, slug: &str) {
    let well_formed = (1..=64).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        v.reject("slug", "must be 1–64 letters, digits, '-' or '_'");
    } else if RESERVED_SLUGS.contains(&slug.to_ascii_lowercase().as_str()) {
        v.reject("slug", "is reserved");
    }
}

/// Validates a title: trimmed; empty means none.
pub fn check_title(v: &mut Validation, title: Option<&str>) -> Option<String> {
    let title = title.map(str::trim).filter(|t| !t.is_empty())?;
    v.check(title.chars().count() <= 200, "title", "must be at most 200 characters");
    Some(title.to_owned())
}

/// A tag, as the schema describes it: 1–50 letters, digits, spaces and `-_.:/` (the alphabet
/// stays in prose: a `\p{L}` pattern is beyond some tools' regular expressions).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, min_length = 1, max_length = 50, example = "team:payments")]
#[allow(dead_code)]
pub struct Tag(String);

/// Validates tags: at most 50 characters as sent, 1–50 once trimmed, without duplicates.
pub fn check_tags(v: &mut Validation, tags: &[String]) -> Vec<String> {
    v.check(tags.len() <= MAX_TAGS, "tags", "must list at most 20 tags");
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for (i, raw) in tags.iter().enumerate() {
        let tag = raw.trim();
        let valid = raw.chars().count() <= 50
            && (1..=50).contains(&tag.chars().count())
            && tag.chars().all(|c| c.is_alphanumeric() || " -_.:/".contains(c));
        if !valid {
            v.reject(format!("tags[{i}]"), "must be 1–50 letters, digits, spaces or -_.:/");
        } else if !out.iter().any(|t| t == tag) {
            out.push(tag.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_or_https() {
        for good in ["https://example.com", "http://example.com/a?b=c#d", "https://xn--bcher-kva.example/ü"]
        {
            let mut v = Validation::new();
            check_url(&mut v, "url", good);
            assert!(v.finish().is_ok(), "{good}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        for bad in [
            "",
            "example.com",
            "ftp://example.com/x",
            "javascript:alert(1)",
            "mailto:a@b.c",
            "https://",
            long.as_str(),
        ] {
            let mut v = Validation::new();
            check_url(&mut v, "url", bad);
            assert!(v.finish().is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs_are_checked_and_reserved_words_refused() {
        for good in ["a", "spring-sale_2026", &"x".repeat(64)] {
            let mut v = Validation::new();
            check_slug(&mut v, good);
            assert!(v.finish().is_ok(), "{good}");
        }
        for bad in ["", "has space", "ünï", "a/b", &"x".repeat(65), "API", "docs"] {
            let mut v = Validation::new();
            check_slug(&mut v, bad);
            assert!(v.finish().is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_trimmed_deduplicated_and_checked() {
        let mut v = Validation::new();
        let tags = check_tags(&mut v, &[" a ".into(), "a".into(), "b c".into()]);
        v.finish().unwrap();
        assert_eq!(tags, ["a", "b c"]);
        let mut v = Validation::new();
        check_tags(&mut v, &["".into(), "quote\"".into(), "ok".into()]);
        let err = v.finish().unwrap_err();
        assert_eq!(err.field_errors().len(), 2);
    }
}
