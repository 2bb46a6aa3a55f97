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
                let mut res = render_problem(&state, PageError::new(Problem::TooMany, locale));
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
    /// No session cookie at all: the link was never opened in this browser (or on this
    /// device), so nothing "ended".
    NoSession,
    /// A session cookie whose session has expired.
    Expired,
    /// The session's seller has submitted: any page of it says so.
    Submitted,
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
    /// The page's own path, for its language list (empty: no list, as on answers to a POST).
    switch_path: String,
    /// Where "Continue" leads (a submitted session: the platform's `return_url`).
    return_url: Option<String>,
}

impl PageError {
    fn new(problem: Problem, locale: Locale) -> Self {
        Self {
            problem,
            locale,
            switch_path: String::new(),
            return_url: None,
        }
    }

    /// The page offers its language list, switching by `?lang=` on `path` (a GET address).
    fn switchable(mut self, path: &str) -> Self {
        self.switch_path = path.to_owned();
        self
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
    /// Some step is needed only later: "everything we need for now".
    any_later: bool,
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
        Problem::NoSession => (
            StatusCode::UNAUTHORIZED,
            "nosession.title",
            "nosession.body",
        ),
        Problem::Expired => (StatusCode::UNAUTHORIZED, "expired.title", "expired.body"),
        Problem::Submitted => (StatusCode::OK, "submitted.title", "submitted.body"),
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
    let brand_name = &state.config.branding_name;
    let link = match (e.problem, e.return_url) {
        // A step that does not exist, in a live session: the way back into the flow.
        (Problem::NoStep, _) => Some(("/onboarding".to_owned(), t.s("nostep.link").to_owned())),
        (Problem::Submitted, Some(url)) => Some((url, t.named("done.continue", brand_name))),
        _ => None,
    };
    let page = MessagePage {
        c: chrome(state, e.locale, t.s(title).to_owned(), &e.switch_path),
        heading: t.s(title).to_owned(),
        // The platform by its name where it has one ("Ask Marknaden for a new one").
        body: t.named(body, brand_name),
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

/// The language of a page without a session: `?lang=` (its language list), else the
/// browser's.
fn request_locale(req: &HttpRequest) -> Locale {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Locale::parse(&v))
        .unwrap_or_else(|| accept_language(req))
}

fn locale_of(req: &HttpRequest, session: &session::Model) -> Locale {
    session
        .locale
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or_else(|| accept_language(req))
}

/// The request's session, open or submitted (see [`ensure_open`]).
async fn load_session(state: &AppState, req: &HttpRequest) -> Result<session::Model, PageError> {
    let here = req.path();
    let expired = || PageError::new(Problem::Expired, request_locale(req)).switchable(here);
    let token = req
        .cookie(COOKIE)
        .ok_or_else(|| PageError::new(Problem::NoSession, request_locale(req)).switchable(here))?;
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

/// A submitted session's pages all say so, with the way on to the platform: Back after
/// submitting must not look like a failure, and nothing more is taken.
fn ensure_open(req: &HttpRequest, s: &session::Model) -> Result<(), PageError> {
    if s.submitted_at.is_none() {
        return Ok(());
    }
    let mut e = PageError::new(Problem::Submitted, locale_of(req, s));
    if req.method() == actix_web::http::Method::GET {
        e = e.switchable(req.path());
    }
    e.return_url = Some(s.return_url.clone());
    Err(e)
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
        let locale = request_locale(&req);
        let not_found = || PageError::new(Problem::NotFound, locale).switchable(req.path());
        if token.len() > 128 {
            return Err(not_found());
        }
        let lang = query
            .get("lang")
            .and_then(|l| Locale::parse(l))
            .map(|l| l.code().to_owned());
        let live_allowed = state.kyc.live_mode_refusal().is_none();
        let opening = kyc_links::open(&state.db, &token, lang, SESSION_TTL_S, live_allowed).await?;
        let cookie_token = match opening {
            kyc_links::Opening::Unknown => return Err(not_found()),
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
        ensure_open(&req, &s)?;
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
        if let Some(lang) = query.lang.as_deref().and_then(Locale::parse) {
            // Remembered in the session (a submitted one too, and from an unknown step's
            // page); the redirect drops the query from the address bar. The path came in as
            // /onboarding/{step}, so the redirect stays on this site.
            kyc_links::set_session_locale(&state.db, &s, lang.code()).await?;
            return Ok(see_other(req.path()));
        }
        ensure_open(&req, &s)?;
        let locale = locale_of(&req, &s);
        let step = Step::from_slug(&path)
            .ok_or_else(|| PageError::new(Problem::NoStep, locale).switchable(req.path()))?;
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
        let defs = page_defs(&state, step, &account, &due).await?;
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

/// [`step_defs`], and on a bank step opened again the account kept when the IBAN is left
/// empty, named by its last four ("Saved account: ending in 7466").
async fn page_defs(
    state: &AppState,
    step: Step,
    account: &Account,
    due: &Due,
) -> Result<Vec<FieldDef>, PageError> {
    let mut defs = step_defs(step, account, due);
    if step == Step::Bank && defs.iter().any(|d| d.keep) {
        let banks =
            crate::domain::kyc::banks::live_banks(&state.db, account.livemode, account.id).await?;
        // A personkonto has no last four to show (its number is the personnummer).
        if let Some(last4) = banks
            .first()
            .map(|b| b.last4.clone())
            .filter(|l| !l.is_empty())
        {
            for d in defs.iter_mut().filter(|d| d.keep) {
                if d.name == "iban" || d.name == "account_number" {
                    d.keep_hint = Some(if d.name == "iban" {
                        "hint.keep.bank"
                    } else {
                        "hint.keep.bank.us"
                    });
                    d.hint = None;
                    d.hint_args.push(("last4", last4.clone()));
                } else {
                    // The holder goes with the account the IBAN's hint names.
                    d.keep_hint = Some("");
                }
            }
        }
    }
    Ok(defs)
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
    // Dates as the seller's country writes them (typed_date reads them back).
    defs.iter()
        .filter(|d| !d.is_secret())
        .filter_map(|d| {
            let v = all.get(&d.name)?;
            let v = if d.name.ends_with(".dob") {
                display_date(&account.country, v)
            } else {
                v.clone()
            };
            Some((d.name.clone(), v))
        })
        .collect()
}

/// A `YYYY-MM-DD` date as people in `country` write it (`verify::date_style`): `15.03.1980`,
/// `03/15/1980`, `15/03/1980`, or as it is (Sweden). Anything else as it is.
fn display_date(country: &str, iso: &str) -> String {
    let Ok(date) = chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d") else {
        return iso.to_owned();
    };
    let format = match agora_onboarding::verify::date_style(country) {
        "dot" => "%d.%m.%Y",
        "us" => "%m/%d/%Y",
        "dmy" => "%d/%m/%Y",
        _ => "%Y-%m-%d",
    };
    date.format(format).to_string()
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

/// Every step this account goes through, each done, current, still to do, or needed only
/// later (nothing due for this link, something before payouts: never shown as done); done
/// and later ones link to themselves (to change them, or give it now).
fn progress(account: &Account, due: &Due, current: Step, tr: Tr) -> Vec<ProgressItem> {
    steps::ORDER
        .into_iter()
        .filter(|s| *s == current || steps::applies(*s, account))
        .map(|s| {
            let state = if s == current {
                "current"
            } else {
                match steps::status(s, account, due) {
                    steps::Status::Todo => "todo",
                    steps::Status::Later => "later",
                    steps::Status::Done => "done",
                }
            };
            ProgressItem {
                label: step_title(tr, s, account),
                state,
                state_label: tr.s(&format!("state.{state}")),
                href: matches!(state, "done" | "later")
                    .then(|| format!("/onboarding/{}", s.slug())),
            }
        })
        .collect()
}

/// A hint as a sentence, ending in a full stop, so another can follow it.
fn sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
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
            let keep = match def.keep_hint {
                _ if !def.keep => None,
                Some("") => None,
                Some(key) => Some(fill_in(tr.s(key), &def.hint_args)),
                None => Some(tr.s("hint.keep").to_owned()),
            };
            let hint = match (def.hint, keep) {
                // Two sentences: the first gets its full stop ("…556036-0793. Leave empty…").
                (Some(h), Some(k)) => Some(format!(
                    "{} {k}",
                    sentence(&fill_in(tr.s(h), &def.hint_args))
                )),
                (Some(h), None) => Some(fill_in(tr.s(h), &def.hint_args)),
                (None, k) => k,
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
                    && !def.conditional
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
    let later = steps::status(step, account, due) == steps::Status::Later;
    let intro = match step {
        _ if later => {
            if step == Step::Terms {
                intro_links.extend(
                    state
                        .config
                        .terms_url
                        .clone()
                        .map(|u| (u, tr.s("footer.terms"))),
                );
                intro_links.extend(
                    state
                        .config
                        .privacy_url
                        .clone()
                        .map(|u| (u, tr.s("footer.privacy"))),
                );
            }
            tr.named("later.intro", brand_name)
        }
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
        let shown = display_date(&account.country, &dob);
        // On the pages a Swedish personnummer gives the date of birth, replacing one the
        // platform sent: the review says where it came from.
        let shown = if account.country == "SE" && p["id_number_provided"] == json!(true) {
            tr.s("review.dob_from_id").replace("{date}", &shown)
        } else {
            shown
        };
        rows.push((tr.s("dob").to_owned(), shown));
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
    let brand_name = &state.config.branding_name;
    let view = crate::domain::kyc::view::ProfileView::of(account);
    let company = account.business_type.as_deref() == Some("company");
    let mut groups = Vec::new();
    let mut group = |step: Step, title: String, mut rows: Vec<(String, String)>| {
        if steps::applies(step, account) {
            // Nothing due for this link, something before payouts: said, never "Not given
            // yet" next to "Everything we need is in".
            if steps::status(step, account, due) == steps::Status::Later {
                rows.push((String::new(), tr.named("later.review", brand_name)));
            }
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
                o["dob"].as_str().map(|d| display_date(&account.country, d)),
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
    let any_later = groups.iter().any(|g| {
        g.rows
            .iter()
            .any(|(_, v)| *v == tr.named("later.review", brand_name))
    });
    let mut c = chrome(state, locale, heading.clone(), "/onboarding/review");
    c.progress = progress(account, due, Step::Review, tr);
    let page = ReviewPage {
        c,
        heading,
        groups,
        missing,
        any_later,
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

/// What the API refused, as messages on the fields: `values` as sent to the API, `typed` as
/// the seller typed them, `filename` the uploaded file's name.
fn api_error_to_fields(
    e: &ApiError,
    account: &Account,
    defs: &[FieldDef],
    values: &HashMap<String, String>,
    typed: &HashMap<String, String>,
    filename: Option<&str>,
    tr: Tr,
) -> FieldErrors {
    let filled = |name: &str| values.get(name).is_some_and(|v| !v.is_empty());
    // The shares' total is the owners list's error: shown at every share given, the summary
    // linking to the first, naming the total.
    if e.code == "invalid_ownership_total" {
        let shares: Vec<f64> = defs
            .iter()
            .filter(|d| {
                d.name == steps::OWNERS_ME_PERCENT || d.name.ends_with(".ownership_percent")
            })
            .filter_map(|d| values.get(&d.name))
            .filter_map(|v| {
                v.trim()
                    .trim_end_matches('%')
                    .trim()
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
            })
            .collect();
        let sum = shares.iter().sum::<f64>();
        let message = if sum > 100.0 {
            let mut sum = format!("{}", (sum * 100.0).round() / 100.0);
            if tr.0 == Locale::Sv {
                sum = sum.replace('.', ",");
            }
            tr.s("err.ownership_total_sum").replace("{sum}", &sum)
        } else {
            tr.error(e.code, &e.message)
        };
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
        let iban: String = values
            .get("iban")
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_whitespace() && *c != '-')
                    .collect::<String>()
                    .to_ascii_uppercase()
            })
            .unwrap_or_default();
        let country = iban.get(..2).unwrap_or_default();
        if let Some(n) = agora_onboarding::verify::iban_length(country) {
            let m = iban.chars().count();
            if m != n {
                message = tr
                    .s("err.iban_length")
                    .replace("{an_iban}", &iban_phrase(tr, country))
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
    let typed_here = typed.get(&target).map(|v| v.trim()).unwrap_or_default();
    match e.code {
        // A well-formed date that does not exist ("31.02.1980"): say which, not "the format".
        "invalid_dob_format" if target.ends_with(".dob") => {
            if let Some(m) = values.get(&target).and_then(|v| impossible_date(tr, v)) {
                message = m;
            }
        }
        // Typed as dialled at home and still refused: the international form, in the
        // seller's country's terms.
        "invalid_phone_number" if typed_here.starts_with('0') && !typed_here.starts_with("00") => {
            let country = account.country.to_ascii_uppercase();
            if let (Some(code), Some(example)) = (
                agora_onboarding::verify::calling_code(&country).filter(|c| *c != "1"),
                steps::phone_example(&country),
            ) {
                message = tr
                    .s("err.phone_national")
                    .replace("{code}", &format!("+{code}"))
                    .replace("{example}", example);
            }
        }
        // A German company's Steuernummer (10 to 13 digits, often with slashes) where its
        // VAT number belongs.
        "invalid_tax_id_format" | "invalid_tax_id_checksum"
            if target == "company.tax_id" && account.country.eq_ignore_ascii_case("DE") =>
        {
            let digits: String = typed_here
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if typed_here.contains('/')
                || ((10..=13).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
            {
                message = tr.s("err.tax_id_steuernummer").to_owned();
            }
        }
        "file_type_invalid" => {
            // The name only, never a path a browser may send; bounded.
            if let Some(name) = filename
                .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n))
                .filter(|n| !n.is_empty())
            {
                let name: String = name.chars().take(80).collect();
                message = tr.s("err.file_type_named").replace("{file}", &name);
            }
        }
        _ => {}
    }
    HashMap::from([(target, message)])
}

/// "There is no 31 February 1980." for a `YYYY-MM-DD` whose day or month does not exist;
/// None for a real date or another shape.
fn impossible_date(tr: Tr, iso: &str) -> Option<String> {
    let mut parts = iso.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (year, month, day) = (
        y.parse::<i32>().ok()?,
        m.parse::<u32>().ok()?,
        d.parse::<u32>().ok()?,
    );
    if !(1..=12).contains(&month) {
        return Some(
            tr.s("err.no_such_month")
                .replace("{month}", &month.to_string()),
        );
    }
    if chrono::NaiveDate::from_ymd_opt(year, month, day).is_some() || day == 0 {
        return None;
    }
    Some(
        tr.s("err.no_such_date")
            .replace("{day}", &day.to_string())
            .replace("{month}", tr.s(&format!("month.{month}")))
            .replace("{year}", &year.to_string()),
    )
}

/// "A German IBAN" / "Ett IBAN från Tyskland": the country in the page's language; its code
/// for countries not listed.
fn iban_phrase(tr: Tr, country: &str) -> String {
    const NAMES: &[(&str, &str, &str)] = &[
        ("AT", "An Austrian IBAN", "Österrike"),
        ("BE", "A Belgian IBAN", "Belgien"),
        ("CH", "A Swiss IBAN", "Schweiz"),
        ("DE", "A German IBAN", "Tyskland"),
        ("DK", "A Danish IBAN", "Danmark"),
        ("EE", "An Estonian IBAN", "Estland"),
        ("ES", "A Spanish IBAN", "Spanien"),
        ("FI", "A Finnish IBAN", "Finland"),
        ("FR", "A French IBAN", "Frankrike"),
        ("GB", "A British IBAN", "Storbritannien"),
        ("IE", "An Irish IBAN", "Irland"),
        ("IT", "An Italian IBAN", "Italien"),
        ("LT", "A Lithuanian IBAN", "Litauen"),
        ("LU", "A Luxembourg IBAN", "Luxemburg"),
        ("LV", "A Latvian IBAN", "Lettland"),
        ("NL", "A Dutch IBAN", "Nederländerna"),
        ("NO", "A Norwegian IBAN", "Norge"),
        ("PL", "A Polish IBAN", "Polen"),
        ("PT", "A Portuguese IBAN", "Portugal"),
        ("SE", "A Swedish IBAN", "Sverige"),
    ];
    match (NAMES.iter().find(|(c, ..)| *c == country), tr.0) {
        (Some((_, en, _)), Locale::En) => (*en).to_owned(),
        (Some((_, _, sv)), Locale::Sv) => tr.s("iban.from").replace("{country}", sv),
        (None, _) => tr.s("iban.from").replace("{country}", country),
    }
}

/// Values as typed, made into what the API takes: dates in the forms people type (a phone's
/// number pad has no `-`) as `YYYY-MM-DD`, a website without `https://` given one, a national
/// phone number its country's calling code.
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
        // A number as dialled at home (`070-123 45 67`) gets the country's calling code.
        if d.kind == Kind::Tel {
            if let Some(international) =
                agora_onboarding::verify::national_phone(&account.country, v)
            {
                *v = international;
            }
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
        ensure_open(&req, &s)?;
        let locale = locale_of(&req, &s);
        let step = Step::from_slug(&path).ok_or_else(|| PageError::new(Problem::NoStep, locale))?;
        let account = load_account(&state, &s).await?;
        let due = Due::of(&account, &s.collect);
        let defs = if step == Step::Review || !steps::applies(step, &account) {
            Vec::new()
        } else {
            page_defs(&state, step, &account, &due).await?
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
            // Kept, marked, for another hour: Back (or the language list) then shows that the
            // details have been sent rather than an expired page.
            let now = Utc::now();
            let until = now + chrono::Duration::seconds(SESSION_TTL_S);
            links::mark_submitted(&state.db, s.id, now, until).await?;
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
        // What the seller typed comes back on an error page exactly so ("31.02.1980", not the
        // "1980-02-31" the API was given).
        let typed = values.clone();
        normalize(&account, &defs, &mut values);
        let mut errors = required_errors(&defs, &values, &submitted, tr);
        let filename = submitted.file.as_ref().and_then(|(_, n)| n.clone());
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
                errors = api_error_to_fields(
                    &e,
                    &account,
                    &defs,
                    &values,
                    &typed,
                    filename.as_deref(),
                    tr,
                );
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
                shown.extend(typed.into_iter().filter(|(_, v)| !v.is_empty()));
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
            &typed,
            &errors,
            StatusCode::BAD_REQUEST,
            back_to_review,
        ))
    }
    .await;
    finish(&state, result)
}

/// After the review: what happens now, in the seller's language, and the way on to the
/// platform (no automatic redirect: the seller reads it first). The session is submitted; its
/// cookie is given the submitted session's remaining hour, so Back finds it.
fn confirmation(
    state: &AppState,
    req: &HttpRequest,
    locale: Locale,
    return_url: &str,
) -> HttpResponse {
    let tr = Tr(locale);
    let brand_name = &state.config.branding_name;
    let page = MessagePage {
        // The language list switches through the review's address, which now says (in the
        // chosen language) that the details have been sent.
        c: chrome(
            state,
            locale,
            tr.s("done.title").to_owned(),
            "/onboarding/review",
        ),
        heading: tr.s("done.title").to_owned(),
        body: tr.named("done.body", brand_name),
        link: Some((return_url.to_owned(), tr.named("done.continue", brand_name))),
    };
    let mut res = html(StatusCode::OK, page.render());
    if let Some(token) = req.cookie(COOKIE) {
        let cookie = session_cookie(state, req, token.value().to_owned());
        if let Err(e) = res.add_cookie(&cookie) {
            tracing::warn!(error = %e, "could not renew the session cookie");
        }
    }
    res
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
    fn messages_name_dates_ibans_and_end_hints_in_full_stops() {
        let sv = Tr(Locale::Sv);
        assert_eq!(
            impossible_date(sv, "1980-02-31").as_deref(),
            Some("Det finns ingen 31 februari 1980. Kontrollera dag och månad.")
        );
        assert_eq!(
            impossible_date(Tr(Locale::En), "1980-13-01").as_deref(),
            Some("There is no month 13. Check the day and month.")
        );
        assert_eq!(impossible_date(sv, "1980-02-29"), None);
        assert_eq!(iban_phrase(sv, "DE"), "Ett IBAN från Tyskland");
        assert_eq!(iban_phrase(Tr(Locale::En), "AT"), "An Austrian IBAN");
        assert_eq!(iban_phrase(Tr(Locale::En), "XK"), "An IBAN from XK");
        assert_eq!(
            sentence("Organisationsnummer, for example 556036-0793"),
            "Organisationsnummer, for example 556036-0793."
        );
        assert_eq!(sentence("Ends well."), "Ends well.");
        assert_eq!(display_date("DE", "1975-05-20"), "20.05.1975");
        assert_eq!(display_date("US", "1975-05-20"), "05/20/1975");
        assert_eq!(display_date("SE", "1975-05-20"), "1975-05-20");
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
