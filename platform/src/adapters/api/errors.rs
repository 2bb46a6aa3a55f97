//! Domain errors → HTTP, once. Every domain service returns its own error enum (no status
//! codes below the adapters); the JSON API and the hosted pages turn them into [`ApiError`]
//! here, with the codes, params and messages the API has always answered.

use actix_web::http::StatusCode;

use crate::adapters::gateway::error::{ApiError, ErrorType};
use crate::domain::kyc::KycError;
use crate::domain::payments::{Field, PaymentError, SplitField, MAX_AMOUNT};
use crate::domain::payouts::PayoutError;
use crate::domain::webhooks::endpoints::WebhookError;
use crate::infra::email::EmailError;
use crate::infra::wire::ids::{self, IdKind};

/// The API's name of a payments field: `amount`, or `splits[0].destination` for a part of a
/// cart's split.
pub(super) fn param(field: Field) -> String {
    let split_part = |part| match part {
        SplitField::Destination => "destination",
        SplitField::Amount => "amount",
        SplitField::ApplicationFeeAmount => "application_fee_amount",
    };
    match field {
        Field::Amount => "amount".to_owned(),
        Field::ApplicationFeeAmount => "application_fee_amount".to_owned(),
        Field::Destination => "destination".to_owned(),
        Field::PaymentMethod => "payment_method".to_owned(),
        Field::SourceTransaction => "source_transaction".to_owned(),
        Field::Splits => "splits".to_owned(),
        Field::Split { index, part } => format!("splits[{index}].{}", split_part(part)),
    }
}

impl From<PaymentError> for ApiError {
    fn from(err: PaymentError) -> Self {
        match err {
            PaymentError::Invalid {
                field,
                code,
                message,
            } => ApiError::invalid(param(field), code, message),
            PaymentError::AmountOutOfRange(field) => {
                let param = param(field);
                let message = format!("{param} must be between 1 and {MAX_AMOUNT} minor units");
                ApiError::invalid(param, "amount_invalid", message)
            }
            PaymentError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorType::InvalidRequestError,
                "resource_missing",
                format!("No such {what}"),
            ),
            PaymentError::State { code, message } => ApiError::bad_request(code, message),
            // A statement the database aborted (a deadlock, say) may be transient: 503.
            PaymentError::Ledger(agora_ledger::LedgerError::Db(e)) => ApiError::from(e),
            PaymentError::Ledger(e) => ApiError::internal(e),
            PaymentError::Db(e) => ApiError::from(e),
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
            KycError::Db(e) => ApiError::from(e),
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
            PayoutError::Gone { code, message } => ApiError::new(
                StatusCode::GONE,
                ErrorType::InvalidRequestError,
                code,
                message,
            ),
            // The domain logged which batch; the message names no internals.
            PayoutError::Integrity { code, message } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorType::ApiError,
                code,
                message,
            ),
            PayoutError::Kyc(e) => e.into(),
            PayoutError::Email(e) => e.into(),
            PayoutError::Db(e) => ApiError::from(e),
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
            WebhookError::Db(e) => ApiError::from(e),
            WebhookError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<crate::domain::usage::UsageError> for ApiError {
    fn from(err: crate::domain::usage::UsageError) -> Self {
        use crate::domain::usage::UsageError;
        let message = err.to_string();
        match err {
            // The range is what to change: it is named by its start.
            UsageError::RangeEmpty | UsageError::RangeTooWide { .. } | UsageError::TooManyRows => {
                ApiError::invalid("from", "parameter_invalid", message)
            }
            UsageError::KeyAmbiguous { .. } => {
                ApiError::invalid("key", "parameter_invalid", message)
            }
            UsageError::Db(e) => ApiError::from(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payments_fields_are_spelt_as_the_api_caller_wrote_them() {
        let split = |index, part| Field::Split { index, part };
        assert_eq!(param(Field::Amount), "amount");
        assert_eq!(param(Field::Splits), "splits");
        assert_eq!(
            param(split(0, SplitField::Destination)),
            "splits[0].destination"
        );
        assert_eq!(param(split(2, SplitField::Amount)), "splits[2].amount");
        assert_eq!(
            param(split(1, SplitField::ApplicationFeeAmount)),
            "splits[1].application_fee_amount"
        );
        let err = ApiError::from(PaymentError::AmountOutOfRange(split(3, SplitField::Amount)));
        assert_eq!(err.param.as_deref(), Some("splits[3].amount"));
    }
}
