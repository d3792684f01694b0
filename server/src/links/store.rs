//! Link queries, written once for both databases. Every read is scoped to the organisation
//! and, for domain-scoped keys, to the key's domains.

use chrono::NaiveDate;

use crate::db::{BeginWrite, Db, StoreError, placeholders};
use crate::dispatch;
use crate::events::{EventType, NewEvent};
use crate::http::Pagination;
use crate::time::Timestamp;

/// The row's columns, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, organization_id, domain, slug, url, title, tags, expires_at, clicks, created_at, updated_at, version"
    };
}

/// A link row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: String,
    pub organization_id: String,
    pub domain: String,
    pub slug: String,
    pub url: String,
    pub title: Option<String>,
    pub tags: String,
    pub expires_at: Option<Timestamp>,
    pub clicks: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl LinkRow {
    pub fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

/// The lower-cased text search looks in. Lower-cased here, in Rust, so that both databases
/// match alike (SQLite's `LOWER` knows only ASCII).
pub fn search_text(title: Option<&str>, url: &str, slug: &str) -> String {
    format!("{}\n{}\n{}", title.unwrap_or(""), url, slug).to_lowercase()
}

pub fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).expect("strings serialise")
}

/// The values of a link to insert or overwrite.
pub struct LinkValues<'a> {
    pub domain: &'a str,
    pub slug: &'a str,
    pub url: &'a str,
    pub title: Option<&'a str>,
    pub tags: &'a [String],
    pub expires_at: Option<Timestamp>,
}

/// A link to create. Without a chosen slug, one is generated.
pub struct NewLink<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub domain: &'a str,
    /// The slug asked for; `None`: generate one.
    pub slug: Option<&'a str>,
    pub url: &'a str,
    pub title: Option<&'a str>,
    pub tags: &'a [String],
    pub expires_at: Option<Timestamp>,
    pub at: Timestamp,
}

impl NewLink<'_> {
    /// A generated slug that collides (astronomically rare) is drawn again; a chosen one is
    /// tried once.
    pub(crate) fn attempts(&self) -> usize {
        if self.slug.is_some() { 1 } else { 5 }
    }

    pub(crate) fn slug(&self) -> String {
        self.slug.map_or_else(super::generate_slug, str::to_owned)
    }
}

/// The one link insert: nothing when the slug is taken on the domain (`ON CONFLICT DO
/// NOTHING`), else the stored row.
pub(crate) const INSERT: &str = concat!(
    "INSERT INTO links (id, organization_id, domain, slug, url, title, tags, search_text, \
     expires_at, clicks, created_at, updated_at, version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10, 1) ON CONFLICT DO NOTHING RETURNING ",
    columns!()
);

/// Inserts `$new` ([`NewLink`]) in the transaction `$tx`, drawing generated slugs again on a
/// collision: `Result<Option<LinkRow>, sqlx::Error>`, `None` when the slug is taken. For
/// [`insert`] and the import, in their own transactions on either backend.
macro_rules! insert_link {
    ($tx:expr, $new:expr) => {
        async {
            let new: &$crate::links::store::NewLink<'_> = $new;
            let tags = $crate::links::store::tags_json(new.tags);
            for _ in 0..new.attempts() {
                let slug = new.slug();
                let row = sqlx::query_as::<_, $crate::links::store::LinkRow>($crate::links::store::INSERT)
                    .bind(new.id)
                    .bind(new.organization_id)
                    .bind(new.domain)
                    .bind(&slug)
                    .bind(new.url)
                    .bind(new.title)
                    .bind(&tags)
                    .bind($crate::links::store::search_text(new.title, new.url, &slug))
                    .bind(new.expires_at)
                    .bind(new.at)
                    .fetch_optional(&mut *$tx)
                    .await?;
                if row.is_some() {
                    return Ok::<_, sqlx::Error>(row);
                }
            }
            Ok(None)
        }
        .await
    };
}
pub(crate) use insert_link;

const SLUG_TAKEN: &str = "This slug is already used by a live link on this domain.";

/// Creates a link and its `link.created` event, in one transaction; 409 when its chosen slug
/// is taken.
pub async fn insert(db: &Db, new: &NewLink<'_>) -> Result<LinkRow, StoreError> {
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let Some(row) = insert_link!(tx, new)? else {
            return Err(StoreError::Conflict(SLUG_TAKEN.to_owned()));
        };
        let event = NewEvent::new(
            new.organization_id,
            EventType::LinkCreated,
            crate::events::data(&crate::events::LinkCreatedData {
                id: row.id.clone(),
                url: row.url.clone(),
                domain: row.domain.clone(),
                slug: row.slug.clone(),
                title: row.title.clone(),
                tags: row.tags(),
                expires_at: row.expires_at,
                created_at: row.created_at,
            }),
            new.at,
        );
        crate::insert_event!(&mut *tx, &event)?;
        tx.commit().await?;
        Ok(row)
    })
}

/// A live (not deleted) link of the organisation.
pub async fn get(db: &Db, organization_id: &str, id: &str) -> Result<Option<LinkRow>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM links WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL"
    );
    crate::db::optional_row::<LinkRow>(db, SQL, &[id, organization_id]).await
}

/// The filters of a list.
pub struct ListFilter<'a> {
    pub search: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub tag: Option<&'a str>,
    /// The key's domain scope; empty: all.
    pub scope: &'a [String],
}

