//! The hosted onboarding pages: server-rendered (askama), usable without JavaScript, in
//! English and Swedish. An account link (`/onboarding/link/{token}`) opens once and starts a
//! session (an HttpOnly cookie bound to the account and the link's type, collect and URLs);
//! the seller then walks through the steps that have something due and is sent to the
//! platform's `return_url`.
//!
//! Input goes through the same code as the API (`kyc::input::merge` via `apply_kyc`, the bank
//! account and file checks), so a value the API refuses is refused here with the same code,
//! shown next to its field. Every form carries a CSRF token (synchronizer token kept in the
//! session row, compared in constant time); every page gets a strict Content-Security-Policy
//! (no script at all, styles from our own origin only, no framing).

pub mod brand;
pub mod email;
pub mod steps;

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::body::MessageBody;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::web::BytesMut;
use actix_web::{web, HttpRequest, HttpResponse};
use agora_onboarding::accounts::{Account, AccountChanges, BusinessType};
use agora_onboarding::links::{self, session};
use askama::Template;
use chrono::Utc;
use futures_util::StreamExt;
use sea_orm::TransactionTrait;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use self::steps::{Due, FieldDef, Kind, Step};
use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::state::AppState;
use crate::domain::kyc::input::{
    BusinessProfileParams, CompanyParams, KycParams, PersonParams, TosAcceptanceParams,
};
use crate::domain::kyc::links as kyc_links;
use crate::domain::kyc::view::AccountObject;
use crate::infra::events::Origin;
use crate::infra::i18n::{Locale, Tr};
use crate::infra::wire::ids::{self, IdKind};

const COOKIE: &str = "agora_onboarding";
/// A session outlives its five-minute link: filling in the forms takes a while.
const SESSION_TTL_S: i64 = 3600;
/// Largest urlencoded form (the biggest page has about 20 short fields).
const FORM_LIMIT_BYTES: usize = 16 * 1024;
const MAX_FORM_FIELDS: usize = 64;
/// Longest value of one field, in characters (the validators have tighter limits).
const MAX_FIELD_CHARS: usize = 1000;
/// Largest multipart body: the 10 MB document plus the CSRF token and boundaries.
const UPLOAD_LIMIT_BYTES: usize = crate::domain::kyc::files::MAX_FILE_BYTES + 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/onboarding")
            // Inside security_headers, so the 429 page carries the same headers.
            .wrap(from_fn(limit_by_address))
            .wrap(from_fn(security_headers))
            .route("/brand.css", web::get().to(brand_css))
            .route("/link/{token}", web::get().to(open_link))
            .route("", web::get().to(start))
            .route("/{step}", web::get().to(show))
            .route("/{step}", web::post().to(submit)),
    );
}

pub use crate::domain::kyc::links::sweep;

/// The policy of every page: nothing executes, styles and images come from us (and the
/// logo's origin), nobody may frame us (clickjacking), no `<base>` tricks.
fn content_security_policy(state: &AppState) -> String {
    let logo_origin = state
        .config
        .branding_logo_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| format!(" {}", u.origin().ascii_serialization()))
        .unwrap_or_default();
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'{logo_origin}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Every page request counts against its client address (`ip_rate_limit_per_second`): each
/// one costs a session lookup, and link tokens must not be guessable at speed.
async fn limit_by_address(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        if let Some(ip) = state.client_limits.client_ip(req.request()) {
            if let Err(retry_after) = state
                .client_limits
                .pages
                .check(ip, std::time::Instant::now())
            {
                let locale = accept_language(req.request());
                metrics::counter!(
                    crate::infra::metrics::names::HTTP_RATE_LIMITED,
                    "limiter" => "page",
                    "key" => "",
                )
                .increment(1);
                let mut res = render_problem(
                    &state,
                    PageError {
                        problem: Problem::TooMany,
                        locale,
                    },
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                return Ok(req.into_response(res));
            }
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let csp = req
        .app_data::<web::Data<AppState>>()
        .map(|s| content_security_policy(s))
        .unwrap_or_else(|| "default-src 'none'; frame-ancestors 'none'".to_owned());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The link's token is in the URL: never send it anywhere as a referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages carry personal data and CSRF tokens: keep them out of caches.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn brand_css(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(brand::stylesheet(&state.config.branding_color))
}

// ---------------------------------------------------------------------------------------
// Errors shown as pages

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    /// No session, or it expired.
    Expired,
    /// CSRF token missing or wrong.
    Forbidden,
    NotFound,
    /// A step address that names no step (in a live session).
    NoStep,
    BadRequest,
    TooLarge,
    /// Over the per-address rate.
    TooMany,
    Internal,
    /// A live-mode page while live mode is refused (no operator-provided keys).
    Unavailable,
}

#[derive(Debug)]
struct PageError {
    problem: Problem,
    locale: Locale,
}

impl PageError {
    fn new(problem: Problem, locale: Locale) -> Self {
        Self { problem, locale }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        // ApiError::internal has logged the cause already when it made a 500.
        if e.status.is_server_error() {
            PageError::new(Problem::Internal, Locale::En)
        } else {
            tracing::warn!(code = e.code, "page request refused");
            PageError::new(Problem::BadRequest, Locale::En)
        }
    }
}

impl From<sea_orm::DbErr> for PageError {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::error!(error = %e, "database error on a page");
        PageError::new(Problem::Internal, Locale::En)
    }
}

// ---------------------------------------------------------------------------------------
// Views

pub struct ProgressItem {
    pub label: &'static str,
    /// `done`, `current` or `todo`, also the item's CSS class.
    pub state: &'static str,
    /// The state in words, for screen readers (the look says it to everyone else).
    pub state_label: &'static str,
    /// A finished step links back to itself, to change it.
    pub href: Option<String>,
}

/// One entry of the language list: every language the pages are translated into.
pub struct LangLink {
    pub code: &'static str,
    pub name: &'static str,
    /// Empty for the language shown (and on pages without a session, which cannot remember a
    /// choice).
    pub href: String,
}

/// What every page shares: language, branding, the language list, the footer's links.
pub struct Chrome {
    pub t: Tr,
    pub lang: &'static str,
    pub title: String,
    pub brand_name: String,
    pub logo_url: Option<String>,
    pub languages: Vec<LangLink>,
    pub progress: Vec<ProgressItem>,
    pub terms_url: Option<String>,
    pub privacy_url: Option<String>,
}

/// `switch_path`: the page's own path, to which `?lang=` is added; empty on pages without a
/// session.
fn chrome(state: &AppState, locale: Locale, title: String, switch_path: &str) -> Chrome {
    let t = Tr(locale);
    let languages = if switch_path.is_empty() {
        Vec::new()
    } else {
        Locale::ALL
            .into_iter()
            .map(|l| LangLink {
                code: l.code(),
                name: l.name(),
                href: if l == locale {
                    String::new()
                } else {
                    format!("{switch_path}?lang={}", l.code())
                },
            })
            .collect()
    };
    Chrome {
        t,
        lang: locale.code(),
        title,
        brand_name: state.config.branding_name.clone(),
        logo_url: state.config.branding_logo_url.clone(),
        languages,
        progress: Vec::new(),
        terms_url: state.config.terms_url.clone(),
        privacy_url: state.config.privacy_url.clone(),
    }
}

pub struct OptionView {
    pub id: String,
    pub value: String,
    pub label: &'static str,
    pub selected: bool,
}

