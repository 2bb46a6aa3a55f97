//! Why a payout failed, in the vocabulary the API shows to platforms.
//!
//! Every rail reports failures in its own code list (NACHA `R01`…, ISO 20022 `AC01`…); the
//! mappings live next to each parser (`nacha::map_return_code`, `pain002::map_reason_code`) and
//! all land on this one enum so that the rest of the system never sees a rail-specific code.

use std::fmt;

/// A rail-independent reason for a failed payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureCode {
    /// The bank account has been closed (including: the holder has died).
    AccountClosed,
    /// No account with that number exists at the receiving bank.
    NoAccount,
    /// The account number is malformed or fails the bank's own checks.
    InvalidAccountNumber,
    /// The account is frozen (legal order, sanctions screening, …).
    AccountFrozen,
    /// The receiving bank or the account holder refused the credit.
    Declined,
    /// Anything else: the bank could not process the payout.
    CouldNotProcess,
    /// The funding account did not hold enough money.
    InsufficientFunds,
    /// The account exists but cannot receive this kind of payment.
    BankAccountRestricted,
    /// The account cannot receive this currency.
    InvalidCurrency,
}

impl FailureCode {
    /// Every code, in declaration order (handy for exhaustive tests and documentation).
    pub const ALL: [FailureCode; 9] = [
        FailureCode::AccountClosed,
        FailureCode::NoAccount,
        FailureCode::InvalidAccountNumber,
        FailureCode::AccountFrozen,
        FailureCode::Declined,
        FailureCode::CouldNotProcess,
        FailureCode::InsufficientFunds,
        FailureCode::BankAccountRestricted,
        FailureCode::InvalidCurrency,
    ];

    /// The stable snake_case code stored in the database and shown in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureCode::AccountClosed => "account_closed",
            FailureCode::NoAccount => "no_account",
            FailureCode::InvalidAccountNumber => "invalid_account_number",
            FailureCode::AccountFrozen => "account_frozen",
            FailureCode::Declined => "declined",
            FailureCode::CouldNotProcess => "could_not_process",
            FailureCode::InsufficientFunds => "insufficient_funds",
            FailureCode::BankAccountRestricted => "bank_account_restricted",
            FailureCode::InvalidCurrency => "invalid_currency",
        }
    }

    /// The inverse of [`FailureCode::as_str`], for reading stored values back.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_api_vocabulary_and_round_trip() {
        assert_eq!(FailureCode::AccountClosed.as_str(), "account_closed");
        assert_eq!(
            FailureCode::CouldNotProcess.to_string(),
            "could_not_process"
        );
        assert_eq!(
            FailureCode::BankAccountRestricted.as_str(),
            "bank_account_restricted"
        );
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(FailureCode::parse("Account_Closed"), None);
    }
}
