//! The one shape of every list and retrieve handler. A list: parse the page parameters
//! (`limit`, `starting_after`, `ending_before`) into a [`Cursor`], then the resource's own
//! filters into the domain's scoped query, fetch one page, render it as a [`ListBody`]. A
//! retrieve: decode the path id (a bad id is a 404, as a missing row is), find it in the
//! caller's scope, 404 `resource_missing` when absent, render. The queries are the domain's;
//! this module only runs them.

use actix_web::HttpResponse;
use sea_orm::{DatabaseConnection, EntityTrait, FromQueryResult, Select};
use serde::Serialize;

use crate::adapters::gateway::error::ApiError;
use crate::adapters::gateway::pagination::{Cursor, ListBody};
use crate::infra::db::page::{self, Page};
use crate::infra::wire::ids::{self, IdKind};
use crate::infra::wire::typed::TypedId;

/// A list query with the three page parameters (`limit`, `starting_after`, `ending_before`);
/// implemented by [`paged!`].
pub trait Paged {
    fn limit(&self) -> Option<i64>;
    fn starting_after(&self) -> Option<&str>;
    fn ending_before(&self) -> Option<&str>;
}

/// Implements [`Paged`] for a list query struct with the usual three fields.
macro_rules! paged {
    ($($query:ty),+ $(,)?) => {$(
        impl $crate::adapters::api::listing::Paged for $query {
            fn limit(&self) -> Option<i64> {
                self.limit
            }
            fn starting_after(&self) -> Option<&str> {
                self.starting_after.as_deref()
            }
            fn ending_before(&self) -> Option<&str> {
                self.ending_before.as_deref()
            }
        }
    )+};
}
pub(crate) use paged;

/// One page of any list: the page parameters first (their errors come before the filters'),
/// then `fetch` (which parses the filters and runs the domain's query), then `render`.
pub async fn list<M, T: Serialize>(
    url: &str,
    kind: IdKind,
    query: &impl Paged,
    fetch: impl AsyncFnOnce(Cursor) -> Result<Page<M>, ApiError>,
    render: impl AsyncFnOnce(&[M]) -> Result<Vec<T>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let cursor = Cursor::parse(
        kind,
        query.limit(),
        query.starting_after(),
        query.ending_before(),
    )?;
    let page = fetch(cursor).await?;
    let data = render(&page.rows).await?;
    Ok(HttpResponse::Ok().json(ListBody::new(url, data, page.has_more)))
}

/// A list that always fits one page (a seller's bank accounts): no page parameters, every
/// row `fetch` returns, `has_more` false.
pub async fn whole<M, T: Serialize>(
    url: &str,
    fetch: impl AsyncFnOnce() -> Result<Vec<M>, ApiError>,
    render: impl FnMut(&M) -> T,
) -> Result<HttpResponse, ApiError> {
    let rows = fetch().await?;
    let data: Vec<T> = rows.iter().map(render).collect();
    Ok(HttpResponse::Ok().json(ListBody::new(url, data, false)))
}

/// [`list`] over a domain query keyed by `id`, each row rendered on its own. `select` parses
/// the filters and returns the domain's scoped query.
pub async fn page<E, T: Serialize>(
    db: &DatabaseConnection,
    url: &str,
    kind: IdKind,
    query: &impl Paged,
    select: impl AsyncFnOnce() -> Result<Select<E>, ApiError>,
    render: impl FnMut(&E::Model) -> T,
) -> Result<HttpResponse, ApiError>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
{
    list(
        url,
        kind,
        query,
        async |cursor| Ok(cursor.fetch_by_id(db, select().await?).await?),
        async |rows| Ok(rows.iter().map(render).collect()),
    )
    .await
}

/// An optional list filter, parsed by `parse` (whose errors name the parameter).
pub fn optional<T>(
    value: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, ApiError>,
) -> Result<Option<T>, ApiError> {
    value.as_deref().map(parse).transpose()
}

/// The `type` filter of events and balance transactions: 1 to `max` characters, else a 400
/// naming `type` with `message`.
pub fn check_type(
    kind: &Option<String>,
    max: usize,
    message: &'static str,
) -> Result<(), ApiError> {
    match kind {
        Some(kind) if kind.is_empty() || kind.chars().count() > max => {
            Err(ApiError::invalid("type", "parameter_invalid", message))
        }
        _ => Ok(()),
    }
}

/// Decodes a list filter naming an object (`charge`, `batch`, `payout`, `destination`…); a
/// malformed one is a 400 naming `param`.
pub fn filter_id<I: TypedId>(param: &str, raw: &str) -> Result<I, ApiError> {
    I::parse(raw)
        .map_err(|e| ApiError::invalid(param, "parameter_invalid", format!("Invalid {param}: {e}")))
}

/// Decodes a path id of the kind `I`; a malformed one is no such `what` (404), like a missing
/// row.
pub fn path_id<I: TypedId>(what: &str, raw: &str) -> Result<I, ApiError> {
    I::parse(raw).map_err(|_| ApiError::not_found(what, raw))
}

/// One retrieve: decode `raw` as an `I` (404 when malformed), `find` it in the caller's
/// scope, 404 `resource_missing` naming `what` when it is not there, else 200 with `render`.
pub async fn retrieve<I: TypedId, M, T: Serialize>(
    what: &str,
    raw: &str,
    find: impl AsyncFnOnce(I) -> Result<Option<M>, ApiError>,
    render: impl FnOnce(M) -> T,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<I>(what, raw)?;
    let found = find(id)
        .await?
        .ok_or_else(|| ApiError::not_found(what, raw))?;
    Ok(HttpResponse::Ok().json(render(found)))
}

/// [`retrieve`] of the row with the path id in the domain's scoped `query`.
pub async fn retrieve_in<E, T: Serialize>(
    db: &DatabaseConnection,
    kind: IdKind,
    what: &str,
    raw: &str,
    query: Select<E>,
    render: impl FnOnce(&E::Model) -> T,
) -> Result<HttpResponse, ApiError>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
{
    let id = ids::decode(kind, raw).map_err(|_| ApiError::not_found(what, raw))?;
    let found = page::find_by_id(db, query, id)
        .await?
        .ok_or_else(|| ApiError::not_found(what, raw))?;
    Ok(HttpResponse::Ok().json(render(&found)))
}