pub struct FieldView {
    pub name: String,
    pub id: String,
    /// `text`, `email`, `tel`, `url`, `textarea`, `select`, `radio`, `checkbox`, `file`.
    pub kind: &'static str,
    pub label: String,
    pub hint: Option<String>,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
    /// Opens a `<fieldset>` with this legend (an owner's or director's row, a section).
    pub group: Option<String>,
    /// Closes the previous group's `<fieldset>` first.
    pub close_group_before: bool,
    pub required: bool,
    /// Says "(optional)" after the label (not in a row, whose legend says it).
    pub show_optional: bool,
    pub value: String,
    pub error: Option<String>,
    /// Ids of the hint and error, for `aria-describedby`.
    pub describedby: String,
    pub options: Vec<OptionView>,
}

#[derive(Template)]
#[template(path = "onboarding/step.html")]
struct StepPage {
    c: Chrome,
    step: &'static str,
    heading: String,
    intro: String,
    /// Links under the intro (the terms step: terms of service, privacy notice).
    intro_links: Vec<(String, &'static str)>,
    fields: Vec<FieldView>,
    /// The last group's `<fieldset>` is still open after the fields.
    close_group_at_end: bool,
    /// (field id, message) for the error summary.
    errors: Vec<(String, String)>,
    csrf: String,
    multipart: bool,
    submit_label: &'static str,
    /// Opened from the review's "Change": the form goes back there.
    back_to_review: bool,
}

/// One step's part of the review: its rows and the way back to change them.
pub struct ReviewGroup {
    pub title: String,
    pub change_href: Option<String>,
    /// Says which group a "Change" link changes, for screen readers.
    pub change_label: String,
    pub rows: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "onboarding/review.html")]
struct ReviewPage {
    c: Chrome,
    heading: String,
    groups: Vec<ReviewGroup>,
    missing: Vec<String>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "onboarding/message.html")]
struct MessagePage {
    c: Chrome,
    heading: String,
    body: String,
    /// A way on: (href, label).
    link: Option<(String, String)>,
}

fn html(status: StatusCode, body: Result<String, askama::Error>) -> HttpResponse {
    match body {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            HttpResponse::InternalServerError()
                .content_type("text/html; charset=utf-8")
                .body("<!doctype html><title>Error</title><p>Something went wrong.</p>")
        }
    }
}

fn render_problem(state: &AppState, e: PageError) -> HttpResponse {
    let (status, title, body) = match e.problem {
        Problem::Expired => (StatusCode::UNAUTHORIZED, "expired.title", "expired.body"),
        Problem::Forbidden => (StatusCode::FORBIDDEN, "forbidden.title", "forbidden.body"),
        Problem::NotFound => (StatusCode::NOT_FOUND, "notfound.title", "notfound.body"),
        Problem::NoStep => (StatusCode::NOT_FOUND, "nostep.title", "nostep.body"),
        Problem::BadRequest => (StatusCode::BAD_REQUEST, "forbidden.title", "forbidden.body"),
        Problem::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "forbidden.title",
            "err.file_too_large",
        ),
        Problem::TooMany => (StatusCode::TOO_MANY_REQUESTS, "busy.title", "busy.body"),
        Problem::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "forbidden.title",
            "forbidden.body",
        ),
        Problem::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable.title",
            "unavailable.body",
        ),
    };
    let t = Tr(e.locale);
    // A step that does not exist, in a live session: the way back into the flow.
    let link = (e.problem == Problem::NoStep)
        .then(|| ("/onboarding".to_owned(), t.s("nostep.link").to_owned()));
    let page = MessagePage {
        c: chrome(state, e.locale, t.s(title).to_owned(), ""),
        heading: t.s(title).to_owned(),
        body: t.s(body).to_owned(),
        link,
    };
    html(status, page.render())
}

fn finish(state: &AppState, result: Result<HttpResponse, PageError>) -> HttpResponse {
    result.unwrap_or_else(|e| render_problem(state, e))
}

// ---------------------------------------------------------------------------------------
// Sessions

fn accept_language(req: &HttpRequest) -> Locale {
    Locale::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn locale_of(req: &HttpRequest, session: &session::Model) -> Locale {
    session
        .locale
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or_else(|| accept_language(req))
}

async fn load_session(state: &AppState, req: &HttpRequest) -> Result<session::Model, PageError> {
    let expired = || PageError::new(Problem::Expired, accept_language(req));
    let token = req.cookie(COOKIE).ok_or_else(expired)?;
    // Our tokens are 43 characters; anything much longer is not worth a query.
    if token.value().len() > 128 {
        return Err(expired());
    }
    let session = links::find_session(&state.db, token.value(), Utc::now())
        .await?
        .ok_or_else(expired)?;
    if session.livemode && state.kyc.live_mode_refusal().is_some() {
        return Err(live_mode_unavailable(accept_language(req)));
    }
    Ok(session)
}

/// Live-mode pages while live mode is refused, as the API's 503 `live_mode_unavailable`.
fn live_mode_unavailable(locale: Locale) -> PageError {
    tracing::warn!(
        code = "live_mode_unavailable",
        "live onboarding page refused: no operator-provided keys"
    );
    PageError::new(Problem::Unavailable, locale)
}

async fn load_account(state: &AppState, s: &session::Model) -> Result<Account, PageError> {
    match crate::domain::kyc::reload(&state.db, s.livemode, s.account_id).await {
        Ok(account) => Ok(account),
        Err(crate::domain::kyc::KycError::NotFound { .. }) => {
            Err(PageError::new(Problem::Expired, Locale::En))
        }
        Err(e) => Err(ApiError::from(e).into()),
    }
}

/// The session cookie. `Secure` whenever the request came over TLS: `public_url` is https (TLS
/// ends at a proxy in front of us), the connection itself is TLS, or a proxy listed in
/// `trusted_proxies` says so with `X-Forwarded-Proto` (from anyone else the header is ignored).
fn session_cookie(state: &AppState, req: &HttpRequest, token: String) -> Cookie<'static> {
    let https = state.public_url_is_https()
        || req.app_config().secure()
        || state.client_limits.forwarded_https(req);
    Cookie::build(COOKIE, token)
        .path("/onboarding")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(https)
        .max_age(CookieDuration::seconds(SESSION_TTL_S))
        .finish()
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `GET /onboarding/link/{token}`: opens a link once. Used or expired → the platform's
/// `refresh_url`; unknown → 404. `?lang=sv` chooses the language (the emailed links carry it).
async fn open_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let result = async {
        let token = path.into_inner();
        let locale = accept_language(&req);
        if token.len() > 128 {
            return Err(PageError::new(Problem::NotFound, locale));
        }
        let lang = query
            .get("lang")
            .and_then(|l| Locale::parse(l))
            .map(|l| l.code().to_owned());
        let live_allowed = state.kyc.live_mode_refusal().is_none();
        let opening = kyc_links::open(&state.db, &token, lang, SESSION_TTL_S, live_allowed).await?;
        let cookie_token = match opening {
            kyc_links::Opening::Unknown => return Err(PageError::new(Problem::NotFound, locale)),
            kyc_links::Opening::LiveModeUnavailable => return Err(live_mode_unavailable(locale)),
            kyc_links::Opening::Stale { refresh_url } => return Ok(see_other(&refresh_url)),
            kyc_links::Opening::Fresh { session_token } => session_token,
        };
        Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/onboarding"))
            .cookie(session_cookie(&state, &req, cookie_token))
            .finish())
    }
    .await;
    finish(&state, result)
}

/// `GET /onboarding`: on to the first step with something due.
async fn start(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let result = async {
        let s = load_session(&state, &req).await?;
        let account = load_account(&state, &s).await?;
        let due = Due::of(&account, &s.collect);
        Ok(see_other(&format!(
            "/onboarding/{}",
            steps::next(&account, &due).slug()
        )))
    }
    .await;
    finish(&state, result)
}

