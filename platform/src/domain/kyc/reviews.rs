//! Sanctions screening and the operator's review queue.
//!
//! Screening never decides: a potential match opens a review and holds the account
//! (`disabled_reason: under_review`) until the operator approves (a different person) or
//! rejects (a confirmed match: the account is rejected as `listed`). Documents that need a
//! human (live mode, or `document_review = "manual"`) wait in the same queue.

use crate::infra::events::EventType;
use agora_onboarding::accounts::Account;
use agora_onboarding::kyc::entities::review;
use agora_onboarding::kyc::{self as engine, DocumentStatus, Profile, Screening, ScreeningStatus};
use agora_onboarding::sanctions::{Subject, SubjectKind};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::view::AccountObject;
use super::{KycError, Runtime};
use crate::infra::events::{self, NewEvent, Origin};
use crate::infra::wire::ids::{self, IdKind};

pub const SANCTIONS_HIT: &str = "sanctions_hit";
pub const DOCUMENT: &str = "document";

/// The review's API object.
/// `GET /v1/reviews`: one mode's reviews, optionally of one status and one account.
pub fn query(
    livemode: bool,
    status: Option<agora_onboarding::kyc::entities::review::ReviewStatus>,
    account: Option<crate::infra::wire::typed::AccountId>,
) -> sea_orm::Select<review::Entity> {
    let mut select = review::Entity::find().filter(review::Column::Livemode.eq(livemode));
    if let Some(status) = status {
        select = select.filter(review::Column::Status.eq(status));
    }
    if let Some(account) = account {
        select = select.filter(review::Column::AccountId.eq(account));
    }
    select
}

/// The review with this id in one mode, if any.
pub async fn find(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: crate::infra::wire::typed::ReviewId,
) -> Result<Option<review::Model>, sea_orm::DbErr> {
    review::Entity::find_by_id(id.uuid())
        .filter(review::Column::Livemode.eq(livemode))
        .one(db)
        .await
}

pub fn object(r: &review::Model) -> Value {
    json!({
        "id": ids::encode(IdKind::Review, r.id),
        "object": "review",
        "livemode": r.livemode,
        "account": ids::encode(IdKind::Account, r.account_id),
        "reason": r.reason,
        "subject": r.subject,
        "status": r.status,
        "details": r.details,
        "closed_reason": r.closed_reason,
        "created": crate::infra::wire::timestamp(r.created_at),
        "closed": r.closed_at.map(crate::infra::wire::timestamp),
    })
}

async fn open(
    db: &impl ConnectionTrait,
    account: &Account,
    reason: &str,
    subject: &str,
    details: Value,
    origin: &Origin,
) -> Result<Uuid, KycError> {
    let now = crate::infra::clock::now(db, account.livemode).await?;
    let row = review::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(account.livemode),
        account_id: Set(account.id),
        reason: Set(reason.to_owned()),
        subject: Set(subject.to_owned()),
        status: Set(agora_onboarding::kyc::entities::review::ReviewStatus::Open),
        details: Set(details),
        closed_reason: Set(None),
        created_at: Set(now),
        closed_at: Set(None),
    }
    .insert(db)
    .await?;
    events::record_at(
        db,
        NewEvent {
            livemode: account.livemode,
            account_id: Some(account.id),
            kind: EventType::ReviewOpened,
            object: object(&row),
            previous_attributes: None,
        },
        origin,
        now,
    )
    .await?;
    tracing::info!(review = %row.id, reason, "review opened");
    Ok(row.id)
}

