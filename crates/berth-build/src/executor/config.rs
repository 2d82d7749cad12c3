//! The image config as Docker writes it: [`ImageConfig`] to and from the JSON `config`
//! object (Docker's extensions `Healthcheck`, `Shell` and `OnBuild` included, which the OCI
//! types would drop), history entries and their `created_by` strings.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::args::ImageConfig;
use crate::instructions::Healthcheck;

/// One `history` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct History {
    /// RFC 3339.
    pub created: String,
    pub created_by: String,
    pub empty_layer: bool,
}

/// The default shell of `SHELL`-less stages.
pub(crate) fn default_shell() -> Vec<String> {
    vec!["/bin/sh".to_string(), "-c".to_string()]
}

/// A base image's `config` object (and `author`) as an [`ImageConfig`].
pub(crate) fn from_docker(config: &Value, author: Option<&str>) -> ImageConfig {
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
    };
    let keys = |v: &Value| -> std::collections::BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let text = |k: &str| {
        config
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let healthcheck = config.get("Healthcheck").and_then(|h| {
        let test = strings(h.get("Test")?)?;
        if test.first().map(String::as_str) == Some("NONE") {
            return Some(Healthcheck::None);
        }
        let num = |k: &str| h.get(k).and_then(Value::as_i64).unwrap_or(0);
        Some(Healthcheck::Cmd {
            test,
            interval: num("Interval"),
            timeout: num("Timeout"),
            start_period: num("StartPeriod"),
            start_interval: num("StartInterval"),
            retries: num("Retries").try_into().unwrap_or(0),
        })
    });
    ImageConfig {
        env: config.get("Env").and_then(strings).unwrap_or_default(),
        labels: config
            .get("Labels")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        working_dir: text("WorkingDir"),
        user: text("User"),
        cmd: config.get("Cmd").and_then(strings),
        entrypoint: config.get("Entrypoint").and_then(strings),
        exposed_ports: config.get("ExposedPorts").map(keys).unwrap_or_default(),
        volumes: config.get("Volumes").map(keys).unwrap_or_default(),
        stop_signal: config
            .get("StopSignal")
            .and_then(Value::as_str)
            .map(str::to_string),
        shell: config.get("Shell").and_then(strings),
        healthcheck,
        on_build: config.get("OnBuild").and_then(strings).unwrap_or_default(),
        author: author.filter(|a| !a.is_empty()).map(str::to_string),
    }
}

/// The `config` object Docker writes for `c`: only the fields that are set.
pub(crate) fn to_docker(c: &ImageConfig) -> Value {
    let mut out = Map::new();
    let set = |m: &mut Map<String, Value>, k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    if !c.user.is_empty() {
        set(&mut out, "User", json!(c.user));
    }
    if !c.exposed_ports.is_empty() {
        let ports: Map<String, Value> = c
            .exposed_ports
            .iter()
            .map(|p| (p.clone(), json!({})))
            .collect();
        set(&mut out, "ExposedPorts", Value::Object(ports));
    }
    if !c.env.is_empty() {
        set(&mut out, "Env", json!(c.env));
    }
    if let Some(cmd) = &c.cmd {
        set(&mut out, "Cmd", json!(cmd));
    }
    if let Some(h) = &c.healthcheck {
        let value = match h {
            Healthcheck::None => json!({ "Test": ["NONE"] }),
            Healthcheck::Cmd {
                test,
                interval,
                timeout,
                start_period,
                start_interval,
                retries,
            } => {
                let mut m = Map::new();
                m.insert("Test".into(), json!(test));
                for (k, v) in [
                    ("Interval", *interval),
                    ("Timeout", *timeout),
                    ("StartPeriod", *start_period),
                    ("StartInterval", *start_interval),
                ] {
                    if v != 0 {
                        m.insert(k.into(), json!(v));
                    }
                }
                if *retries != 0 {
                    m.insert("Retries".into(), json!(retries));
                }
                Value::Object(m)
            }
        };
        set(&mut out, "Healthcheck", value);
    }
    if !c.volumes.is_empty() {
        let v: Map<String, Value> = c.volumes.iter().map(|p| (p.clone(), json!({}))).collect();
        set(&mut out, "Volumes", Value::Object(v));
    }
    if !c.working_dir.is_empty() {
        set(&mut out, "WorkingDir", json!(c.working_dir));
    }
    if let Some(e) = &c.entrypoint {
        set(&mut out, "Entrypoint", json!(e));
    }
    if !c.on_build.is_empty() {
        set(&mut out, "OnBuild", json!(c.on_build));
    }
    if !c.labels.is_empty() {
        set(&mut out, "Labels", json!(c.labels));
    }
    if let Some(s) = &c.stop_signal {
        set(&mut out, "StopSignal", json!(s));
    }
    if let Some(s) = &c.shell {
        set(&mut out, "Shell", json!(s));
    }
    Value::Object(out)
}