/// `GET /onboarding/{step}` (with `?lang=en|sv` to switch language, `?return=review` when
/// the review's "Change" opened it).
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<StepQuery>,
) -> HttpResponse {
    let result = async {
        let s = load_session(&state, &req).await?;
        let locale = locale_of(&req, &s);
        let step = Step::from_slug(&path).ok_or_else(|| PageError::new(Problem::NoStep, locale))?;
        if let Some(lang) = query.lang.as_deref().and_then(Locale::parse) {
            // Remembered in the session; the redirect drops the query from the address bar.
            kyc_links::set_session_locale(&state.db, &s, lang.code()).await?;
            return Ok(see_other(&format!("/onboarding/{}", step.slug())));
        }
        let account = load_account(&state, &s).await?;
        let due = Due::of(&account, &s.collect);
        if step == Step::Review {
            return review_page(&state, &s, &account, &due, locale).await;
        }
        if !steps::applies(step, &account) {
            // Nothing this account could be asked here (owners of an individual): on.
            return Ok(see_other(&format!(
                "/onboarding/{}",
                steps::next(&account, &due).slug()
            )));
        }
        let defs = step_defs(step, &account, &due);
        // Verification errors the engine reported (an id number that does not match the date
        // of birth, a failed document) are shown as field errors straight away, on every
        // field involved.
        let errors = verification_errors(&due, &defs, Tr(locale));
        Ok(step_page(
            &state,
            &s,
            &account,
            &due,
            step,
            locale,
            &defs,
            &prefill(&account, &defs),
            &errors,
            StatusCode::OK,
            query.back.as_deref() == Some("review"),
        ))
    }
    .await;
    finish(&state, result)
}

#[derive(Deserialize)]
struct StepQuery {
    lang: Option<String>,
    #[serde(rename = "return")]
    back: Option<String>,
}

/// The step's fields: what is due there, or, with nothing due (a finished step opened from
/// the progress list or the review), everything it asks, to change.
fn step_defs(step: Step, account: &Account, due: &Due) -> Vec<FieldDef> {
    let defs = steps::fields(step, account, due);
    if defs.is_empty() {
        steps::fields_to_change(step, account)
    } else {
        defs
    }
}

/// What the seller gave before, for the fields on the page: never a secret (the account's
/// API view has none to give), so a step opened again shows names, dates and addresses as
/// they are and asks the secrets afresh.
fn prefill(account: &Account, defs: &[FieldDef]) -> HashMap<String, String> {
    let view = crate::domain::kyc::view::ProfileView::of(account);
    let mut all = HashMap::new();
    flatten("business_profile", &view.business_profile, &mut all);
    if let Some(v) = &view.individual {
        flatten("individual", v, &mut all);
    }
    if let Some(v) = &view.company {
        flatten("company", v, &mut all);
    }
    if view.tos_acceptance.is_some() {
        all.insert("tos_acceptance".to_owned(), "accept".to_owned());
    }
    if !all.contains_key("business_profile.url")
        && all.contains_key("business_profile.product_description")
    {
        all.insert(steps::NO_WEBSITE.to_owned(), "yes".to_owned());
    }
    // The representative listed among the owners or directors is "This is me", ticked.
    let rep = |k: &str| all.get(&format!("company.representative.{k}")).cloned();
    if let (Some(first), Some(last)) = (rep("first_name"), rep("last_name")) {
        for (list, me) in [
            ("company.owners", steps::OWNERS_ME),
            ("company.directors", steps::DIRECTORS_ME),
        ] {
            let mut rows: Vec<HashMap<String, String>> = Vec::new();
            let mut i = 0;
            while all.contains_key(&format!("{list}[{i}].first_name")) {
                let prefix = format!("{list}[{i}].");
                let row: HashMap<String, String> = all
                    .iter()
                    .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|f| (f.to_owned(), v.clone())))
                    .collect();
                rows.push(row);
                i += 1;
            }
            let is_me = |r: &HashMap<String, String>| {
                r.get("first_name") == Some(&first) && r.get("last_name") == Some(&last)
            };
            if let Some(pos) = rows.iter().position(is_me) {
                let row = rows.remove(pos);
                all.insert(me.to_owned(), "yes".to_owned());
                if let Some(share) = row.get("ownership_percent") {
                    all.insert(steps::OWNERS_ME_PERCENT.to_owned(), share.clone());
                }
                all.retain(|k, _| !k.starts_with(&format!("{list}[")));
                for (j, row) in rows.into_iter().enumerate() {
                    for (f, v) in row {
                        all.insert(format!("{list}[{j}].{f}"), v);
                    }
                }
            }
        }
    }
    defs.iter()
        .filter(|d| !d.is_secret())
        .filter_map(|d| all.get(&d.name).map(|v| (d.name.clone(), v.clone())))
        .collect()
}

/// A JSON view as parameter paths (`company.owners[1].first_name` → its text).
fn flatten(prefix: &str, value: &Value, out: &mut HashMap<String, String>) {
    match value {
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        Value::Number(n) => {
            out.insert(prefix.to_owned(), n.to_string());
        }
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        _ => {}
    }
}

/// The engine's verification errors for the fields on the page; a two-field error (the
/// personnummer and the date of birth) marks both fields, each with its own message.
fn verification_errors(due: &Due, defs: &[FieldDef], tr: Tr) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let on_page = |name: &str| defs.iter().any(|d| d.name == name);
    for (requirement, code, reason) in &due.errors {
        if on_page(requirement) {
            errors.insert(requirement.clone(), tr.error(code, reason));
        }
        if let Some((_, _, partner, key)) = steps::CROSS_FIELD.iter().find(|(c, ..)| c == code) {
            if let Some((prefix, _)) = requirement.rsplit_once('.') {
                let other = format!("{prefix}.{partner}");
                if on_page(&other) {
                    errors.insert(other, tr.s(&format!("err.{key}")).to_owned());
                }
            }
        }
    }
    errors
}

fn group_label(tr: Tr, group: &str, optional: bool) -> String {
    let label = if let Some(n) = group.strip_prefix("owner ") {
        format!("{} {n}", tr.s("owner"))
    } else if let Some(n) = group.strip_prefix("director ") {
        format!("{} {n}", tr.s("director"))
    } else {
        tr.s(group).to_owned()
    };
    if optional {
        format!("{label} ({})", tr.s("optional"))
    } else {
        label
    }
}

/// Whether the owners step asks for directors too (GB, DE, FR companies).
fn asks_directors(account: &Account) -> bool {
    steps::fields(Step::Owners, account, &Due::all(account))
        .iter()
        .any(|d| d.name.starts_with("company.directors["))
}

fn step_title(tr: Tr, step: Step, account: &Account) -> &'static str {
    let company = account.business_type.as_deref() == Some("company");
    if step == Step::Owners && asks_directors(account) {
        return tr.s("step.owners_directors");
    }
    tr.s(step.title_key(company))
}

/// Every step this account goes through, each done, current or still to do; finished ones
/// link back to themselves.
fn progress(account: &Account, due: &Due, current: Step, tr: Tr) -> Vec<ProgressItem> {
    steps::ORDER
        .into_iter()
        .filter(|s| *s == current || steps::applies(*s, account))
        .map(|s| {
            let state = if s == current {
                "current"
            } else if s == Step::Review || !steps::fields(s, account, due).is_empty() {
                "todo"
            } else {
                "done"
            };
            ProgressItem {
                label: step_title(tr, s, account),
                state,
                state_label: tr.s(&format!("state.{state}")),
                href: (state == "done").then(|| format!("/onboarding/{}", s.slug())),
            }
        })
        .collect()
}