fn company_subject(name: &str) -> String {
    let digest = Sha256::digest(name.to_lowercase().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Screens every person (and the company name) whose name or date of birth changed since
/// their last screening, and opens a review for each potential match. Documents newly waiting
/// for a human get their review too. Runs on the merged profile before it is saved.
pub async fn screen_and_queue(
    db: &impl ConnectionTrait,
    runtime: &Runtime,
    account: &Account,
    profile: &mut Profile,
    origin: &Origin,
) -> Result<(), KycError> {
    let paths: Vec<String> = profile.persons().into_iter().map(|(p, _)| p).collect();
    for path in paths {
        let Some(person) = profile.person_mut(&path) else {
            continue;
        };
        if let (Some(list), Some(subject)) = (&runtime.sanctions, engine::screening_subject(person))
        {
            let screened = person.screening.as_ref().map(|s| s.subject.as_str());
            if screened != Some(subject.as_str()) {
                let name = person.full_name().unwrap_or_default();
                let hits = list.screen(&Subject {
                    name,
                    dob: person.dob,
                    kind: SubjectKind::Individual,
                });
                person.screening = Some(if hits.is_empty() {
                    Screening {
                        subject,
                        status: ScreeningStatus::Clear,
                        review: None,
                    }
                } else {
                    let details = json!({ "hits": hits_json(&hits) });
                    let review = open(db, account, SANCTIONS_HIT, &path, details, origin).await?;
                    Screening {
                        subject,
                        status: ScreeningStatus::PendingReview,
                        review: Some(review),
                    }
                });
            }
        }
        let Some(person) = profile.person_mut(&path) else {
            continue;
        };
        if person.document_status == Some(DocumentStatus::Pending) {
            if let Some(file) = person.document {
                let queued = review::Entity::find()
                    .filter(review::Column::AccountId.eq(account.id))
                    .filter(review::Column::Reason.eq(DOCUMENT))
                    .filter(
                        review::Column::Status
                            .eq(agora_onboarding::kyc::entities::review::ReviewStatus::Open),
                    )
                    .all(db)
                    .await?
                    .iter()
                    .any(|r| r.details["file"] == json!(ids::encode(IdKind::File, file)));
                if !queued {
                    let details = json!({ "file": ids::encode(IdKind::File, file) });
                    open(db, account, DOCUMENT, &path, details, origin).await?;
                }
            }
        }
    }
    if let (Some(list), Some(company)) = (&runtime.sanctions, profile.company.as_mut()) {
        if let Some(name) = company.name.clone() {
            let subject = company_subject(&name);
            if company.screening.as_ref().map(|s| s.subject.as_str()) != Some(subject.as_str()) {
                let hits = list.screen(&Subject {
                    name,
                    dob: None,
                    kind: SubjectKind::Organisation,
                });
                company.screening = Some(if hits.is_empty() {
                    Screening {
                        subject,
                        status: ScreeningStatus::Clear,
                        review: None,
                    }
                } else {
                    let details = json!({ "hits": hits_json(&hits) });
                    let review =
                        open(db, account, SANCTIONS_HIT, "company", details, origin).await?;
                    Screening {
                        subject,
                        status: ScreeningStatus::PendingReview,
                        review: Some(review),
                    }
                });
            }
        }
    }
    Ok(())
}

fn hits_json(hits: &[agora_onboarding::sanctions::Hit]) -> Value {
    Value::Array(
        hits.iter()
            .take(10)
            .map(|h| {
                json!({
                    "list_entry": h.ent_num,
                    "listed_name": h.listed_name,
                    // Rounded for display: the decision is the operator's, not the score's.
                    "score": (h.score * 100.0).round() / 100.0,
                    "dob_match": format!("{:?}", h.dob_match).to_lowercase(),
                })
            })
            .collect(),
    )
}

/// Closes an open review with the operator's decision and applies it to the account.
pub async fn close(
    db: &impl ConnectionTrait,
    row: review::Model,
    approve: bool,
    reason: Option<String>,
    origin: &Origin,
) -> Result<review::Model, KycError> {
    let account = agora_onboarding::accounts::find_for_update(db, row.livemode, row.account_id)
        .await?
        .ok_or_else(|| KycError::internal("review of a missing account"))?;
    let before = AccountObject::json(&account)?;
    let mut profile = Profile::from_json(account.profile.as_ref());
    let mut rejected_reason = None;
    match row.reason.as_str() {
        SANCTIONS_HIT => {
            let screening = if row.subject == "company" {
                profile.company.as_mut().and_then(|c| c.screening.as_mut())
            } else {
                profile
                    .person_mut(&row.subject)
                    .and_then(|p| p.screening.as_mut())
            };
            // Only the screening this review was opened for: a renamed person was screened
            // again and carries another review.
            if let Some(s) = screening.filter(|s| s.review == Some(row.id)) {
                s.status = if approve {
                    ScreeningStatus::Cleared
                } else {
                    ScreeningStatus::Confirmed
                };
            }
            if !approve {
                rejected_reason = Some("listed".to_owned());
            }
        }
        _ => {
            let file = row.details["file"].as_str().map(str::to_owned);
            if let Some(person) = profile.person_mut(&row.subject) {
                let same = person
                    .document
                    .map(|d| ids::encode(IdKind::File, d))
                    .is_some_and(|d| Some(&d) == file.as_ref());
                if same {
                    if approve {
                        person.document_status = Some(DocumentStatus::Verified);
                        person.document_error = None;
                    } else {
                        person.document_status = Some(DocumentStatus::Failed);
                        person.document_error = Some(reason.clone().unwrap_or_else(|| {
                            "The identity document could not be verified; upload another."
                                .to_owned()
                        }));
                    }
                }
            }
        }
    }
    let now = crate::infra::clock::now(db, row.livemode).await?;
    let mut model: review::ActiveModel = row.into();
    model.status = Set(if approve {
        agora_onboarding::kyc::entities::review::ReviewStatus::Approved
    } else {
        agora_onboarding::kyc::entities::review::ReviewStatus::Rejected
    });
    model.closed_reason = Set(reason);
    model.closed_at = Set(Some(now));
    let closed = model.update(db).await?;
    events::record_at(
        db,
        NewEvent {
            livemode: closed.livemode,
            account_id: Some(closed.account_id),
            kind: EventType::ReviewClosed,
            object: object(&closed),
            previous_attributes: Some(json!({ "status": "open" })),
        },
        origin,
        now,
    )
    .await?;
    let account = if let Some(r) = rejected_reason {
        let mut model: agora_onboarding::accounts::entity::ActiveModel = account.into();
        model.rejected_reason = Set(Some(r));
        crate::infra::cache::ACCOUNTS.bump(); // charges' cached sellers (infra::cache)
        model.update(db).await?
    } else {
        account
    };
    super::save_profile(db, account, &profile, Some(&before), origin).await?;
    Ok(closed)
}
