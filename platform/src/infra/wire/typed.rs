//! Typed ids: one newtype over the row's UUID per kind of object, so that a function taking a
//! charge id cannot be handed an account id. Storage keeps the bare `Uuid` (the entity
//! columns are unchanged); a typed id goes into a query as its UUID (`From<ChargeId> for
//! sea_orm::Value`, so `charge::Column::Id.eq(id)` works), and shows as its public TypeID
//! (`Display`: `ch_…`, through [`ids::encode`]).

use std::fmt;

use uuid::Uuid;

use super::ids::{self, IdError, IdKind};

/// What every typed id has: its kind, and the UUID it wraps.
pub trait TypedId: Copy + Eq + Ord + std::hash::Hash + fmt::Debug + fmt::Display {
    /// The kind of object, and so the public prefix.
    const KIND: IdKind;
    /// Wraps a UUID read from a row of this kind.
    fn from_uuid(id: Uuid) -> Self;
    /// The UUID, as stored.
    fn uuid(self) -> Uuid;
    /// Parses the public id (`acct_…`); the wrong prefix or a malformed suffix is an error.
    fn parse(raw: &str) -> Result<Self, IdError> {
        ids::decode(Self::KIND, raw).map(Self::from_uuid)
    }
}

macro_rules! typed_ids {
    ($($(#[$doc:meta])* $name:ident => $kind:ident;)+) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID read from a row of this kind.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID, as stored.
            pub const fn uuid(self) -> Uuid {
                self.0
            }

            /// Parses the public id; the wrong prefix or a malformed suffix is an error.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                <Self as TypedId>::parse(raw)
            }

            /// A new id (UUIDv7: ordered by creation).
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl TypedId for $name {
            const KIND: IdKind = IdKind::$kind;
            fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&ids::encode(IdKind::$kind, self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(id: $name) -> sea_orm::Value {
                sea_orm::Value::from(id.0)
            }
        }

        impl sea_orm::sea_query::Nullable for $name {
            fn null() -> sea_orm::Value {
                <Uuid as sea_orm::sea_query::Nullable>::null()
            }
        }
    )+};
}

typed_ids! {
    /// A connected account (`acct_`).
    AccountId => Account;
    /// A charge (`ch_`).
    ChargeId => Charge;
    /// A refund (`re_`).
    RefundId => Refund;
    /// A transfer (`tr_`).
    TransferId => Transfer;
    /// A dispute (`dp_`).
    DisputeId => Dispute;
    /// A payout (`po_`).
    PayoutId => Payout;
    /// A payout batch, one bank file (`pob_`).
    PayoutBatchId => PayoutBatch;
    /// A seller's bank account (`ba_`).
    ExternalAccountId => ExternalAccount;
    /// An uploaded file (`file_`).
    FileId => File;
    /// A review in the queue (`rev_`).
    ReviewId => Review;
    /// A fee rule, every version of it (`fee_`).
    FeeRuleId => FeeRule;
    /// A webhook endpoint (`we_`).
    WebhookEndpointId => WebhookEndpoint;
    /// An event (`evt_`).
    EventId => Event;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_public_id_and_parse_round_trips() {
        let uuid = Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap_or_default();
        let id = AccountId::from_uuid(uuid);
        assert_eq!(id.to_string(), "acct_01h455vb4pex5vsknk084sn02q");
        assert_eq!(AccountId::parse("acct_01h455vb4pex5vsknk084sn02q"), Ok(id));
        assert_eq!(Uuid::from(id), uuid);
        assert_eq!(
            format!("{id:?}"),
            "AccountId(acct_01h455vb4pex5vsknk084sn02q)"
        );
        let charge = ChargeId::new_v7();
        assert_eq!(ChargeId::parse(&charge.to_string()), Ok(charge));
    }

    #[test]
    fn parse_refuses_another_kind() {
        let charge = ChargeId::new_v7().to_string();
        assert_eq!(
            AccountId::parse(&charge),
            Err(IdError::WrongPrefix { expected: "acct" })
        );
        assert_eq!(PayoutId::parse("po_x"), Err(IdError::Malformed));
    }

    #[test]
    fn order_and_values_follow_the_uuid() {
        let a = ChargeId::new_v7();
        let b = ChargeId::new_v7();
        assert!(a < b);
        assert_eq!(sea_orm::Value::from(a), sea_orm::Value::from(a.uuid()));
        assert_eq!(
            sea_orm::Value::from(None::<ChargeId>),
            sea_orm::Value::from(None::<Uuid>)
        );
    }
}