fn fill_in(text: &str, args: &[(&'static str, String)]) -> String {
    args.iter().fold(text.to_owned(), |t, (k, v)| {
        t.replace(&format!("{{{k}}}"), v)
    })
}

#[allow(clippy::too_many_arguments)]
fn step_page(
    state: &AppState,
    s: &session::Model,
    account: &Account,
    due: &Due,
    step: Step,
    locale: Locale,
    defs: &[FieldDef],
    values: &HashMap<String, String>,
    errors: &HashMap<String, String>,
    status: StatusCode,
    back_to_review: bool,
) -> HttpResponse {
    let tr = Tr(locale);
    let brand_name = &state.config.branding_name;
    let fields: Vec<FieldView> = defs
        .iter()
        .map(|def| {
            let id = steps::html_id(&def.name);
            let value = values.get(&def.name).cloned().unwrap_or_default();
            let error = errors.get(&def.name).cloned();
            let hint = match (def.hint, def.keep) {
                (Some(h), true) => Some(format!(
                    "{} {}",
                    fill_in(tr.s(h), &def.hint_args),
                    tr.s("hint.keep")
                )),
                (Some(h), false) => Some(fill_in(tr.s(h), &def.hint_args)),
                (None, true) => Some(tr.s("hint.keep").to_owned()),
                (None, false) => None,
            };
            let mut described = Vec::new();
            if hint.is_some() {
                described.push(format!("{id}-hint"));
            }
            if error.is_some() {
                described.push(format!("{id}-error"));
            }
            let (kind, options): (&'static str, Vec<OptionView>) = match def.kind {
                Kind::Text => ("text", Vec::new()),
                Kind::Email => ("email", Vec::new()),
                Kind::Tel => ("tel", Vec::new()),
                Kind::Url => ("url", Vec::new()),
                Kind::TextArea => ("textarea", Vec::new()),
                Kind::Checkbox => ("checkbox", Vec::new()),
                Kind::Toggle => ("toggle", Vec::new()),
                Kind::File => ("file", Vec::new()),
                Kind::Select(opts) | Kind::Radio(opts) => (
                    if matches!(def.kind, Kind::Radio(_)) {
                        "radio"
                    } else {
                        "select"
                    },
                    opts.iter()
                        .enumerate()
                        .map(|(i, (v, label))| OptionView {
                            // The first radio carries the field's id, so the error summary's
                            // link lands on the group.
                            id: if i == 0 {
                                id.clone()
                            } else {
                                format!("{id}-{v}")
                            },
                            value: (*v).to_owned(),
                            label: tr.s(label),
                            selected: value == *v,
                        })
                        .collect(),
                ),
            };
            FieldView {
                name: def.name.clone(),
                id,
                kind,
                label: fill_in(&tr.named(def.label, brand_name), &def.label_args),
                hint,
                autocomplete: def.autocomplete,
                inputmode: def.inputmode,
                group: def
                    .group
                    .as_deref()
                    .map(|g| group_label(tr, g, def.group_optional)),
                close_group_before: false,
                required: def.required,
                show_optional: !def.required
                    && !def.in_row
                    && !def.keep
                    && !matches!(def.kind, Kind::Toggle | Kind::Checkbox),
                value,
                error,
                describedby: described.join(" "),
                options,
            }
        })
        .collect();
    // Each group is a fieldset whose legend names it, so a screen reader says which owner a
    // "First name" belongs to; a group runs until the next one opens or the form ends.
    let mut fields = fields;
    let mut open = false;
    for f in &mut fields {
        if f.group.is_some() {
            f.close_group_before = open;
            open = true;
        }
    }
    let close_group_at_end = open;
    // The summary lists errors in the order of the fields, then any without a field; one
    // message on several fields (the shares' total) once, linking to the first.
    let mut summary: Vec<(String, String)> = Vec::new();
    for f in &fields {
        if let Some(e) = &f.error {
            if !summary.iter().any(|(_, m)| m == e) {
                summary.push((f.id.clone(), e.clone()));
            }
        }
    }
    if let Some(general) = errors.get("") {
        let target = fields.first().map(|f| f.id.clone()).unwrap_or_default();
        summary.push((target, general.clone()));
    }
    let heading = step_title(tr, step, account).to_owned();
    let mut intro_links = Vec::new();
    let intro = match step {
        Step::Business => tr.named("intro", brand_name),
        Step::Owners if asks_directors(account) => tr.s("owners.intro.directors").to_owned(),
        Step::Owners => tr.s("owners.intro").to_owned(),
        Step::Bank => tr.s("bank.intro").to_owned(),
        Step::Terms => {
            if let Some(u) = &state.config.terms_url {
                intro_links.push((u.clone(), tr.s("footer.terms")));
            }
            if let Some(u) = &state.config.privacy_url {
                intro_links.push((u.clone(), tr.s("footer.privacy")));
            }
            if intro_links.is_empty() {
                tr.s("terms.intro.none").to_owned()
            } else {
                tr.s("terms.intro").to_owned()
            }
        }
        // "All fields are required" is worth saying only when there are several.
        _ if fields.len() > 1 => tr.s("required").to_owned(),
        _ => String::new(),
    };
    let title = if summary.is_empty() {
        heading.clone()
    } else {
        format!("{}: {heading}", tr.s("errors.title"))
    };
    let mut c = chrome(
        state,
        locale,
        title,
        &format!("/onboarding/{}", step.slug()),
    );
    c.progress = progress(account, due, step, tr);
    let page = StepPage {
        c,
        step: step.slug(),
        heading,
        intro,
        intro_links,
        multipart: defs.iter().any(|d| d.kind == Kind::File),
        fields,
        close_group_at_end,
        errors: summary,
        csrf: s.csrf_token.clone(),
        submit_label: tr.s("continue"),
        back_to_review,
    };
    html(status, page.render())
}

/// A person's rows on the review: what the API shows of them, so never a digit of an id.
fn person_rows(tr: Tr, p: &Value, account: &Account, rows: &mut Vec<(String, String)>) {
    let text = |k: &str| p[k].as_str().filter(|v| !v.is_empty()).map(str::to_owned);
    if let (Some(f), Some(l)) = (text("first_name"), text("last_name")) {
        rows.push((tr.s("review.name").to_owned(), format!("{f} {l}")));
    }
    // The account's email stands in for the person's own (requirements.rs).
    if let Some(email) = text("email").or_else(|| account.email.clone()) {
        rows.push((tr.s("email").to_owned(), email));
    }
    if let Some(phone) = text("phone") {
        rows.push((tr.s("phone").to_owned(), phone));
    }
    if let Some(dob) = text("dob") {
        rows.push((tr.s("dob").to_owned(), dob));
    }
    // That it was given, never any of it: with the date of birth, the end of a personnummer
    // is the whole number.
    if p["id_number_provided"] == json!(true) {
        let label = if account.country == "SE" {
            tr.s("review.id_number.se")
        } else {
            tr.s("review.id_number")
        };
        rows.push((label.to_owned(), tr.s("review.given").to_owned()));
    }
    if let Some(address) = address_line(&p["address"]) {
        rows.push((tr.s("review.address").to_owned(), address));
    }
}

fn address_line(a: &Value) -> Option<String> {
    let part = |k: &str| a[k].as_str().filter(|v| !v.is_empty());
    let place = [part("postal_code"), part("city")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let parts: Vec<String> = [
        part("line1").map(str::to_owned),
        Some(place).filter(|p| !p.is_empty()),
        part("state").map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A company number on the review: its last four when public (view.rs decides: never a
/// sole trader's personal number), else only that it was given.
fn company_number(tr: Tr, company: &Value, name: &str) -> Option<String> {
    if company[format!("{name}_provided")] != json!(true) {
        return None;
    }
    Some(match company[format!("{name}_last4")].as_str() {
        Some(last4) => tr.s("review.ending").replace("{last4}", last4),
        None => tr.s("review.given").to_owned(),
    })
}

async fn review_page(
    state: &AppState,
    s: &session::Model,
    account: &Account,
    due: &Due,
    locale: Locale,
) -> Result<HttpResponse, PageError> {
    let tr = Tr(locale);
    let view = crate::domain::kyc::view::ProfileView::of(account);
    let company = account.business_type.as_deref() == Some("company");
    let mut groups = Vec::new();
    let mut group = |step: Step, title: String, rows: Vec<(String, String)>| {
        if steps::applies(step, account) {
            groups.push(ReviewGroup {
                change_label: title.clone(),
                title,
                change_href: Some(format!("/onboarding/{}?return=review", step.slug())),
                rows,
            });
        }
    };

    let mut rows = Vec::new();
    if let Some(bt) = &account.business_type {
        rows.push((
            tr.s("business_type").to_owned(),
            tr.s(&format!("business_type.{bt}")).to_owned(),
        ));
    }
    let bp = &view.business_profile;
    if let Some(mcc) = bp["mcc"].as_str() {
        let label = steps::MCCS
            .iter()
            .find(|(code, _)| *code == mcc)
            .map_or_else(|| mcc.to_owned(), |(_, key)| tr.s(key).to_owned());
        rows.push((tr.s("business_profile.mcc").to_owned(), label));
    }
    if let Some(url) = bp["url"].as_str() {
        rows.push((tr.s("business_profile.url").to_owned(), url.to_owned()));
    } else if let Some(d) = bp["product_description"].as_str() {
        rows.push((
            tr.s("business_profile.product_description").to_owned(),
            d.to_owned(),
        ));
    }
    group(
        Step::Business,
        step_title(tr, Step::Business, account).to_owned(),
        rows,
    );

    if company {
        let c = view.company.clone().unwrap_or(Value::Null);
        let mut rows = Vec::new();
        if let Some(name) = c["name"].as_str() {
            rows.push((tr.s("company.name").to_owned(), name.to_owned()));
        }
        if let Some(v) = company_number(tr, &c, "tax_id") {
            rows.push((tr.s("company.tax_id").to_owned(), v));
        }
        if let Some(v) = company_number(tr, &c, "registration_number") {
            rows.push((tr.s("company.registration_number").to_owned(), v));
        }
        if let Some(a) = address_line(&c["address"]) {
            rows.push((tr.s("review.company_address").to_owned(), a));
        }
        group(
            Step::Details,
            step_title(tr, Step::Details, account).to_owned(),
            rows,
        );
        let mut rows = Vec::new();
        person_rows(tr, &c["representative"], account, &mut rows);
        group(
            Step::Details,
            tr.s("review.representative").to_owned(),
            rows,
        );

        let mut rows = Vec::new();
        let owners = c["owners"].as_array().cloned().unwrap_or_default();
        for (i, o) in owners.iter().enumerate() {
            let parts: Vec<String> = [
                o["first_name"]
                    .as_str()
                    .zip(o["last_name"].as_str())
                    .map(|(f, l)| format!("{f} {l}")),
                o["dob"].as_str().map(str::to_owned),
                o["ownership_percent"].as_str().map(|p| format!("{p} %")),
            ]
            .into_iter()
            .flatten()
            .collect();
            rows.push((format!("{} {}", tr.s("owner"), i + 1), parts.join(", ")));
        }
        if owners.is_empty() && c["owners_provided"] == json!(true) {
            rows.push((
                tr.s("step.owners").to_owned(),
                tr.s("review.nobody").to_owned(),
            ));
        }
        for (i, d) in c["directors"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let (Some(f), Some(l)) = (d["first_name"].as_str(), d["last_name"].as_str()) {
                rows.push((
                    format!("{} {}", tr.s("director"), i + 1),
                    format!("{f} {l}"),
                ));
            }
        }
        group(
            Step::Owners,
            step_title(tr, Step::Owners, account).to_owned(),
            rows,
        );
    } else if let Some(p) = &view.individual {
        let mut rows = Vec::new();
        person_rows(tr, p, account, &mut rows);
        group(
            Step::Details,
            step_title(tr, Step::Details, account).to_owned(),
            rows,
        );
    }

    let banks =
        crate::domain::kyc::banks::live_banks(&state.db, account.livemode, account.id).await?;
    let mut rows = Vec::new();
    if let Some(b) = banks.first() {
        let value = if b.last4.is_empty() {
            // A personkonto: its number is the personnummer.
            tr.s("review.given").to_owned()
        } else {
            tr.s("review.ending").replace("{last4}", &b.last4)
        };
        rows.push((tr.s("review.bank").to_owned(), value));
    }
    group(
        Step::Bank,
        step_title(tr, Step::Bank, account).to_owned(),
        rows,
    );

    let principal = if company {
        view.company.as_ref().map(|c| c["representative"].clone())
    } else {
        view.individual.clone()
    };
    let mut rows = Vec::new();
    if principal.is_some_and(|p| p["verification"]["document"].is_string()) {
        rows.push((
            tr.s("review.document").to_owned(),
            tr.s("review.uploaded").to_owned(),
        ));
    }
    group(
        Step::Document,
        step_title(tr, Step::Document, account).to_owned(),
        rows,
    );

    let accepted = view.tos_acceptance.is_some();
    group(
        Step::Terms,
        step_title(tr, Step::Terms, account).to_owned(),
        vec![(
            tr.s("review.terms").to_owned(),
            tr.s(if accepted { "yes" } else { "no" }).to_owned(),
        )],
    );
    for g in &mut groups {
        if g.rows.is_empty() {
            g.rows.push((String::new(), tr.s("review.none").to_owned()));
        }
    }

    let missing = due.names.iter().cloned().collect();
    let heading = tr.s("step.review").to_owned();
    let mut c = chrome(state, locale, heading.clone(), "/onboarding/review");
    c.progress = progress(account, due, Step::Review, tr);
    let page = ReviewPage {
        c,
        heading,
        groups,
        missing,
        csrf: s.csrf_token.clone(),
    };
    Ok(html(StatusCode::OK, page.render()))
}

// ---------------------------------------------------------------------------------------
// Submissions

/// A submitted form: text fields, and for the document step the uploaded file.
struct Submitted {
    values: HashMap<String, String>,
    file: Option<(Vec<u8>, Option<String>)>,
}

fn bad(locale: Locale) -> PageError {
    PageError::new(Problem::BadRequest, locale)
}

async fn read_urlencoded(
    mut payload: web::Payload,
    locale: Locale,
) -> Result<Submitted, PageError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| bad(locale))?;
        if body.len() + chunk.len() > FORM_LIMIT_BYTES {
            return Err(PageError::new(Problem::TooLarge, locale));
        }
        body.extend_from_slice(&chunk);
    }
    let mut values = HashMap::new();
    for (i, (k, v)) in form_urlencoded::parse(&body).enumerate() {
        if i >= MAX_FORM_FIELDS || v.chars().count() > MAX_FIELD_CHARS || k.len() > 100 {
            return Err(bad(locale));
        }
        values.insert(k.into_owned(), v.into_owned());
    }
    Ok(Submitted { values, file: None })
}

async fn read_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    file_field: &str,
    locale: Locale,
) -> Result<Submitted, PageError> {
    if req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > UPLOAD_LIMIT_BYTES)
    {
        return Err(PageError::new(Problem::TooLarge, locale));
    }
    let mut form = Multipart::new(req.headers(), payload);
    let mut values = HashMap::new();
    let mut file = None;
    let mut fields = 0;
    while let Some(part) = form.next().await {
        fields += 1;
        if fields > MAX_FORM_FIELDS {
            return Err(bad(locale));
        }
        let mut part = part.map_err(|_| bad(locale))?;
        let name = part.name().unwrap_or_default().to_owned();
        if name == file_field {
            let filename = part
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(|n| n.chars().take(255).collect::<String>());
            let mut bytes = Vec::new();
            while let Some(chunk) = part.next().await {
                let chunk = chunk.map_err(|_| bad(locale))?;
                // Counted as it arrives: a huge upload is cut off, never buffered whole.
                if bytes.len() + chunk.len() > crate::domain::kyc::files::MAX_FILE_BYTES {
                    return Err(PageError::new(Problem::TooLarge, locale));
                }
                bytes.extend_from_slice(&chunk);
            }
            file = Some((bytes, filename.filter(|n| !n.is_empty())));
        } else {
            let mut text = Vec::new();
            while let Some(chunk) = part.next().await {
                let chunk = chunk.map_err(|_| bad(locale))?;
                if text.len() + chunk.len() > MAX_FIELD_CHARS {
                    return Err(bad(locale));
                }
                text.extend_from_slice(&chunk);
            }
            values.insert(name, String::from_utf8_lossy(&text).into_owned());
        }
    }
    Ok(Submitted { values, file })
}

fn csrf_ok(s: &session::Model, submitted: &Submitted) -> bool {
    submitted
        .values
        .get("csrf_token")
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(s.csrf_token.as_bytes())))
}

