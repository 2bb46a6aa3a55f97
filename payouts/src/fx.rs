//! Currency conversion for payouts in another currency, with exact decimal arithmetic.
//!
//! `amount_to = floor(amount_from × mid_rate × (1 − markup))`, computed on integers (the
//! decimal mantissas, in `i128`) so there is no rounding anywhere except the one final
//! rounding **down** to the target currency's minor unit: the seller never receives more than
//! the quoted rate gives, and the sub-unit remainder stays with the platform, which carries
//! the FX risk. Overflow is an error, never a wrap or a saturation.
//!
//! Exponent differences are handled by the currencies' ISO 4217 exponents (USD 2, JPY 0,
//! KWD 3): 100.00 USD is `10000` minor units, 150.25 JPY/USD gives `15025` yen.

pub mod ecb;

use agora_ledger::Currency;
use rust_decimal::Decimal;

/// Largest accepted mid rate: no pair of real currencies is a billion apart.
pub const MAX_RATE: i64 = 1_000_000_000;
/// Most decimal places of a mid rate (ECB publishes at most 4–6 significant digits).
pub const MAX_RATE_SCALE: u32 = 10;
/// Most decimal places of a markup (0.000001 = 0.0001 %).
pub const MAX_MARKUP_SCALE: u32 = 6;

/// The result of a conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// What the seller receives, in minor units of the target currency (rounded down).
    pub amount_minor: i64,
    /// `mid_rate × (1 − markup)`: units of the target currency per unit of the source.
    pub rate_applied: Decimal,
    /// The platform's FX revenue in minor units of the target currency:
    /// `floor(amount at mid rate) − amount_minor`, never negative.
    pub markup_minor_in_to: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxError {
    #[error("amount must not be negative")]
    NegativeAmount,
    #[error("rate must be greater than zero and at most {MAX_RATE}, with at most {MAX_RATE_SCALE} decimals")]
    InvalidRate,
    #[error("markup must be at least 0 and below 1, with at most {MAX_MARKUP_SCALE} decimals")]
    InvalidMarkup,
    #[error("{0} and {1} are the same currency")]
    SameCurrency(Currency, Currency),
    #[error("no rate for {0}")]
    MissingRate(Currency),
    #[error("amount overflows the arithmetic")]
    Overflow,
}

/// Converts `amount_minor` of `from` into `to`.
///
/// `mid_rate` is units of `to` per one unit (not minor unit) of `from`; `markup` is a fraction
/// (`0.01` = 1 %) taken from the rate. See the module documentation for rounding.
pub fn convert(
    amount_minor: i64,
    from: Currency,
    to: Currency,
    mid_rate: Decimal,
    markup: Decimal,
) -> Result<Conversion, FxError> {
    if amount_minor < 0 {
        return Err(FxError::NegativeAmount);
    }
    if from == to {
        return Err(FxError::SameCurrency(from, to));
    }
    if mid_rate <= Decimal::ZERO
        || mid_rate > Decimal::from(MAX_RATE)
        || mid_rate.scale() > MAX_RATE_SCALE
    {
        return Err(FxError::InvalidRate);
    }
    if markup < Decimal::ZERO || markup >= Decimal::ONE || markup.scale() > MAX_MARKUP_SCALE {
        return Err(FxError::InvalidMarkup);
    }
    // With the bounds above, mid ≤ 1e9 with ≤ 10 decimals (mantissa < 1e19) and 1 − markup has
    // a mantissa ≤ 1e6, so this product (mantissa < 1e25, scale ≤ 16) is exact in a Decimal.
    let rate_applied = mid_rate
        .checked_mul(Decimal::ONE - markup)
        .ok_or(FxError::Overflow)?;
    // On i128: the amount at the mid rate may exceed i64 even when what is received (after
    // the markup) fits, and only the received amount and the markup need to fit.
    let at_mid = scale_amount(amount_minor, from, to, mid_rate)?;
    let received = scale_amount(amount_minor, from, to, rate_applied)?;
    let markup_minor_in_to = at_mid.checked_sub(received).ok_or(FxError::Overflow)?;
    let received = i64::try_from(received).map_err(|_| FxError::Overflow)?;
    let markup_minor_in_to = i64::try_from(markup_minor_in_to).map_err(|_| FxError::Overflow)?;
    Ok(Conversion {
        amount_minor: received,
        rate_applied,
        markup_minor_in_to,
    })
}

