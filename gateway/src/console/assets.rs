//! The console's stylesheet and script, compiled into the binary (the CSP allows no other).

use actix_web::HttpResponse;

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

pub async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(CSS)
}

pub async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(JS)
}