/// The KYC part of a form, as the API would receive it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FormKyc {
    business_profile: Option<BusinessProfileParams>,
    individual: Option<PersonParams>,
    company: Option<CompanyParams>,
    tos_acceptance: Option<TosAcceptanceParams>,
}

/// What went wrong with a submission: field name → message ("" for the form as a whole).
type FieldErrors = HashMap<String, String>;

fn api_error_to_fields(
    e: &ApiError,
    defs: &[FieldDef],
    values: &HashMap<String, String>,
    tr: Tr,
) -> FieldErrors {
    let filled = |name: &str| values.get(name).is_some_and(|v| !v.is_empty());
    // The shares' total is the owners list's error: shown at every share given, the summary
    // linking to the first.
    if e.code == "invalid_ownership_total" {
        let message = tr.error(e.code, &e.message);
        return defs
            .iter()
            .filter(|d| {
                (d.name == steps::OWNERS_ME_PERCENT || d.name.ends_with(".ownership_percent"))
                    && filled(&d.name)
            })
            .map(|d| (d.name.clone(), message.clone()))
            .collect();
    }
    let mut message = tr.error(e.code, &e.message);
    // An IBAN of the wrong length: say so, with the length its country's IBANs have.
    if e.code == "invalid_iban_format" && e.param.as_deref() == Some("iban") {
        let typed: String = values
            .get("iban")
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_whitespace() && *c != '-')
                    .collect::<String>()
                    .to_ascii_uppercase()
            })
            .unwrap_or_default();
        let country = typed.get(..2).unwrap_or_default();
        if let Some(n) = agora_onboarding::verify::iban_length(country) {
            let m = typed.chars().count();
            if m != n {
                message = tr
                    .s("err.iban_length")
                    .replace("{country}", country)
                    .replace("{n}", &n.to_string())
                    .replace("{m}", &m.to_string());
            }
        }
    }
    let target = e
        .param
        .as_deref()
        .and_then(|p| {
            defs.iter()
                .find(|d| d.name == p || (p == "file" && d.kind == Kind::File))
                .or_else(|| defs.iter().find(|d| p.starts_with(&format!("{}.", d.name))))
        })
        .map(|d| d.name.clone())
        .unwrap_or_default();
    HashMap::from([(target, message)])
}

