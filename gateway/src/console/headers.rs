//! The headers of every console answer: a strict Content-Security-Policy (scripts and styles only
//! from the console's own static files, nothing inline), no framing, no sniffing, no caching, and
//! the referrer only to this origin (`no-referrer` would make Chromium send `Origin: null` with
//! the console's own forms, which the CSRF check refuses).

use actix_web::middleware::DefaultHeaders;

/// No inline script or style, no plugin, forms post only to this origin, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn security() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CSP))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cache-Control", "no-store"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}
