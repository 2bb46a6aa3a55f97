//! Server-rendered pages (askama). For now the landing page; the hosted onboarding pages
//! arrive with their issue and share `templates/base.html` and the one stylesheet.

use actix_web::{get, HttpResponse};
use askama::Template;
use askama_web::WebTemplate;

/// The one stylesheet, compiled in: no CDN, no files to deploy beside the binary.
const STYLESHEET: &str = include_str!("../../../templates/static/agora.css");

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub version: &'static str,
}

#[get("/")]
pub async fn index() -> IndexPage {
    IndexPage {
        version: env!("CARGO_PKG_VERSION"),
    }
}

#[get("/static/agora.css")]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(STYLESHEET)
}
