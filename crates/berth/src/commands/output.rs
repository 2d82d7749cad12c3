//! Output helpers shared by the verbs: docker-style tables, sizes and ages, and the
//! report of a verb applied to several objects.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// Applies `action` to each of `names` in turn as docker's verbs on several objects do
/// (`rm`, `kill`, `network rm`, ...): the name on stdout when it succeeds, the daemon's
/// error on stderr when it fails, and on to the next. The exit status: 1 if any failed.
pub async fn each_name<'a, F, Fut, E>(names: &'a [String], mut action: F) -> i32
where
    F: FnMut(&'a str) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let mut failed = false;
    for name in names {
        match action(name).await {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                failed = true;
            }
        }
    }
    i32::from(failed)
}

/// Prints rows in left-aligned columns separated by at least three spaces.
pub fn print_table<const N: usize>(rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
}

/// A size as docker prints it: decimal units, three significant digits (`5.37MB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value >= 100.0 || unit == 0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$}{}", UNITS[unit])
}

/// How long ago an RFC 3339 time was, as docker prints it (`3 hours ago`).
pub fn ago(rfc3339: Option<&str>) -> String {
    let Some(then) = rfc3339.and_then(|t| {
        humantime::parse_rfc3339_weak(t.trim_end_matches('Z'))
            .ok()
            .or_else(|| humantime::parse_rfc3339(t).ok())
    }) else {
        return "N/A".to_string();
    };
    let age = SystemTime::now()
        .duration_since(then)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let (n, unit) = match age {
        0..=59 => return "Less than a minute ago".to_string(),
        60..=3599 => (age / 60, "minute"),
        3600..=86_399 => (age / 3600, "hour"),
        86_400..=604_799 => (age / 86_400, "day"),
        604_800..=2_629_799 => (age / 604_800, "week"),
        2_629_800..=31_557_599 => (age / 2_629_800, "month"),
        _ => (age / 31_557_600, "year"),
    };
    if n == 1 {
        format!("{} {unit} ago", if unit == "hour" { "An" } else { "1" })
    } else {
        format!("{n} {unit}s ago")
    }
}

/// The short id docker prints: 12 hex characters.
pub fn short_id(digest: &berth_image::digest::Digest) -> String {
    digest.hex().chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1_234_567), "1.23MB");
        assert_eq!(human_size(45_600_000), "45.6MB");
        assert_eq!(human_size(123_000_000_000), "123GB");
    }
}
