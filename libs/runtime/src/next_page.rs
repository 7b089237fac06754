//! The one way a paged answer names its next page: an RFC 8288
//! `Link: <target>; rel="next"` header (balances, the event log, stats).

use axum::http::HeaderValue;

/// The `Link` header value naming `target` (a path with its query) as the
/// next page. Targets are built from ids matching `[A-Za-z0-9_-]` and
/// numbers: nothing to escape; one that is not a valid header value gives
/// none rather than a broken header.
pub fn next_link(target: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("<{target}>; rel=\"next\"")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_named_in_rfc_8288_form() {
        let link = next_link("/stats?after=acc-9&limit=2");
        assert_eq!(
            link.as_ref().and_then(|v| v.to_str().ok()),
            Some("</stats?after=acc-9&limit=2>; rel=\"next\"")
        );
        assert_eq!(next_link("bad\nvalue"), None);
    }
}
