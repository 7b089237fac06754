//! Headers every answer carries, so a browser never guesses a type, leaks
//! a URL, frames the app or caches an answer meant for one user.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

/// The browser app loads its scripts, styles and data from its own origin
/// and talks to `/ws` (`ws:`/`wss:`: `'self'` does not cover a WebSocket
/// URL in every browser); its only image is the empty `data:` favicon that
/// stops a request for `/favicon.ico`. Nothing may frame it, embed plugins
/// or move its base URL. No `'unsafe-inline'`: an injected script cannot run.
pub const CONTENT_SECURITY: &str = "default-src 'self'; connect-src 'self' ws: wss:; \
     img-src 'self' data:; frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

/// How the browser app's static files may be cached: kept, but checked
/// for a new version on every use (they are not content-hashed).
pub const STATIC_CACHING: HeaderValue = HeaderValue::from_static("no-cache");

/// Adds the security headers to an answer. API answers (everything that
/// did not set its own `Cache-Control`, i.e. all but static files) are
/// `no-store`: they hold a user's balances and tokens.
pub async fn security_headers(mut response: Response) -> Response {
    add(response.headers_mut());
    response
}

fn add(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY),
    );
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_not_stored_unless_they_say_otherwise() {
        let mut api = HeaderMap::new();
        add(&mut api);
        assert_eq!(api[CACHE_CONTROL], "no-store");
        assert_eq!(api[X_CONTENT_TYPE_OPTIONS], "nosniff");
        let mut file = HeaderMap::new();
        file.insert(CACHE_CONTROL, STATIC_CACHING);
        add(&mut file);
        assert_eq!(file[CACHE_CONTROL], "no-cache");
        assert!(
            file[CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
}
