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
    pub current: bool,
}

/// What every page shares: language, branding, the language switch.
pub struct Chrome {
    pub t: Tr,
    pub lang: &'static str,
    pub title: String,
    pub brand_name: String,
    pub logo_url: Option<String>,
    /// Empty on pages without a session (the switch is remembered in the session).
    pub switch_href: String,
    pub switch_lang: &'static str,
    pub switch_label: &'static str,
    pub progress: Vec<ProgressItem>,
}

fn chrome(state: &AppState, locale: Locale, title: String, switch_href: String) -> Chrome {
    let t = Tr(locale);
    Chrome {
        t,
        lang: locale.code(),
        title,
        brand_name: state.config.branding_name.clone(),
        logo_url: state.config.branding_logo_url.clone(),
        switch_href,
        switch_lang: locale.other().code(),
        switch_label: t.s("lang.switch"),
        progress: Vec::new(),
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
    /// `text`, `email`, `tel`, `url`, `select`, `radio`, `checkbox`, `file`.
    pub kind: &'static str,
    pub label: String,
    pub hint: Option<&'static str>,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
    /// Opens a `<fieldset>` with this legend (an owner's or director's row, a section).
    pub group: Option<String>,
    /// Closes the previous group's `<fieldset>` first.
    pub close_group_before: bool,
    pub required: bool,
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
    fields: Vec<FieldView>,
    /// The last group's `<fieldset>` is still open after the fields.
    close_group_at_end: bool,
    /// (field id, message) for the error summary.
    errors: Vec<(String, String)>,
    csrf: String,
    multipart: bool,
    submit_label: &'static str,
}

#[derive(Template)]
#[template(path = "onboarding/review.html")]
struct ReviewPage {
    c: Chrome,
    heading: String,
    rows: Vec<(&'static str, String)>,
    missing: Vec<String>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "onboarding/message.html")]
struct MessagePage {
    c: Chrome,
    heading: &'static str,
    body: &'static str,
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
    let page = MessagePage {
        c: chrome(state, e.locale, t.s(title).to_owned(), String::new()),
        heading: t.s(title),
        body: t.s(body),
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

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
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

/// `GET /onboarding/{step}` (with `?lang=en|sv` to switch language).
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LangQuery>,
) -> HttpResponse {
    let result = async {
        let s = load_session(&state, &req).await?;
        let step = Step::from_slug(&path)
            .ok_or_else(|| PageError::new(Problem::NotFound, locale_of(&req, &s)))?;
        if let Some(lang) = query.lang.as_deref().and_then(Locale::parse) {
            // Remembered in the session; the redirect drops the query from the address bar.
            kyc_links::set_session_locale(&state.db, &s, lang.code()).await?;
            return Ok(see_other(&format!("/onboarding/{}", step.slug())));
        }
        let account = load_account(&state, &s).await?;
        let due = Due::of(&account, &s.collect);
        let locale = locale_of(&req, &s);
        if step == Step::Review {
            return review_page(&state, &s, &account, &due, locale).await;
        }
        let defs = steps::fields(step, &account, &due);
        if defs.is_empty() {
            // Nothing due here (any more): on to what is.
            return Ok(see_other(&format!(
                "/onboarding/{}",
                steps::next(&account, &due).slug()
            )));
        }
        // Verification errors the engine reported (an id number that does not match the date
        // of birth, a failed document) are shown as field errors straight away.
        let mut errors: HashMap<String, String> = HashMap::new();
        let tr = Tr(locale);
        for (requirement, code, reason) in &due.errors {
            if defs.iter().any(|d| &d.name == requirement) {
                errors.insert(requirement.clone(), tr.error(code, reason));
            }
        }
        let status = StatusCode::OK;
        Ok(step_page(
            &state,
            &s,
            &account,
            &due,
            step,
            locale,
            &defs,
            &HashMap::new(),
            &errors,
            status,
        ))
    }
    .await;
    finish(&state, result)
}

fn field_label(tr: Tr, def: &FieldDef, brand_name: &str) -> String {
    branded(tr, def.label, brand_name)
}

/// The string `key` with the platform's name in it; under Agora's own name (no branding set)
/// its `.unbranded` variant where one exists, so a page never says "Agora and Agora".
fn branded(tr: Tr, key: &'static str, brand_name: &str) -> String {
    if brand_name == crate::infra::config::DEFAULT_BRANDING_NAME {
        let unbranded = match key {
            "terms.accept" => Some("terms.accept.unbranded"),
            "intro" => Some("intro.unbranded"),
            _ => None,
        };
        if let Some(k) = unbranded {
            return tr.s(k).to_owned();
        }
    }
    tr.s(key).replace("{name}", brand_name)
}

fn group_label(tr: Tr, group: &str) -> String {
    if let Some(n) = group.strip_prefix("owner ") {
        return format!("{} {n}", tr.s("owner"));
    }
    if let Some(n) = group.strip_prefix("director ") {
        return format!("{} {n}", tr.s("director"));
    }
    tr.s(group).to_owned()
}

fn progress(account: &Account, due: &Due, current: Step, tr: Tr) -> Vec<ProgressItem> {
    let company = account.business_type.as_deref() == Some("company");
    steps::ORDER
        .into_iter()
        .filter(|s| {
            *s == current || *s == Step::Review || !steps::fields(*s, account, due).is_empty()
        })
        .map(|s| ProgressItem {
            label: tr.s(s.title_key(company)),
            current: s == current,
        })
        .collect()
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
) -> HttpResponse {
    let tr = Tr(locale);
    let company = account.business_type.as_deref() == Some("company");
    let brand_name = &state.config.branding_name;
    let fields: Vec<FieldView> = defs
        .iter()
        .map(|def| {
            let id = steps::html_id(&def.name);
            let value = values.get(&def.name).cloned().unwrap_or_default();
            let error = errors.get(&def.name).cloned();
            let mut described = Vec::new();
            if def.hint.is_some() {
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
                Kind::Checkbox => ("checkbox", Vec::new()),
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
                label: field_label(tr, def, brand_name),
                hint: def.hint.map(|h| tr.s(h)),
                autocomplete: def.autocomplete,
                inputmode: def.inputmode,
                group: def.group.as_deref().map(|g| group_label(tr, g)),
                close_group_before: false,
                required: def.required,
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
    // The summary lists errors in the order of the fields, then any without a field.
    let mut summary: Vec<(String, String)> = fields
        .iter()
        .filter_map(|f| f.error.clone().map(|e| (f.id.clone(), e)))
        .collect();
    if let Some(general) = errors.get("") {
        let target = fields.first().map(|f| f.id.clone()).unwrap_or_default();
        summary.push((target, general.clone()));
    }
    let heading = tr.s(step.title_key(company)).to_owned();
    let intro = match step {
        Step::Business => branded(tr, "intro", brand_name),
        Step::Owners => tr.s("owners.intro").to_owned(),
        Step::Bank => tr.s("bank.intro").to_owned(),
        Step::Terms => tr.s("terms.intro").to_owned(),
        _ => tr.s("required").to_owned(),
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
        format!("/onboarding/{}?lang={}", step.slug(), locale.other().code()),
    );
    c.progress = progress(account, due, step, tr);
    let page = StepPage {
        c,
        step: step.slug(),
        heading,
        intro,
        multipart: defs.iter().any(|d| d.kind == Kind::File),
        fields,
        close_group_at_end,
        errors: summary,
        csrf: s.csrf_token.clone(),
        submit_label: tr.s("continue"),
    };
    html(status, page.render())
}

async fn review_page(
    state: &AppState,
    s: &session::Model,
    account: &Account,
    due: &Due,
    locale: Locale,
) -> Result<HttpResponse, PageError> {
    let tr = Tr(locale);
    let profile = agora_onboarding::kyc::Profile::from_json(account.profile.as_ref());
    let person = if account.business_type.as_deref() == Some("company") {
        profile
            .company
            .as_ref()
            .and_then(|c| c.representative.clone())
    } else {
        profile.individual.clone()
    };
    let mut rows = Vec::new();
    if let Some(p) = &person {
        if let Some(name) = p.full_name() {
            rows.push((tr.s("review.name"), name));
        }
        // The account's email stands in for the person's own (requirements.rs).
        if let Some(email) = p.email.as_ref().or(account.email.as_ref()) {
            rows.push((tr.s("email"), email.clone()));
        }
        // That it was given, never any of it: with the date of birth, the end of a
        // personnummer is the whole number.
        if p.id_number.is_some() {
            rows.push((tr.s("review.id_number"), tr.s("review.given").to_owned()));
        }
    }
    let banks =
        crate::domain::kyc::banks::live_banks(&state.db, account.livemode, account.id).await?;
    if let Some(b) = banks.first() {
        if b.last4.is_empty() {
            // A personkonto: its number is the personnummer.
            rows.push((tr.s("review.bank_account"), tr.s("review.given").to_owned()));
        } else {
            rows.push((tr.s("review.bank"), b.last4.clone()));
        }
    }
    if profile.tos_acceptance.is_some() {
        rows.push((tr.s("review.terms"), tr.s("yes").to_owned()));
    }
    let missing = due.names.iter().cloned().collect();
    let heading = tr.s("step.review").to_owned();
    let mut c = chrome(
        state,
        locale,
        heading.clone(),
        format!("/onboarding/review?lang={}", locale.other().code()),
    );
    c.progress = progress(account, due, Step::Review, tr);
    let page = ReviewPage {
        c,
        heading,
        rows,
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

fn api_error_to_fields(e: &ApiError, defs: &[FieldDef], tr: Tr) -> FieldErrors {
    let message = tr.error(e.code, &e.message);
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
        let step =
            Step::from_slug(&path).ok_or_else(|| PageError::new(Problem::NotFound, locale))?;
        let account = load_account(&state, &s).await?;
        let due = Due::of(&account, &s.collect);
        let defs = steps::fields(step, &account, &due);
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
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, s.return_url.as_str()))
                .cookie(session_cookie(&state, &req, String::new()).tap_expire())
                .finish());
        }
        if defs.is_empty() {
            return Ok(see_other(&format!(
                "/onboarding/{}",
                steps::next(&account, &due).slug()
            )));
        }
        let tr = Tr(locale);
        let values: HashMap<String, String> = defs
            .iter()
            .filter_map(|d| {
                submitted
                    .values
                    .get(&d.name)
                    .map(|v| (d.name.clone(), v.trim().to_owned()))
            })
            .collect();
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
                errors = api_error_to_fields(&e, &defs, tr);
            }
        }
        if errors.is_empty() {
            let account = load_account(&state, &s).await?;
            let due = Due::of(&account, &s.collect);
            return Ok(see_other(&format!(
                "/onboarding/{}",
                steps::next(&account, &due).slug()
            )));
        }
        // Sensitive values are not sent back: the seller types the document again anyway.
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
        ))
    }
    .await;
    finish(&state, result)
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