/// Go's `%q` of a string slice: `["a" "b"]`.
pub(crate) fn go_quoted(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `%q` of the legacy builder's `*HealthConfig` (as its HEALTHCHECK history shows
/// it): `&{["CMD" "true"] "30s" "0s" "0s" '\x03'}` — the test quoted, the durations as
/// quoted Go durations, the retries as a quoted rune.
pub(crate) fn go_healthcheck(h: &Healthcheck) -> String {
    let (test, interval, timeout, start_period, retries) = match h {
        Healthcheck::None => (vec!["NONE".to_string()], 0, 0, 0, 0),
        Healthcheck::Cmd {
            test,
            interval,
            timeout,
            start_period,
            retries,
            ..
        } => (test.clone(), *interval, *timeout, *start_period, *retries),
    };
    format!(
        "&{{{} \"{}\" \"{}\" \"{}\" {}}}",
        go_quoted(&test),
        go_duration(interval),
        go_duration(timeout),
        go_duration(start_period),
        go_quote_rune(i64::from(retries))
    )
}

/// Go's `time.Duration.String()` of `nanos`: `1m30s`, `1.5s`, `500ms`, `0s`.
pub(crate) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    // Below a second: the largest unit that keeps an integer part.
    if n < 1_000_000_000 {
        let (unit, div) = match n {
            0..=999 => ("ns", 1),
            1_000..=999_999 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", fraction(n, div));
    }
    let hours = n / 3_600_000_000_000;
    let minutes = (n / 60_000_000_000) % 60;
    let seconds = fraction(n % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// `n / div` with its fraction, trailing zeros dropped: `1.5`, `30`.
fn fraction(n: u64, div: u64) -> String {
    let whole = n / div;
    let rest = n % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `%q` of an integer: a quoted rune (`'\x04'`, `'\n'`, `'A'`).
fn go_quote_rune(n: i64) -> String {
    let c = u32::try_from(n).ok().and_then(char::from_u32);
    let body = match c {
        Some('\x07') => "\\a".to_string(),
        Some('\x08') => "\\b".to_string(),
        Some('\x0c') => "\\f".to_string(),
        Some('\n') => "\\n".to_string(),
        Some('\r') => "\\r".to_string(),
        Some('\t') => "\\t".to_string(),
        Some('\x0b') => "\\v".to_string(),
        Some('\\') => "\\\\".to_string(),
        Some('\'') => "\\'".to_string(),
        Some(c) if (c as u32) < 0x80 && c.is_ascii_control() => format!("\\x{:02x}", c as u32),
        Some(c) if !c.is_control() => c.to_string(),
        Some(c) if (c as u32) <= 0xffff => format!("\\u{:04x}", c as u32),
        Some(c) => format!("\\U{:08x}", c as u32),
        None => "\\ufffd".to_string(),
    };
    format!("'{body}'")
}

/// `created_by` of a metadata instruction committed by the legacy builder's `commit`:
/// the shell, `#(nop) ` and the message, joined by spaces (hence two spaces).
pub(crate) fn nop_commit(shell: &[String], message: &str) -> String {
    format!("{} #(nop)  {message}", shell.join(" "))
}

/// `created_by` of WORKDIR, COPY and ADD: `#(nop) ` glued to the message (one space).
pub(crate) fn nop_comment(shell: &[String], message: &str) -> String {
    format!("{} #(nop) {message}", shell.join(" "))
}

/// RFC 3339 in UTC, seconds and nanoseconds as Go prints them.
pub(crate) fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    format!("{year:04}-{month:02}-{d:02}T{h:02}:{m:02}:{s:02}{frac}Z")
}

/// Now, or `SOURCE_DATE_EPOCH`.
pub(crate) fn created_now(epoch: Option<i64>) -> String {
    match epoch {
        Some(e) => rfc3339(e, 0),
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            rfc3339(now.as_secs() as i64, now.subsec_nanos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthchecks_read_as_go_prints_them() {
        let h = Healthcheck::Cmd {
            test: vec!["CMD".into(), "/bin/true".into()],
            interval: 90_000_000_000,
            timeout: 3_000_000_000,
            start_period: 1_500_000_000,
            start_interval: 0,
            retries: 4,
        };
        assert_eq!(
            go_healthcheck(&h),
            r#"&{["CMD" "/bin/true"] "1m30s" "3s" "1.5s" '\x04'}"#
        );
        assert_eq!(
            go_healthcheck(&Healthcheck::None),
            r#"&{["NONE"] "0s" "0s" "0s" '\x00'}"#
        );
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_quote_rune(10), "'\\n'");
        assert_eq!(go_quote_rune(65), "'A'");
    }

    #[test]
    fn dates_like_go() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_700_000_000, 500_000_000),
            "2023-11-14T22:13:20.5Z"
        );
    }
}
