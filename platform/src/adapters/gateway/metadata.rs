//! `metadata`: the caller's own key-value pairs on an object. At most 50 keys, keys up to 40
//! characters, values up to 500. On update, keys merge into what is there and an empty string
//! (or null) removes a key.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::error::ApiError;

pub const MAX_KEYS: usize = 50;
pub const MAX_KEY_CHARS: usize = 40;
pub const MAX_VALUE_CHARS: usize = 500;

/// Metadata as sent: `None` values (null or "") mean "remove this key".
#[derive(Debug, Clone, Default, PartialEq, Eq, utoipa::ToSchema)]
#[schema(value_type = BTreeMap<String, String>, example = json!({"order_id": "6735"}))]
pub struct MetadataParam(pub BTreeMap<String, Option<String>>);

impl<'de> Deserialize<'de> for MetadataParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, Option<String>>::deserialize(d)?;
        Ok(MetadataParam(
            raw.into_iter()
                .map(|(k, v)| (k, v.filter(|s| !s.is_empty())))
                .collect(),
        ))
    }
}

impl MetadataParam {
    /// Merges into `current` and checks the limits on the result.
    pub fn merge_into(
        &self,
        current: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let mut merged = current;
        for (key, value) in &self.0 {
            check_key(key)?;
            match value {
                Some(v) => {
                    if v.chars().count() > MAX_VALUE_CHARS {
                        return Err(ApiError::invalid(
                            format!("metadata.{key}"),
                            "metadata_value_too_long",
                            format!("Metadata values can be at most {MAX_VALUE_CHARS} characters."),
                        ));
                    }
                    merged.insert(key.clone(), v.clone());
                }
                None => {
                    merged.remove(key);
                }
            }
        }
        if merged.len() > MAX_KEYS {
            return Err(ApiError::invalid(
                "metadata",
                "metadata_too_many_keys",
                format!("Metadata can have at most {MAX_KEYS} keys."),
            ));
        }
        Ok(merged)
    }

    /// Metadata for a new object: the same rules, merged into nothing.
    pub fn into_new(self) -> Result<BTreeMap<String, String>, ApiError> {
        self.merge_into(BTreeMap::new())
    }
}

fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(ApiError::invalid(
            format!("metadata.{key}"),
            "metadata_key_invalid",
            format!("Metadata keys must be 1 to {MAX_KEY_CHARS} characters."),
        ));
    }
    // Brackets would make form-style and filter syntax ambiguous; Stripe refuses them too.
    if key.contains(['[', ']']) {
        return Err(ApiError::invalid(
            format!("metadata.{key}"),
            "metadata_key_invalid",
            "Metadata keys cannot contain square brackets.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(pairs: &[(&str, Option<&str>)]) -> MetadataParam {
        MetadataParam(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_owned)))
                .collect(),
        )
    }

    #[test]
    fn limits() {
        let fifty: Vec<(String, Option<String>)> = (0..50)
            .map(|i| (format!("k{i}"), Some("v".to_owned())))
            .collect();
        let ok = MetadataParam(fifty.iter().cloned().collect());
        assert_eq!(ok.clone().into_new().map(|m| m.len()), Ok(50));
        let mut more = ok.0.clone();
        more.insert("k50".into(), Some("v".into()));
        assert_eq!(
            MetadataParam(more).into_new().unwrap_err().code,
            "metadata_too_many_keys"
        );
        let long_key = "k".repeat(41);
        let e = param(&[(long_key.as_str(), Some("v"))])
            .into_new()
            .unwrap_err();
        assert_eq!(e.code, "metadata_key_invalid");
        let long_value = "v".repeat(501);
        let e = param(&[("k", Some(long_value.as_str()))])
            .into_new()
            .unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            ("metadata_value_too_long", Some("metadata.k"))
        );
        assert!(param(&[("k", Some(&"é".repeat(500)))]).into_new().is_ok());
    }

    #[test]
    fn merge_and_unset() {
        let current: BTreeMap<String, String> = [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]
        .into();
        let merged = param(&[("a", None), ("c", Some("3"))]).merge_into(current);
        let expected: BTreeMap<String, String> = [
            ("b".to_owned(), "2".to_owned()),
            ("c".to_owned(), "3".to_owned()),
        ]
        .into();
        assert_eq!(merged, Ok(expected));
    }
}
