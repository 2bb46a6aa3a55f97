//! Currencies (ISO 4217, exponents from the maintained `iso_currency` table) and amounts in
//! integer minor units with checked arithmetic that never wraps.

use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency that can carry money: funds, precious metals, testing codes and other
/// "special" codes (XAU, XTS, XXX, …) are refused because they have no minor unit to count in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    #[error("`{0}` is not a three-letter ISO 4217 currency code")]
    Unknown(String),
    #[error("`{0}` is a fund, metal or special code, not a currency money can be held in")]
    NotTradable(String),
}

impl Currency {
    /// Parses a code in any letter case (`"eur"`, `"EUR"`).
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(CurrencyError::Unknown(code.to_owned()));
        }
        let upper = code.to_ascii_uppercase();
        let iso = iso_currency::Currency::from_code(&upper)
            .ok_or_else(|| CurrencyError::Unknown(code.to_owned()))?;
        let special = iso
            .flags()
            .iter()
            .any(|f| matches!(f, iso_currency::Flag::Fund | iso_currency::Flag::Special));
        if special || iso.exponent().is_none() {
            return Err(CurrencyError::NotTradable(code.to_owned()));
        }
        Ok(Self(iso))
    }

    /// The regular currency of a country given by its ISO 3166 alpha-2 code, if it has exactly
    /// one obvious choice (superseded, fund and special codes are skipped).
    pub fn for_country(alpha2: &str) -> Option<Self> {
        let country = iso_currency::Country::from_str(&alpha2.to_ascii_uppercase()).ok()?;
        iso_currency::Currency::from_country(country)
            .into_iter()
            .find(|c| c.flags().is_empty() && c.exponent().is_some())
            .map(Self)
    }

    /// Number of decimal places of the minor unit: JPY 0, EUR 2, KWD 3.
    pub fn exponent(self) -> u32 {
        // `parse` and `for_country` only admit currencies that have an exponent.
        u32::from(self.0.exponent().unwrap_or(0))
    }

    /// Upper-case ISO code, as in bank files: `"EUR"`.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Lower-case ISO code, as in the API: `"eur"`.
    pub fn api_code(self) -> String {
        self.0.code().to_ascii_lowercase()
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An amount of one currency in integer minor units (cents, öre, yen, fils).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount overflow")]
    Overflow,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_minor = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_minor = self
            .amount_minor
            .checked_sub(other.amount_minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// `12.34 EUR`, `1000 JPY`, `1.234 KWD`: exact, from the integer, never through a float.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        if exp == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let scale = 10u64.pow(exp);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            self.currency,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        match Currency::parse(code) {
            Ok(c) => c,
            Err(e) => panic!("{code}: {e}"),
        }
    }

    #[test]
    fn exponents_come_from_iso_4217() {
        assert_eq!(cur("jpy").exponent(), 0);
        assert_eq!(cur("EUR").exponent(), 2);
        assert_eq!(cur("kwd").exponent(), 3);
        assert_eq!(cur("sek").api_code(), "sek");
    }

    #[test]
    fn refuses_unknown_and_special_codes() {
        assert!(matches!(
            Currency::parse("abc"),
            Err(CurrencyError::Unknown(_))
        ));
        assert!(matches!(
            Currency::parse("eu"),
            Err(CurrencyError::Unknown(_))
        ));
        assert!(matches!(
            Currency::parse("€€€"),
            Err(CurrencyError::Unknown(_))
        ));
        assert!(matches!(
            Currency::parse("xau"),
            Err(CurrencyError::NotTradable(_))
        ));
        assert!(matches!(
            Currency::parse("xts"),
            Err(CurrencyError::NotTradable(_))
        ));
        assert!(matches!(
            Currency::parse("usn"),
            Err(CurrencyError::NotTradable(_))
        ));
    }

    #[test]
    fn country_currency() {
        assert_eq!(Currency::for_country("se"), Some(cur("sek")));
        assert_eq!(Currency::for_country("DE"), Some(cur("eur")));
        assert_eq!(Currency::for_country("US"), Some(cur("usd")));
        assert_eq!(Currency::for_country("ZZ"), None);
    }

    #[test]
    fn display_is_exact() {
        assert_eq!(Money::new(1050, cur("eur")).to_string(), "10.50 EUR");
        assert_eq!(Money::new(-5, cur("eur")).to_string(), "-0.05 EUR");
        assert_eq!(Money::new(1000, cur("jpy")).to_string(), "1000 JPY");
        assert_eq!(Money::new(1234, cur("kwd")).to_string(), "1.234 KWD");
        assert_eq!(
            Money::new(i64::MIN, cur("usd")).to_string(),
            "-92233720368547758.08 USD"
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        let eur = cur("eur");
        let usd = cur("usd");
        assert_eq!(
            Money::new(i64::MAX, eur).checked_add(Money::new(1, eur)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(1, eur).checked_add(Money::new(1, usd)),
            Err(MoneyError::CurrencyMismatch(eur, usd))
        );
        assert_eq!(
            Money::new(5, eur).checked_sub(Money::new(7, eur)),
            Ok(Money::new(-2, eur))
        );
    }
}
