//! Query-string values as Docker reads them.

use std::collections::BTreeMap;

use crate::error::EngineError;

/// Docker's boolean query values: `1`, `true`, `True` (any case) are true; absent, empty,
/// `0`, `false` are false.
pub fn flag(value: Option<&String>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        v == "1" || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes")
    })
}

/// Filters: `{"label":["a=b"]}`, or the older `{"label":{"a=b":true}}`.
pub type Filters = BTreeMap<String, Vec<String>>;

/// Parses the `filters` query value (absent or empty: no filters).
pub fn filters(value: Option<&String>) -> Result<Filters, EngineError> {
    let Some(text) = value.map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(Filters::new());
    };
    let raw: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| EngineError::Invalid(format!("invalid filter: {e}")))?;
    let serde_json::Value::Object(map) = raw else {
        return Err(EngineError::Invalid(format!(
            "invalid filter `{text}`: not a JSON object"
        )));
    };
    let mut out = Filters::new();
    for (key, value) in map {
        let values = match value {
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s),
                    other => Ok(other.to_string()),
                })
                .collect::<Result<Vec<_>, EngineError>>()?,
            serde_json::Value::Object(set) => set
                .into_iter()
                .filter(|(_, on)| on.as_bool().unwrap_or(true))
                .map(|(k, _)| k)
                .collect(),
            serde_json::Value::String(s) => vec![s],
            other => {
                return Err(EngineError::Invalid(format!(
                    "invalid filter `{key}`: unexpected value {other}"
                )))
            }
        };
        out.insert(key, values);
    }
    Ok(out)
}

/// Checks that every filter key is one of `allowed` (Docker: "invalid filter 'x'").
pub fn check_keys(filters: &Filters, allowed: &[&str]) -> Result<(), EngineError> {
    match filters.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(EngineError::Invalid(format!("invalid filter '{key}'"))),
        None => Ok(()),
    }
}

/// Whether `labels` satisfy every `label` filter (`key` or `key=value`).
pub fn labels_match(filters: &Filters, labels: &BTreeMap<String, String>) -> bool {
    filters.get("label").is_none_or(|wanted| {
        wanted.iter().all(|w| match w.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(w.as_str()),
        })
    })
}

/// A time as Docker's API takes it (`since`, `until`): unix seconds with an optional
/// fraction (`1700000000.123456789`), or RFC 3339. Returns unix nanoseconds.
pub fn timestamp(text: &str) -> Result<i128, EngineError> {
    let text = text.trim();
    if let Some((secs, frac)) = text.split_once('.') {
        if let (Ok(s), true) = (
            secs.parse::<i64>(),
            frac.chars().all(|c| c.is_ascii_digit()),
        ) {
            let mut digits = frac.to_string();
            digits.truncate(9);
            while digits.len() < 9 {
                digits.push('0');
            }
            let nanos: i128 = digits.parse().unwrap_or(0);
            return Ok(i128::from(s) * 1_000_000_000 + nanos);
        }
    }
    if let Ok(s) = text.parse::<i64>() {
        return Ok(i128::from(s) * 1_000_000_000);
    }
    humantime::parse_rfc3339_weak(text)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i128)
        .ok_or_else(|| EngineError::Invalid(format!("invalid timestamp `{text}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_accept_both_shapes() {
        let a = filters(Some(
            &r#"{"label":["a=b"],"status":["exited"]}"#.to_string(),
        ))
        .unwrap();
        assert_eq!(a["label"], vec!["a=b"]);
        let b = filters(Some(&r#"{"label":{"a=b":true}}"#.to_string())).unwrap();
        assert_eq!(b["label"], vec!["a=b"]);
        assert!(filters(Some(&"[1]".to_string())).is_err());
    }

    #[test]
    fn timestamps_in_both_forms() {
        assert_eq!(timestamp("10").unwrap(), 10_000_000_000);
        assert_eq!(timestamp("10.5").unwrap(), 10_500_000_000);
        assert_eq!(timestamp("1970-01-01T00:00:10Z").unwrap(), 10_000_000_000);
        assert!(timestamp("soon").is_err());
    }
}
