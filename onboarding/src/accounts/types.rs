//! Field types that parse instead of validate: holding one means the value is valid.

use std::fmt;

/// Why a field was refused: a stable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}

/// An ISO 3166-1 alpha-2 country code, stored upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode(&'static str);

impl CountryCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        // Only two-letter codes: alpha-3 and names are refused so the API stays unambiguous.
        if input.len() == 2 {
            if let Ok(code) = isocountry::CountryCode::for_alpha2_caseless(input) {
                return Ok(Self(code.alpha2()));
            }
        }
        Err(FieldError {
            code: "country_invalid",
            message: format!("`{input}` is not an ISO 3166-1 alpha-2 country code (e.g. SE, US)"),
        })
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// Longest address SMTP can carry (RFC 5321).
const EMAIL_MAX_LEN: usize = 254;

/// A syntactically valid email address with a top-level domain and no display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        let options = email_address::Options::default()
            .with_required_tld()
            .without_display_text()
            .without_domain_literal();
        if trimmed.len() > EMAIL_MAX_LEN
            || email_address::EmailAddress::parse_with_options(trimmed, options).is_err()
        {
            return Err(FieldError {
                code: "email_invalid",
                message: "not a valid email address (expected name@example.com)".to_owned(),
            });
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BusinessType {
    Individual,
    Company,
}

impl BusinessType {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        match input {
            "individual" => Ok(Self::Individual),
            "company" => Ok(Self::Company),
            _ => Err(FieldError {
                code: "business_type_invalid",
                message: format!("`{input}` is not a business type: use individual or company"),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Individual => "individual",
            Self::Company => "company",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries() {
        assert_eq!(CountryCode::parse("se").map(|c| c.as_str()), Ok("SE"));
        assert_eq!(CountryCode::parse("US").map(|c| c.as_str()), Ok("US"));
        assert!(CountryCode::parse("ZZ").is_err());
        assert!(CountryCode::parse("SWE").is_err());
        assert!(CountryCode::parse("").is_err());
    }

    #[test]
    fn emails() {
        assert!(Email::parse("anna@example.se").is_ok());
        assert_eq!(
            Email::parse(" anna@example.se ").map(|e| e.as_str().to_owned()),
            Ok("anna@example.se".to_owned())
        );
        for bad in [
            "anna",
            "anna@",
            "@example.com",
            "anna@localhost",
            "Anna <a@b.se>",
        ] {
            assert_eq!(
                Email::parse(bad).map_err(|e| e.code),
                Err("email_invalid"),
                "{bad}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn business_types() {
        assert_eq!(BusinessType::parse("company"), Ok(BusinessType::Company));
        assert!(BusinessType::parse("Company").is_err());
    }
}