/// `floor(amount_minor × rate × 10^exp(to) / 10^exp(from))`, exactly, on `i128`.
fn scale_amount(
    amount_minor: i64,
    from: Currency,
    to: Currency,
    rate: Decimal,
) -> Result<i128, FxError> {
    let mantissa = rate.mantissa(); // rate = mantissa / 10^scale, mantissa > 0 here
    let numerator = i128::from(amount_minor)
        .checked_mul(mantissa)
        .and_then(|n| n.checked_mul(pow10(to.exponent())?))
        .ok_or(FxError::Overflow)?;
    let denominator = pow10(
        rate.scale()
            .checked_add(from.exponent())
            .ok_or(FxError::Overflow)?,
    )
    .ok_or(FxError::Overflow)?;
    // Both are non-negative, so integer division is the floor.
    Ok(numerator / denominator)
}

fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn usd_to_jpy_with_markup_rounds_down() {
        // 100.00 USD at 150.25 with 1 %: rate 148.7475 → 14874.75 JPY → 14874; at mid 15025.
        let r = convert(10_000, c("USD"), c("JPY"), dec("150.25"), dec("0.01")).unwrap();
        assert_eq!(r.amount_minor, 14_874);
        assert_eq!(r.rate_applied, dec("148.7475"));
        assert_eq!(r.markup_minor_in_to, 151);
    }

    #[test]
    fn exponent_differences() {
        // 1000 JPY at 0.00205 KWD/JPY = 2.050 KWD = 2050 fils.
        let r = convert(1_000, c("JPY"), c("KWD"), dec("0.00205"), Decimal::ZERO).unwrap();
        assert_eq!(r.amount_minor, 2_050);
        assert_eq!(r.markup_minor_in_to, 0);
        // 123.45 USD at 0.3071 = 37.911495 KWD → 37911 fils.
        let r = convert(12_345, c("USD"), c("KWD"), dec("0.3071"), Decimal::ZERO).unwrap();
        assert_eq!(r.amount_minor, 37_911);
        // 0.001 KWD at 3.25 = 0.00325 USD → 0 cents.
        let r = convert(1, c("KWD"), c("USD"), dec("3.25"), Decimal::ZERO).unwrap();
        assert_eq!(r.amount_minor, 0);
        // 1.234 KWD → JPY at 487.5 = 601.575 → 601.
        let r = convert(1_234, c("KWD"), c("JPY"), dec("487.5"), Decimal::ZERO).unwrap();
        assert_eq!(r.amount_minor, 601);
    }

    #[test]
    fn never_rounds_up() {
        // 0.01 EUR at 1.0999 = 1.0999 cents → 1 cent; 9.99 EUR at 1.0842 = 10.831158 → 10.83.
        assert_eq!(
            convert(1, c("EUR"), c("USD"), dec("1.0999"), Decimal::ZERO)
                .unwrap()
                .amount_minor,
            1
        );
        let r = convert(999, c("EUR"), c("USD"), dec("1.0842"), dec("0.005")).unwrap();
        // rate 1.0842 × 0.995 = 1.078779; 9.99 × 1.078779 = 10.77700221 → 10.77; mid → 10.83.
        assert_eq!(r.rate_applied, dec("1.078779"));
        assert_eq!(r.amount_minor, 1_077);
        assert_eq!(r.markup_minor_in_to, 6);
    }

    #[test]
    fn errors() {
        let (eur, usd) = (c("EUR"), c("USD"));
        assert_eq!(
            convert(-1, eur, usd, dec("1.1"), Decimal::ZERO),
            Err(FxError::NegativeAmount)
        );
        assert_eq!(
            convert(1, eur, usd, Decimal::ZERO, Decimal::ZERO),
            Err(FxError::InvalidRate)
        );
        assert_eq!(
            convert(1, eur, usd, dec("-1"), Decimal::ZERO),
            Err(FxError::InvalidRate)
        );
        assert_eq!(
            convert(1, eur, usd, dec("1.00000000001"), Decimal::ZERO),
            Err(FxError::InvalidRate)
        );
        assert_eq!(
            convert(1, eur, usd, dec("1.1"), dec("1")),
            Err(FxError::InvalidMarkup)
        );
        assert_eq!(
            convert(1, eur, usd, dec("1.1"), dec("-0.01")),
            Err(FxError::InvalidMarkup)
        );
        assert_eq!(
            convert(1, eur, eur, dec("1"), Decimal::ZERO),
            Err(FxError::SameCurrency(eur, eur))
        );
        // i64::MAX yen at 10 USD per yen is ~9.2e21 cents: more than an i64 holds.
        assert_eq!(
            convert(i64::MAX, c("JPY"), usd, dec("10"), Decimal::ZERO),
            Err(FxError::Overflow)
        );
        // The largest amount still converts exactly when the result fits.
        let r = convert(i64::MAX, usd, eur, dec("0.5"), Decimal::ZERO).unwrap();
        assert_eq!(r.amount_minor, i64::MAX / 2);
    }
}
