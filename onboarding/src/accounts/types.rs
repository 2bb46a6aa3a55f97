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

/// Longest tag, in characters.
pub const TAG_MAX_LEN: usize = 40;
/// Most tags one account may carry: fee rules match on them, and a quote compares every tag
/// of the seller with every tag of a rule, so the list stays short.
pub const MAX_TAGS: usize = 20;

/// A seller tag (`gold`, `eu-seller`, `tier_2`): 1 to 40 characters of `a-z`, `0-9`, `_`, `-`.
/// Lower case only, so `Gold` and `gold` cannot silently be two tags that rules miss.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let ok = !input.is_empty()
            && input.len() <= TAG_MAX_LEN
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(FieldError {
                code: "tag_invalid",
                message: format!(
                    "`{}` is not a tag: use 1 to {TAG_MAX_LEN} characters of a-z, 0-9, _ and -",
                    input.chars().take(60).collect::<String>()
                ),
            });
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a whole tag list: at most [`MAX_TAGS`], each a valid [`Tag`], no repeats. An error
/// carries the index of the offending tag (`None` when the list as a whole is refused).
pub fn parse_tags<S: AsRef<str>>(input: &[S]) -> Result<Vec<Tag>, (Option<usize>, FieldError)> {
    if input.len() > MAX_TAGS {
        return Err((
            None,
            FieldError {
                code: "tags_too_many",
                message: format!("an account can have at most {MAX_TAGS} tags"),
            },
        ));
    }
    let mut tags: Vec<Tag> = Vec::with_capacity(input.len());
    for (i, raw) in input.iter().enumerate() {
        let tag = Tag::parse(raw.as_ref()).map_err(|e| (Some(i), e))?;
        if tags.contains(&tag) {
            return Err((
                Some(i),
                FieldError {
                    code: "tag_duplicate",
                    message: format!("the tag `{}` is listed twice", tag.as_str()),
                },
            ));
        }
        tags.push(tag);
    }
    Ok(tags)
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
    fn tags() {
        assert!(Tag::parse("gold").is_ok());
        assert!(Tag::parse("eu-seller_2").is_ok());
        assert!(Tag::parse(&"a".repeat(40)).is_ok());
        for bad in ["", "Gold", "a b", "é", &"a".repeat(41)] {
            assert_eq!(
                Tag::parse(bad).map_err(|e| e.code),
                Err("tag_invalid"),
                "{bad}"
            );
        }
        assert_eq!(parse_tags(&["a", "b"]).map(|t| t.len()), Ok(2));
        assert_eq!(
            parse_tags(&["a", "a"]).map_err(|(i, e)| (i, e.code)),
            Err((Some(1), "tag_duplicate"))
        );
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(
            parse_tags(&many).map_err(|(i, e)| (i, e.code)),
            Err((None, "tags_too_many"))
        );
    }

    #[test]
    fn business_types() {
        assert_eq!(BusinessType::parse("company"), Ok(BusinessType::Company));
        assert!(BusinessType::parse("Company").is_err());
    }
}