pub async fn list(
    db: &Db,
    organization_id: &str,
    filter: &ListFilter<'_>,
    page: Pagination,
) -> Result<(Vec<LinkRow>, u64), StoreError> {
    let mut clauses = vec!["organization_id = $1".to_owned(), "deleted_at IS NULL".to_owned()];
    let mut params: Vec<String> = vec![organization_id.to_owned()];
    if let Some(search) = filter.search {
        params.push(format!("%{}%", crate::db::like_escape(&search.to_lowercase())));
        clauses.push(format!("search_text LIKE ${} ESCAPE '\\'", params.len()));
    }
    if let Some(domain) = filter.domain {
        params.push(domain.to_owned());
        clauses.push(format!("domain = ${}", params.len()));
    }
    if let Some(tag) = filter.tag {
        // Tags are stored as a JSON array of strings that cannot contain quotes, so the
        // quoted tag matches exactly one element.
        params.push(crate::db::json_element_pattern(tag));
        clauses.push(format!("tags LIKE ${} ESCAPE '\\'", params.len()));
    }
    if !filter.scope.is_empty() {
        clauses.push(format!("domain IN ({})", placeholders(params.len() + 1, filter.scope.len())));
        params.extend(filter.scope.iter().cloned());
    }
    let filter_sql = clauses.join(" AND ");
    let n = params.len();
    let list_sql = format!(
        "{} {filter_sql} ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
        concat!("SELECT ", columns!(), " FROM links WHERE"),
        n + 1,
        n + 2
    );
    let count_sql = format!("SELECT COUNT(*) FROM links WHERE {filter_sql}");
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    crate::db::page(db, &list_sql, &count_sql, &params, page).await
}

/// Overwrites a link's values if it is still at `version`: the row as it now is, or `None`
/// when it moved on (or was deleted) meanwhile.
pub async fn update(
    db: &Db,
    organization_id: &str,
    id: &str,
    version: i64,
    values: &LinkValues<'_>,
    at: Timestamp,
) -> Result<Option<LinkRow>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE links SET domain = $1, slug = $2, url = $3, title = $4, tags = $5, search_text = $6, \
         expires_at = $7, updated_at = $8, version = version + 1 \
         WHERE id = $9 AND organization_id = $10 AND version = $11 AND deleted_at IS NULL RETURNING ",
        columns!()
    );
    let tags = tags_json(values.tags);
    let search = search_text(values.title, values.url, values.slug);
    dispatch!(db, |pool| sqlx::query_as::<_, LinkRow>(SQL)
        .bind(values.domain)
        .bind(values.slug)
        .bind(values.url)
        .bind(values.title)
        .bind(&tags)
        .bind(&search)
        .bind(values.expires_at)
        .bind(at)
        .bind(id)
        .bind(organization_id)
        .bind(version)
        .fetch_optional(pool)
        .await)
    .map_err(|e| StoreError::on_unique(e, SLUG_TAKEN))
}

/// Soft-deletes a link: the row stays (with `deleted_at`), the slug becomes free; the
/// `link.deleted` event is written in the same transaction.
pub async fn soft_delete(
    db: &Db,
    organization_id: &str,
    id: &str,
    expected_version: Option<i64>,
    at: Timestamp,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE links SET deleted_at = $1, updated_at = $1, version = version + 1 \
         WHERE id = $2 AND organization_id = $3 AND deleted_at IS NULL AND ($4 IS NULL OR version = $4) \
         RETURNING domain, slug";
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let deleted: Option<(String, String)> = sqlx::query_as(SQL)
            .bind(at)
            .bind(id)
            .bind(organization_id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((domain, slug)) = deleted else { return Ok(false) };
        let event = NewEvent::new(
            organization_id,
            EventType::LinkDeleted,
            crate::events::data(&crate::events::LinkDeletedData {
                id: id.to_owned(),
                domain,
                slug,
                deleted_at: at,
            }),
            at,
        );
        crate::insert_event!(&mut *tx, &event)?;
        tx.commit().await?;
        Ok::<_, StoreError>(true)
    })
}

/// The live link at `domain`/`slug` (expired or not): its id, destination and expiry.
pub async fn resolve_live(
    db: &Db,
    domain: &str,
    slug: &str,
) -> Result<Option<(String, String, Option<Timestamp>)>, StoreError> {
    const SQL: &str =
        "SELECT id, url, expires_at FROM links WHERE domain = $1 AND slug = $2 AND deleted_at IS NULL";
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, (String, String, Option<Timestamp>)>(SQL)
        .bind(domain)
        .bind(slug)
        .fetch_optional(pool)
        .await)?)
}

/// Clicks per day of a link between two days, inclusive, from the daily roll-up.
pub async fn daily_clicks(
    db: &Db,
    link_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, i64)>, StoreError> {
    const SQL: &str = "SELECT day, clicks FROM link_clicks_daily WHERE link_id = $1 AND day >= $2 AND day <= $3 ORDER BY day";
    let (from, to) = (from.format("%Y-%m-%d").to_string(), to.format("%Y-%m-%d").to_string());
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, (String, i64)>(SQL)
        .bind(link_id)
        .bind(&from)
        .bind(&to)
        .fetch_all(pool)
        .await)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(crate::db::like_escape("50%_off\\"), "50\\%\\_off\\\\");
    }

    #[test]
    fn search_text_is_lower_case_even_beyond_ascii() {
        assert_eq!(search_text(Some("ÉTÉ Sale"), "https://X.io", "Slug"), "été sale\nhttps://x.io\nslug");
    }
}