/// Values as typed, made into what the API takes: dates in the forms people type (a phone's
/// number pad has no `-`) as `YYYY-MM-DD`, a website without `https://` given one.
fn normalize(account: &Account, defs: &[FieldDef], values: &mut HashMap<String, String>) {
    for d in defs {
        let Some(v) = values.get_mut(&d.name) else {
            continue;
        };
        if d.name.ends_with(".dob") {
            if let Some(iso) = agora_onboarding::verify::typed_date(&account.country, v) {
                *v = iso;
            }
        }
        if d.name == "business_profile.url" && !v.is_empty() && !v.contains("://") {
            *v = format!("https://{v}");
        }
    }
}

/// `POST /onboarding/{step}`.
async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        let s = load_session(&state, &req).await?;
        let locale = locale_of(&req, &s);
        let step = Step::from_slug(&path).ok_or_else(|| PageError::new(Problem::NoStep, locale))?;
        let account = load_account(&state, &s).await?;
        let due = Due::of(&account, &s.collect);
        let defs = if step == Step::Review || !steps::applies(step, &account) {
            Vec::new()
        } else {
            step_defs(step, &account, &due)
        };
        let submitted = match defs.iter().find(|d| d.kind == Kind::File) {
            Some(file_def) => read_multipart(&req, payload, &file_def.name, locale).await?,
            None => read_urlencoded(payload, locale).await?,
        };
        // Nothing is read from the form, nor written, before the token is checked.
        if !csrf_ok(&s, &submitted) {
            return Err(PageError::new(Problem::Forbidden, locale));
        }
        if step == Step::Review {
            links::end_session(&state.db, s.id).await?;
            return Ok(confirmation(&state, &req, locale, &s.return_url));
        }
        if defs.is_empty() {
            return Ok(see_other(&format!(
                "/onboarding/{}",
                steps::next(&account, &due).slug()
            )));
        }
        let tr = Tr(locale);
        let back_to_review = submitted
            .values
            .get("return_to")
            .is_some_and(|v| v == "review");
        let mut values: HashMap<String, String> = defs
            .iter()
            .filter_map(|d| {
                submitted
                    .values
                    .get(&d.name)
                    .map(|v| (d.name.clone(), v.trim().to_owned()))
            })
            .collect();
        normalize(&account, &defs, &mut values);
        let mut errors = required_errors(&defs, &values, &submitted, tr);
        if errors.is_empty() {
            let origin = Origin {
                request_id: crate::adapters::gateway::context::current_request_id(),
                idempotency_key: None,
            };
            if let Err(e) = apply(
                &state,
                &req,
                &s,
                step,
                &defs,
                &values,
                submitted.file,
                &origin,
            )
            .await
            {
                if e.status.is_server_error() {
                    return Err(e.into());
                }
                errors = api_error_to_fields(&e, &defs, &values, tr);
            }
        }
        if errors.is_empty() {
            let account = load_account(&state, &s).await?;
            let due = Due::of(&account, &s.collect);
            // Saved, but the engine found a problem in it (a personnummer that does not match
            // the date of birth): the same page again, every field involved shown with what
            // was typed, so either can be fixed.
            let again = steps::fields(step, &account, &due);
            let problems = verification_errors(&due, &again, tr);
            if !problems.is_empty() {
                let mut shown = prefill(&account, &again);
                shown.extend(values.into_iter().filter(|(_, v)| !v.is_empty()));
                return Ok(step_page(
                    &state,
                    &s,
                    &account,
                    &due,
                    step,
                    locale,
                    &again,
                    &shown,
                    &problems,
                    StatusCode::BAD_REQUEST,
                    back_to_review,
                ));
            }
            let to = if back_to_review {
                Step::Review
            } else {
                steps::next(&account, &due)
            };
            return Ok(see_other(&format!("/onboarding/{}", to.slug())));
        }
        // What was typed comes back (the seller's own session, never cached), so nothing
        // needs typing twice; a file cannot be, so it is chosen again.
        Ok(step_page(
            &state,
            &s,
            &account,
            &due,
            step,
            locale,
            &defs,
            &values,
            &errors,
            StatusCode::BAD_REQUEST,
            back_to_review,
        ))
    }
    .await;
    finish(&state, result)
}

