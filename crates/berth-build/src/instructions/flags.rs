//! Instruction flags (`--from=`, `--mount=`...) with Docker's rules: `--name=value` for
//! string flags, `--name` or `--name=true|false` for booleans, unknown or repeated flags are
//! errors; and the values some flags carry (mounts, durations).

use crate::error::{ParseError, ParseErrorKind};
use crate::parser::RawInstruction;

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    String,
    /// May be repeated (`--mount`, `--exclude`).
    Strings,
}

/// Parsed flags of one instruction.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: Vec<(&'static str, String)>,
}

impl Flags {
    /// Checks `inst`'s flags against `allowed`.
    pub fn parse(
        inst: &RawInstruction,
        allowed: &[(&'static str, Kind)],
    ) -> Result<Flags, ParseError> {
        let mut flags = Flags::default();
        for (text, offset) in &inst.flags {
            let err = |kind| Err(inst.error_at(*offset, kind));
            let Some(body) = text.strip_prefix("--") else {
                return err(ParseErrorKind::UnknownFlag(text.clone()));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let flag_name = format!("--{name}");
            let Some(&(key, kind)) = allowed.iter().find(|(n, _)| *n == name) else {
                return err(ParseErrorKind::UnknownFlag(flag_name));
            };
            if kind != Kind::Strings && flags.values.iter().any(|(k, _)| *k == key) {
                return err(ParseErrorKind::DuplicateFlag(flag_name));
            }
            let value = match (kind, value) {
                (Kind::Bool, None) => "true".to_string(),
                (Kind::Bool, Some("")) => return err(ParseErrorKind::MissingFlagValue(flag_name)),
                (Kind::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
                    b @ ("true" | "false") => b.to_string(),
                    _ => {
                        return err(ParseErrorKind::BadBoolFlag {
                            flag: name.to_string(),
                            value: v.to_string(),
                        })
                    }
                },
                (_, None) => return err(ParseErrorKind::MissingFlagValue(flag_name)),
                (_, Some(v)) => v.to_string(),
            };
            flags.values.push((key, value));
        }
        Ok(flags)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn bool(&self, name: &str) -> bool {
        self.string(name).as_deref() == Some("true")
    }

    /// The byte offset of flag `name` in the instruction, for errors about its value.
    pub fn offset(inst: &RawInstruction, name: &str) -> usize {
        let prefix = format!("--{name}");
        inst.flags
            .iter()
            .find(|(f, _)| f == &prefix || f.starts_with(&format!("{prefix}=")))
            .map_or(inst.keyword_offset, |(_, o)| *o)
    }
}

/// Parses a Go duration (`30s`, `1m30s`, `1.5h`, `100ms`) into nanoseconds.
pub(crate) fn parse_go_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let n = total.round() as i64;
    Ok(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s"), Ok(30_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("100ms"), Ok(100_000_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("-1s"), Ok(-1_000_000_000));
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("abc").is_err());
        assert!(parse_go_duration("5d").is_err());
    }
}