/// Fields left empty. Owner rows are all-or-nothing: an empty row is nobody.
fn required_errors(
    defs: &[FieldDef],
    values: &HashMap<String, String>,
    submitted: &Submitted,
    tr: Tr,
) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let missing = tr.error("parameter_missing", "Enter this information.");
    for d in defs {
        let empty = values.get(&d.name).is_none_or(|v| v.is_empty());
        let problem = match d.kind {
            Kind::File => submitted
                .file
                .as_ref()
                .is_none_or(|(b, _)| b.is_empty())
                .then(|| missing.clone()),
            Kind::Checkbox => (values.get(&d.name).map(String::as_str) != Some("accept"))
                .then(|| tr.error("terms_not_accepted", "Accept the terms to continue.")),
            _ => (d.required && empty).then(|| missing.clone()),
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
            let filled = row
                .iter()
                .any(|d| values.get(&d.name).is_some_and(|v| !v.is_empty()));
            if filled {
                for d in row {
                    if values.get(&d.name).is_none_or(|v| v.is_empty()) {
                        errors.insert(d.name.clone(), missing.clone());
                    }
                }
            }
        }
    }
    errors
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
    match step {
        Step::Business => {
            if let Some(bt) = values.get("business_type") {
                let business_type = BusinessType::parse(bt)
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
                if let Some(v) = values.get(&d.name) {
                    steps::set_path(&mut kyc_json, &d.name, Value::String(v.clone()));
                }
            }
        }
        Step::Details => {
            for d in defs {
                if let Some(v) = values.get(&d.name) {
                    steps::set_path(&mut kyc_json, &d.name, Value::String(v.clone()));
                }
            }
        }
        Step::Owners => {
            // Each list shown is replaced whole: the filled rows, compacted; none means nobody
            // (no owner holds 25% or more). A list not shown is left as it is.
            for (list, rows) in steps::PERSON_LISTS {
                let shown = defs.iter().any(|d| d.name.starts_with(&format!("{list}[")));
                if !shown {
                    continue;
                }
                let mut people = Vec::new();
                for i in 0..rows {
                    let prefix = format!("{list}[{i}].");
                    let mut person = json!({});
                    for d in defs.iter().filter(|d| d.name.starts_with(&prefix)) {
                        if let Some(v) = values.get(&d.name).filter(|v| !v.is_empty()) {
                            let key = d.name.trim_start_matches(&prefix);
                            person[key] = Value::String(v.clone());
                        }
                    }
                    if person.as_object().is_some_and(|o| !o.is_empty()) {
                        people.push(person);
                    }
                }
                steps::set_path(&mut kyc_json, list, Value::Array(people));
            }
        }
        Step::Bank => {
            let get = |k: &str| values.get(k).filter(|v| !v.is_empty()).cloned();
            let input = crate::domain::kyc::banks::NewBankAccount {
                country: account.country.clone(),
                currency: account.default_currency.clone(),
                iban: get("iban"),
                routing_number: get("routing_number"),
                sort_code: None,
                account_number: get("account_number"),
                account_holder_name: get("account_holder_name"),
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
    crate::domain::kyc::apply(&txn, &state.kyc, account, &kyc, Some(&before), origin).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::branded;
    use crate::infra::config::DEFAULT_BRANDING_NAME;
    use crate::infra::i18n::{Locale, Tr};

    #[test]
    fn the_platform_name_appears_once_whether_branded_or_not() {
        let en = Tr(Locale::En);
        assert_eq!(
            branded(en, "terms.accept", "Bazaar"),
            "I accept the terms of service of Bazaar and Agora"
        );
        assert_eq!(
            branded(en, "terms.accept", DEFAULT_BRANDING_NAME),
            "I accept the terms of service of Agora"
        );
        assert_eq!(
            branded(Tr(Locale::Sv), "intro", DEFAULT_BRANDING_NAME),
            "Agora betalar dig. Vi frågar bara efter det som lagen och bankerna kräver."
        );
        assert!(branded(en, "intro", "Bazaar").starts_with("Bazaar uses Agora"));
    }
}
