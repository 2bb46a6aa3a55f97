//! Public ids: TypeIDs (`acct_01h455vb4pex5vsknk084sn02q`), a prefix naming the kind of object
//! and the UUIDv7 in lower-case Crockford base32. Storage keeps the UUID; only the gateway
//! speaks these strings.

use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const SUFFIX_LEN: usize = 26;

/// The kinds of object with a public id. The prefix is part of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Account,
    Event,
    ApiKey,
    Request,
    Charge,
    Refund,
    Transfer,
    Dispute,
    BalanceTransaction,
    FeeRule,
    WebhookEndpoint,
    WebhookAttempt,
    ExternalAccount,
    File,
    Review,
    AccountLink,
    Payout,
    PayoutBatch,
}

impl IdKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Account => "acct",
            IdKind::Event => "evt",
            IdKind::ApiKey => "key",
            IdKind::Request => "req",
            IdKind::Charge => "ch",
            IdKind::Refund => "re",
            IdKind::Transfer => "tr",
            IdKind::Dispute => "dp",
            IdKind::BalanceTransaction => "bt",
            IdKind::FeeRule => "fee",
            IdKind::WebhookEndpoint => "we",
            IdKind::WebhookAttempt => "wa",
            IdKind::ExternalAccount => "ba",
            IdKind::File => "file",
            IdKind::Review => "rev",
            IdKind::AccountLink => "al",
            IdKind::Payout => "po",
            IdKind::PayoutBatch => "pob",
        }
    }
}

pub fn encode(kind: IdKind, id: Uuid) -> String {
    let value = id.as_u128();
    let mut out = String::with_capacity(kind.prefix().len() + 1 + SUFFIX_LEN);
    out.push_str(kind.prefix());
    out.push('_');
    // 26 characters of 5 bits hold 130 bits: the first carries only the top 3 bits of the UUID.
    for i in 0..SUFFIX_LEN {
        let shift = 5 * (SUFFIX_LEN - 1 - i);
        let digit = ((value >> shift) & 0x1f) as usize;
        out.push(char::from(ALPHABET[digit]));
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected an id starting with `{expected}_`")]
    WrongPrefix { expected: &'static str },
    #[error("malformed id")]
    Malformed,
}

pub fn decode(kind: IdKind, input: &str) -> Result<Uuid, IdError> {
    let expected = kind.prefix();
    let suffix = input
        .strip_prefix(expected)
        .and_then(|rest| rest.strip_prefix('_'))
        .ok_or(IdError::WrongPrefix { expected })?;
    if suffix.len() != SUFFIX_LEN {
        return Err(IdError::Malformed);
    }
    let mut value: u128 = 0;
    for (i, byte) in suffix.bytes().enumerate() {
        let digit = ALPHABET
            .iter()
            .position(|&a| a == byte)
            .ok_or(IdError::Malformed)? as u128;
        // The first character may only carry 3 bits, or the id would overflow 128 bits.
        if i == 0 && digit > 7 {
            return Err(IdError::Malformed);
        }
        value = (value << 5) | digit;
    }
    Ok(Uuid::from_u128(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typeid_spec_vector() {
        // From the TypeID specification's valid.yml ("prefix" case), with our prefix.
        let uuid = Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap_or_default();
        assert_eq!(
            encode(IdKind::Account, uuid),
            "acct_01h455vb4pex5vsknk084sn02q"
        );
        assert_eq!(
            decode(IdKind::Account, "acct_01h455vb4pex5vsknk084sn02q"),
            Ok(uuid)
        );
        assert_eq!(
            encode(IdKind::Event, Uuid::nil()),
            "evt_00000000000000000000000000"
        );
        assert_eq!(
            encode(IdKind::Event, Uuid::max()),
            "evt_7zzzzzzzzzzzzzzzzzzzzzzzzz"
        );
    }

    #[test]
    fn round_trips_and_refuses() {
        for _ in 0..1000 {
            let id = Uuid::now_v7();
            assert_eq!(
                decode(IdKind::Account, &encode(IdKind::Account, id)),
                Ok(id)
            );
        }
        assert_eq!(
            decode(IdKind::Account, "evt_01h455vb4pex5vsknk084sn02q"),
            Err(IdError::WrongPrefix { expected: "acct" })
        );
        assert_eq!(
            decode(IdKind::Account, "acct_81h455vb4pex5vsknk084sn02q"),
            Err(IdError::Malformed)
        );
        assert_eq!(
            decode(IdKind::Account, "acct_01h455vb4pex5vsknk084sn02"),
            Err(IdError::Malformed)
        );
        assert_eq!(
            decode(IdKind::Account, "acct_01h455vb4pex5vsknk084sn0u"),
            Err(IdError::Malformed)
        );
        assert_eq!(
            decode(IdKind::Account, "acct_01H455VB4PEX5VSKNK084SN02Q"),
            Err(IdError::Malformed)
        );
    }

    #[test]
    fn order_follows_uuid_order() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        assert!(a < b);
        assert!(encode(IdKind::Account, a) < encode(IdKind::Account, b));
    }
}
