//! The documents the server publishes (the OpenAPI document, the llms files, the Postman
//! collection, the markdown pages), rendered once at start-up and held as bytes, each with
//! its gzip form and a strong `ETag` per form. A client that accepts gzip gets the compressed
//! bytes (`content-encoding: gzip`, `vary: accept-encoding`); a client that sends back the
//! `ETag` in `If-None-Match` gets 304 (see [`crate::http::conditional`]). Nothing is
//! compressed per request: serving a document costs a clone of a reference-counted buffer.

use std::collections::BTreeMap;
use std::io::Write as _;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One document, in both encodings.
pub struct Published {
    content_type: HeaderValue,
    identity: Bytes,
    gzip: Bytes,
    etag: HeaderValue,
    etag_gzip: HeaderValue,
}

impl Published {
    pub fn new(content_type: &'static str, body: String) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(body.as_bytes()).expect("writing to memory cannot fail");
        let gzip = encoder.finish().expect("writing to memory cannot fail");
        Self {
            content_type: HeaderValue::from_static(content_type),
            identity: Bytes::from(body),
            gzip: Bytes::from(gzip),
            etag: HeaderValue::from_str(&format!("\"{tag}\"")).expect("hex is a valid header value"),
            // A different encoding is a different representation: its own strong tag.
            etag_gzip: HeaderValue::from_str(&format!("\"{tag}-gzip\""))
                .expect("hex is a valid header value"),
        }
    }

    /// The document's bytes, uncompressed.
    pub fn bytes(&self) -> &Bytes {
        &self.identity
    }

    /// The answer to a GET with these request headers.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let (body, etag, encoding) = if accepts_gzip(request) {
            (self.gzip.clone(), &self.etag_gzip, Some(HeaderValue::from_static("gzip")))
        } else {
            (self.identity.clone(), &self.etag, None)
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(header::ETAG, etag.clone());
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        // Cached for a minute, then revalidated with the ETag (a 304 costs nothing).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, encoding);
        }
        (headers, body).into_response()
    }
}

/// Whether `Accept-Encoding` (RFC 9110 §12.5.3) admits gzip: `gzip`, `x-gzip` or `*`, with
/// a q-value above 0.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => gzip = Some(q > 0.0),
                "*" => any = Some(q > 0.0),
                _ => {}
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// Every published document, by the path it is served at.
#[derive(Default)]
pub struct Library {
    documents: BTreeMap<String, Published>,
}

impl Library {
    pub fn insert(&mut self, path: impl Into<String>, document: Published) {
        self.documents.insert(path.into(), document);
    }

    pub fn get(&self, path: &str) -> Option<&Published> {
        self.documents.get(path)
    }

    /// The paths of every document, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.documents.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        assert!(accept("gzip"));
        assert!(accept("br, gzip;q=0.8"));
        assert!(accept("*"));
        assert!(accept("x-gzip"));
        assert!(!accept("gzip;q=0"));
        assert!(!accept("br"));
        assert!(!accept("identity"));
        assert!(!accept("*, gzip;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn each_encoding_has_its_own_strong_tag() {
        let doc = Published::new("text/plain; charset=utf-8", "hello ".repeat(1000));
        let mut gzip = HeaderMap::new();
        gzip.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let compressed = doc.respond(&gzip);
        let plain = doc.respond(&HeaderMap::new());
        assert_eq!(compressed.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_ne!(compressed.headers()[header::ETAG], plain.headers()[header::ETAG]);
        assert!(doc.gzip.len() < doc.identity.len() / 10);
    }
}
