//! Building request targets: path segments and query strings, percent-encoded.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters left as they are in query values (RFC 3986 unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// In path segments `/` and `:` stay: Docker routes image names such as
/// `registry:5000/team/app:1.0` with `/` intact.
const PATH_SEGMENT: &AsciiSet = &QUERY_VALUE.remove(b'/').remove(b':').remove(b'@');

/// Filters as the API takes them: `{"label": ["a=b"], "status": ["exited"]}`.
pub type Filters = BTreeMap<String, Vec<String>>;

/// Percent-encodes a name for use in a path.
pub(crate) fn segment(name: &str) -> String {
    utf8_percent_encode(name, PATH_SEGMENT).to_string()
}

/// A query string built pair by pair.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn new() -> Query {
        Query::default()
    }

    pub(crate) fn push(&mut self, key: &str, value: impl ToString) -> &mut Query {
        self.pairs.push((key.to_string(), value.to_string()));
        self
    }

    /// Adds `key=1` when `flag` is set; Docker reads an absent flag as false.
    pub(crate) fn flag(&mut self, key: &str, flag: bool) -> &mut Query {
        if flag {
            self.push(key, "1");
        }
        self
    }

    pub(crate) fn opt(&mut self, key: &str, value: Option<impl ToString>) -> &mut Query {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    /// Adds `filters` as JSON, when there are any.
    pub(crate) fn filters(&mut self, filters: &Filters) -> &mut Query {
        if !filters.is_empty() {
            // A map of string lists always encodes.
            let json = serde_json::to_string(filters).unwrap_or_default();
            self.push("filters", json);
        }
        self
    }

    /// `path?k=v&...`, or `path` when empty.
    pub(crate) fn on(&self, path: &str) -> String {
        if self.pairs.is_empty() {
            return path.to_string();
        }
        let query: Vec<String> = self
            .pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, QUERY_VALUE),
                    utf8_percent_encode(v, QUERY_VALUE)
                )
            })
            .collect();
        format!("{path}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_values_and_filters() {
        let mut filters = Filters::new();
        filters.insert("label".into(), vec!["a=b c".into()]);
        let mut q = Query::new();
        q.flag("all", true)
            .flag("size", false)
            .push("name", "x&y")
            .filters(&filters);
        assert_eq!(
            q.on("/containers/json"),
            "/containers/json?all=1&name=x%26y&filters=%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D"
        );
        assert_eq!(Query::new().on("/info"), "/info");
    }

    #[test]
    fn keeps_image_names_routable() {
        assert_eq!(
            segment("localhost:5000/team/app:1.0"),
            "localhost:5000/team/app:1.0"
        );
        assert_eq!(segment("a b?#"), "a%20b%3F%23");
    }
}