/// After the review: what happens now, in the seller's language, and the way on to the
/// platform (no automatic redirect: the seller reads it first). The session has ended.
fn confirmation(
    state: &AppState,
    req: &HttpRequest,
    locale: Locale,
    return_url: &str,
) -> HttpResponse {
    let tr = Tr(locale);
    let brand_name = &state.config.branding_name;
    let page = MessagePage {
        c: chrome(state, locale, tr.s("done.title").to_owned(), ""),
        heading: tr.s("done.title").to_owned(),
        body: tr.named("done.body", brand_name),
        link: Some((return_url.to_owned(), tr.named("done.continue", brand_name))),
    };
    let mut res = html(StatusCode::OK, page.render());
    if let Err(e) = res.add_cookie(&session_cookie(state, req, String::new()).tap_expire()) {
        tracing::warn!(error = %e, "could not clear the session cookie");
    }
    res
}

trait ExpireCookie {
    fn tap_expire(self) -> Self;
}

impl ExpireCookie for Cookie<'static> {
    fn tap_expire(mut self) -> Self {
        self.make_removal();
        self
    }
}

/// The message for an empty field, naming it ("Enter the date of birth (owner 2)").
fn missing_message(tr: Tr, d: &FieldDef) -> String {
    let message = tr
        .get(&format!("missing.{}", d.label))
        .map(str::to_owned)
        .unwrap_or_else(|| tr.error("parameter_missing", "Enter this information."));
    if !d.in_row {
        return message;
    }
    let row = steps::PERSON_LISTS.iter().find_map(|(list, _)| {
        let rest = d.name.strip_prefix(&format!("{list}["))?;
        let (i, _) = rest.split_once(']')?;
        let n = i.parse::<usize>().ok()? + 1;
        let kind = if *list == "company.owners" {
            "owner"
        } else {
            "director"
        };
        Some(format!("{} {n}", tr.s(kind)).to_lowercase())
    });
    match row {
        Some(group) => tr
            .s("missing.row")
            .replace("{message}", &message)
            .replace("{group}", &group),
        None => message,
    }
}

/// Fields left empty. Owner rows are all-or-nothing: an empty row is nobody.
fn required_errors(
    defs: &[FieldDef],
    values: &HashMap<String, String>,
    submitted: &Submitted,
    tr: Tr,
) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let ticked = |name: &str| values.get(name).is_some_and(|v| v == "yes");
    let empty = |name: &str| values.get(name).is_none_or(|v| v.is_empty());
    for d in defs {
        let problem = match d.kind {
            Kind::File => (!d.keep && submitted.file.as_ref().is_none_or(|(b, _)| b.is_empty()))
                .then(|| missing_message(tr, d)),
            Kind::Checkbox => (values.get(&d.name).map(String::as_str) != Some("accept"))
                .then(|| tr.error("terms_not_accepted", "Accept the terms to continue.")),
            Kind::Toggle => None,
            // A website, or "I have no website" and what is sold.
            _ if d.name == "business_profile.url" => {
                (!ticked(steps::NO_WEBSITE) && empty(&d.name)).then(|| missing_message(tr, d))
            }
            _ if d.name == "business_profile.product_description" => {
                (ticked(steps::NO_WEBSITE) && empty(&d.name)).then(|| missing_message(tr, d))
            }
            _ if d.name == steps::OWNERS_ME_PERCENT => {
                (ticked(steps::OWNERS_ME) && empty(&d.name)).then(|| missing_message(tr, d))
            }
            // The first director row, unless the seller said they are a director.
            _ if d.name.starts_with("company.directors[") && ticked(steps::DIRECTORS_ME) => None,
            _ => (d.required && empty(&d.name)).then(|| missing_message(tr, d)),
        };
        if let Some(message) = problem {
            errors.insert(d.name.clone(), message);
        }
    }
    // Owner and director rows: a row with anything in it needs everything.
    for (list, rows) in steps::PERSON_LISTS {
        for i in 0..rows {
            let prefix = format!("{list}[{i}].");
            let row: Vec<&FieldDef> = defs
                .iter()
                .filter(|d| d.name.starts_with(&prefix))
                .collect();
            if row.iter().any(|d| !empty(&d.name)) {
                for d in row {
                    if empty(&d.name) {
                        errors.insert(d.name.clone(), missing_message(tr, d));
                    }
                }
            }
        }
    }
    errors
}

/// Where a list's API index came from on the page: a row's prefix, or "This is me".
enum RowSource {
    Row(String),
    Me,
}

/// An owner's or director's API parameter (`company.owners[1].dob`, counted in the compacted
/// list) as the field it came from on the page.
fn page_param(param: &str, list: &str, sources: &[RowSource]) -> Option<String> {
    let rest = param.strip_prefix(&format!("{list}["))?;
    let (i, field) = rest.split_once("].")?;
    match sources.get(i.parse::<usize>().ok()?)? {
        RowSource::Row(prefix) => Some(format!("{prefix}.{field}")),
        RowSource::Me if field == "ownership_percent" => Some(steps::OWNERS_ME_PERCENT.to_owned()),
        RowSource::Me if list == "company.owners" => Some(steps::OWNERS_ME.to_owned()),
        RowSource::Me => Some(steps::DIRECTORS_ME.to_owned()),
    }
}

