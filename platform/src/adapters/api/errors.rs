//! Domain errors → HTTP, once. Every domain service returns its own error enum (no status
//! codes below the adapters); the JSON API and the hosted pages turn them into [`ApiError`]
//! here, with the codes, params and messages the API has always answered.

use actix_web::http::StatusCode;

use crate::adapters::gateway::error::{ApiError, ErrorType};
use crate::domain::kyc::KycError;
use crate::domain::payments::PaymentError;
use crate::domain::payouts::PayoutError;
use crate::domain::webhooks::endpoints::WebhookError;
use crate::infra::email::EmailError;
use crate::infra::wire::ids::{self, IdKind};

impl From<PaymentError> for ApiError {
    fn from(err: PaymentError) -> Self {
        match err {
            PaymentError::Invalid {
                param,
                code,
                message,
            } => ApiError::invalid(param, code, message),
            PaymentError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorType::InvalidRequestError,
                "resource_missing",
                format!("No such {what}"),
            ),
            PaymentError::State { code, message } => ApiError::bad_request(code, message),
            PaymentError::Ledger(e) => ApiError::internal(e),
            PaymentError::Db(e) => ApiError::internal(e),
        }
    }
}

impl From<KycError> for ApiError {
    fn from(err: KycError) -> Self {
        match err {
            KycError::Invalid {
                param,
                code,
                message,
            } => ApiError::invalid(param, code, message),
            KycError::Missing { param, what, id } => ApiError::missing(param, what, &id),
            KycError::NotFound { what, id } => ApiError::not_found(what, &id),
            KycError::State { code, message } => ApiError::bad_request(code, message),
            KycError::FileTooLarge => super::files::too_large(),
            KycError::Db(e) => ApiError::internal(e),
            KycError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<EmailError> for ApiError {
    fn from(err: EmailError) -> Self {
        ApiError::internal(err)
    }
}

impl From<PayoutError> for ApiError {
    fn from(err: PayoutError) -> Self {
        match err {
            PayoutError::Invalid {
                param,
                code,
                message,
            } => ApiError::invalid(param, code, message),
            PayoutError::State { code, message } => ApiError::bad_request(code, message),
            PayoutError::NotFound { what, id } => {
                ApiError::not_found(what, &ids::encode(IdKind::Payout, id))
            }
            PayoutError::Kyc(e) => e.into(),
            PayoutError::Email(e) => e.into(),
            PayoutError::Db(e) => ApiError::internal(e),
            PayoutError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(err: WebhookError) -> Self {
        match err {
            WebhookError::NotFound { what, id } => ApiError::not_found(what, &id),
            WebhookError::Missing { param, what, id } => ApiError::missing(param, what, &id),
            WebhookError::Invalid {
                param,
                code,
                message,
            } => ApiError::invalid(param, code, message),
            WebhookError::State { code, message } => ApiError::bad_request(code, message),
            WebhookError::Db(e) => ApiError::internal(e),
            WebhookError::Internal(e) => ApiError::internal(e),
        }
    }
}