/// Applies one step in one transaction, through the API's own code paths.
#[allow(clippy::too_many_arguments)]
async fn apply(
    state: &AppState,
    req: &HttpRequest,
    s: &session::Model,
    step: Step,
    defs: &[FieldDef],
    values: &HashMap<String, String>,
    file: Option<(Vec<u8>, Option<String>)>,
    origin: &Origin,
) -> Result<(), ApiError> {
    let given = |k: &str| values.get(k).filter(|v| !v.is_empty()).cloned();
    // A step opened to change it, left as it was: nothing to do (empty keeps the bank
    // account and the document).
    let file = file.filter(|(b, _)| !b.is_empty());
    match step {
        Step::Bank if given("iban").is_none() && given("account_number").is_none() => return Ok(()),
        Step::Document if file.is_none() => return Ok(()),
        _ => {}
    }
    // The document is written before the transaction (no connection waits on its fsync) and
    // recorded in it, so it commits with the step; a step that fails after recording it
    // leaves an orphan file, which the orphan sweep deletes.
    let written = match (step, file) {
        (Step::Document, Some((bytes, filename))) => Some(
            crate::domain::kyc::files::write_identity_document(
                &state.db,
                &state.kyc,
                s.livemode,
                Some(s.account_id),
                &bytes,
                filename,
            )
            .await?,
        ),
        _ => None,
    };
    let txn = state.db.begin().await?;
    let account = crate::domain::kyc::lock_account(&txn, s.livemode, s.account_id)
        .await
        .map_err(|e| match e {
            crate::domain::kyc::KycError::NotFound { .. } => {
                ApiError::not_found("account", "session")
            }
            other => other.into(),
        })?;
    let document = match written {
        Some(w) => Some(
            crate::domain::kyc::files::record_identity_document(
                &txn,
                &state.kyc,
                s.livemode,
                Some(s.account_id),
                w,
            )
            .await?,
        ),
        None => None,
    };
    let before = AccountObject::json(&account)?;
    let mut kyc_json = json!({});
    let mut account = account;
    let mut sources: Vec<(&str, Vec<RowSource>)> = Vec::new();
    match step {
        Step::Business => {
            if let Some(bt) = given("business_type") {
                let business_type = BusinessType::parse(&bt)
                    .map_err(|e| ApiError::invalid("business_type", e.code, e.message))?;
                let changes = AccountChanges {
                    business_type: Some(business_type),
                    ..AccountChanges::default()
                };
                let (_, after) =
                    crate::domain::kyc::change_account(&txn, s.livemode, s.account_id, changes)
                        .await?;
                account = after;
            }
            for d in defs
                .iter()
                .filter(|d| d.name.starts_with("business_profile."))
            {
                if let Some(v) = given(&d.name) {
                    steps::set_path(&mut kyc_json, &d.name, Value::String(v));
                }
            }
        }
        Step::Details => {
            // Empty fields are left as they were (a secret not typed again when changing).
            for d in defs {
                if let Some(v) = given(&d.name) {
                    steps::set_path(&mut kyc_json, &d.name, Value::String(v));
                }
            }
            // A Swedish personnummer carries the date of birth, which the page did not ask
            // (see steps::person_fields): taken from it. An invalid number is refused below.
            let who = steps::principal(&account);
            let dob = format!("{who}.dob");
            if account.country == "SE" && !defs.iter().any(|d| d.name == dob) {
                if let Some(id) = given(&format!("{who}.id_number")) {
                    let today = Utc::now().date_naive();
                    if let Ok(pnr) = agora_onboarding::verify::personnummer(&id, today) {
                        steps::set_path(
                            &mut kyc_json,
                            &dob,
                            Value::String(pnr.birth_date().format("%Y-%m-%d").to_string()),
                        );
                    }
                }
            }
        }
        Step::Owners => {
            // "This is me": the representative as they gave themselves on the details step.
            let profile = agora_onboarding::kyc::Profile::from_json(account.profile.as_ref());
            let rep = profile.company.and_then(|c| c.representative);
            // Each list shown is replaced whole: the filled rows, compacted; none means nobody
            // (no owner holds 25% or more). A list not shown is left as it is.
            for (list, rows) in steps::PERSON_LISTS {
                let shown = defs.iter().any(|d| d.name.starts_with(&format!("{list}[")));
                if !shown {
                    continue;
                }
                let mut people = Vec::new();
                let mut from = Vec::new();
                let me = if list == "company.owners" {
                    steps::OWNERS_ME
                } else {
                    steps::DIRECTORS_ME
                };
                if given(me).as_deref() == Some("yes") {
                    if let Some(r) = &rep {
                        let mut person = json!({
                            "first_name": r.first_name,
                            "last_name": r.last_name,
                        });
                        if list == "company.owners" {
                            if let Some(dob) = r.dob {
                                person["dob"] = json!(dob.format("%Y-%m-%d").to_string());
                            }
                            person["ownership_percent"] = json!(given(steps::OWNERS_ME_PERCENT));
                        }
                        people.push(person);
                        from.push(RowSource::Me);
                    }
                }
                for i in 0..rows {
                    let prefix = format!("{list}[{i}]");
                    let mut person = json!({});
                    for d in defs
                        .iter()
                        .filter(|d| d.name.starts_with(&format!("{prefix}.")))
                    {
                        if let Some(v) = given(&d.name) {
                            let key = d.name.trim_start_matches(&format!("{prefix}."));
                            person[key] = Value::String(v);
                        }
                    }
                    if person.as_object().is_some_and(|o| !o.is_empty()) {
                        people.push(person);
                        from.push(RowSource::Row(prefix));
                    }
                }
                steps::set_path(&mut kyc_json, list, Value::Array(people));
                sources.push((list, from));
            }
        }
        Step::Bank => {
            let input = crate::domain::kyc::banks::NewBankAccount {
                country: account.country.clone(),
                currency: account.default_currency.clone(),
                iban: given("iban"),
                routing_number: given("routing_number"),
                sort_code: None,
                account_number: given("account_number"),
                account_holder_name: given("account_holder_name"),
                account_holder_type: account.business_type.clone(),
                default_for_currency: None,
            };
            crate::domain::kyc::banks::add_to(&txn, &state.kyc.sealer, account, &input, origin)
                .await?;
            txn.commit().await?;
            return Ok(());
        }
        Step::Document => {
            if let (Some(doc), Some(def)) = (document, defs.first()) {
                steps::set_path(
                    &mut kyc_json,
                    &def.name,
                    Value::String(ids::encode(IdKind::File, doc.id)),
                );
            }
        }
        Step::Terms => {
            let ip = req
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_else(|| "0.0.0.0".to_owned());
            let user_agent: Option<String> = req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(500).collect());
            kyc_json["tos_acceptance"] = json!({"ip": ip, "user_agent": user_agent});
        }
        Step::Review => {}
    }
    let form: FormKyc = serde_json::from_value(kyc_json).map_err(ApiError::internal)?;
    let kyc = KycParams {
        business_profile: form.business_profile,
        individual: form.individual,
        company: form.company,
        tos_acceptance: form.tos_acceptance,
    };
    crate::domain::kyc::apply(&txn, &state.kyc, account, &kyc, Some(&before), origin)
        .await
        .map_err(|e| {
            // An owner's error names the compacted list's index; the page needs the row.
            let mut e = ApiError::from(e);
            if let Some(param) = e.param.clone() {
                for (list, from) in &sources {
                    if let Some(p) = page_param(&param, list, from) {
                        e.param = Some(p);
                    }
                }
            }
            e
        })?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_errors_name_the_row_they_came_from() {
        let sources = [
            RowSource::Me,
            RowSource::Row("company.owners[2]".to_owned()),
        ];
        assert_eq!(
            page_param("company.owners[1].dob", "company.owners", &sources).as_deref(),
            Some("company.owners[2].dob")
        );
        assert_eq!(
            page_param(
                "company.owners[0].ownership_percent",
                "company.owners",
                &sources
            )
            .as_deref(),
            Some(steps::OWNERS_ME_PERCENT)
        );
        assert_eq!(
            page_param("company.owners[0].dob", "company.owners", &sources).as_deref(),
            Some(steps::OWNERS_ME)
        );
        assert_eq!(
            page_param("company.owners[5].dob", "company.owners", &sources),
            None
        );
        assert_eq!(page_param("company.name", "company.owners", &sources), None);
    }

    #[test]
    fn flattened_views_are_parameter_paths() {
        let mut out = HashMap::new();
        flatten(
            "company",
            &json!({"name": "AB", "owners": [{"first_name": "Max", "dob": null}], "n": 3}),
            &mut out,
        );
        assert_eq!(out.get("company.name").map(String::as_str), Some("AB"));
        assert_eq!(
            out.get("company.owners[0].first_name").map(String::as_str),
            Some("Max")
        );
        assert_eq!(out.get("company.n").map(String::as_str), Some("3"));
        assert!(!out.contains_key("company.owners[0].dob"));
    }
}
