//! One entry to and from its line of JSON, byte for byte as dockerd writes it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::{LogEntry, Stream};

/// Appends `entry` as one line of json-file, `\n` included, to `out`.
///
/// dockerd (`jsonlog.JSONLogs.MarshalJSONBuf`) writes `log`, `stream`, then `time`, and
/// escapes the way Go's `encoding/json` does; serde_json escapes less (`<`, `&`, ...) and
/// would fold a run of invalid UTF-8 into one U+FFFD, so the string is written here.
pub(crate) fn encode_entry(out: &mut Vec<u8>, stream: Stream, line: &[u8], time: SystemTime) {
    out.extend_from_slice(br#"{"log":"#);
    write_json_string(out, line);
    out.extend_from_slice(br#","stream":""#);
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(br#"","time":""#);
    out.extend_from_slice(format_time_go_nano(time).as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// Go's `encoding/json` string escaping, as dockerd's `ffjsonWriteJSONBytesAsString` does it.
fn write_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                // Go escapes these so the JSON can sit in HTML and JavaScript.
                '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                    let b = c as u8;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                _ => {
                    let mut utf8 = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        // Go's utf8.DecodeRune rejects one byte at a time, so each byte of an invalid
        // sequence becomes its own U+FFFD.
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

/// Go's `time.RFC3339Nano` in UTC, as in the `time` field: the fraction loses its trailing
/// zeros, and its dot too when it is zero.
pub(crate) fn format_time_go_nano(time: SystemTime) -> String {
    let mut text = format_time_fixed(time);
    // "....05.120000000Z" -> "....05.12Z"; "....05.000000000Z" -> "....05Z"
    text.pop();
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    text.push('Z');
    text
}

/// RFC 3339, UTC, nine digits of fraction: dockerd's `RFC3339NanoFixed`.
pub(crate) fn format_time_fixed(time: SystemTime) -> String {
    humantime::format_rfc3339_nanos(clamp_for_rfc3339(time)).to_string()
}

/// humantime formats years 1970 to 9999 only (and panics outside); RFC 3339 cannot say more
/// than 9999 anyway.
fn clamp_for_rfc3339(time: SystemTime) -> SystemTime {
    // 9999-12-31T23:59:59.999999999Z
    let last = UNIX_EPOCH + Duration::new(253_402_300_799, 999_999_999);
    time.clamp(UNIX_EPOCH, last)
}

/// Why a line is not a json-file entry.
#[derive(Debug)]
pub(crate) enum DecodeError {
    Json,
    Stream,
    Time,
}

#[derive(Deserialize)]
struct RawEntry {
    log: String,
    stream: String,
    time: String,
}

/// Parses one line (without its `\n`).
pub(crate) fn decode_entry(line: &[u8]) -> Result<LogEntry, DecodeError> {
    let raw: RawEntry = serde_json::from_slice(line).map_err(|_| DecodeError::Json)?;
    let stream = match raw.stream.as_str() {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        _ => return Err(DecodeError::Stream),
    };
    let time = humantime::parse_rfc3339(&raw.time).map_err(|_| DecodeError::Time)?;
    Ok(LogEntry {
        stream,
        line: raw.log.into_bytes(),
        time,
        time_text: format_time_fixed(time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded_log(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    // Expected strings from moby's daemon/logger/jsonfilelog/jsonlog/jsonlogbytes_test.go.
    #[test]
    fn escapes_like_dockerd() {
        assert_eq!(
            encoded_log(br#""A log line with \\""#),
            r#""\"A log line with \\\\\"""#
        );
        assert_eq!(
            encoded_log(b"A log line with \r"),
            r#""A log line with \r""#
        );
        assert_eq!(
            encoded_log(b"A log line with & < >"),
            r#""A log line with \u0026 \u003c \u003e""#
        );
        assert_eq!(
            encoded_log("utf8 : 🚀 ψ ω β".as_bytes()),
            "\"utf8 : 🚀 ψ ω β\""
        );
        assert_eq!(encoded_log(b"tab\there\x7f"), "\"tab\\u0009here\x7f\"");
        assert_eq!(encoded_log("\u{2028}".as_bytes()), r#""\u2028""#);
    }

    #[test]
    fn each_invalid_byte_becomes_one_replacement() {
        // A truncated 3-byte sequence is two bytes, so two U+FFFD, as Go writes it.
        assert_eq!(
            encoded_log(b"a\xe2\x82b\xffc"),
            r#""a\ufffd\ufffdb\ufffdc""#
        );
    }

    #[test]
    fn time_drops_trailing_zeros_like_go() {
        let t = UNIX_EPOCH + Duration::new(1_704_164_645, 120_000_000);
        assert_eq!(format_time_go_nano(t), "2024-01-02T03:04:05.12Z");
        assert_eq!(format_time_fixed(t), "2024-01-02T03:04:05.120000000Z");
        let whole = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
        assert_eq!(format_time_go_nano(whole), "2024-01-02T03:04:05Z");
        let nanos = UNIX_EPOCH + Duration::new(1_704_164_645, 123_456_789);
        assert_eq!(format_time_go_nano(nanos), "2024-01-02T03:04:05.123456789Z");
    }

    #[test]
    fn decodes_what_it_encodes() {
        let t = UNIX_EPOCH + Duration::new(1_704_164_645, 5);
        let mut out = Vec::new();
        encode_entry(&mut out, Stream::Stderr, b"x <y>\n", t);
        assert_eq!(
            out,
            b"{\"log\":\"x \\u003cy\\u003e\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-02T03:04:05.000000005Z\"}\n"
        );
        let entry = decode_entry(&out[..out.len() - 1]).unwrap();
        assert_eq!(entry.stream, Stream::Stderr);
        assert_eq!(entry.line, b"x <y>\n");
        assert_eq!(entry.time, t);
        assert_eq!(entry.time_text, "2024-01-02T03:04:05.000000005Z");
    }

    #[test]
    fn rejects_what_is_not_an_entry() {
        assert!(matches!(decode_entry(b"not json"), Err(DecodeError::Json)));
        assert!(matches!(
            decode_entry(br#"{"log":"a","stream":"stdin","time":"2024-01-02T03:04:05Z"}"#),
            Err(DecodeError::Stream)
        ));
        assert!(matches!(
            decode_entry(br#"{"log":"a","stream":"stdout","time":"yesterday"}"#),
            Err(DecodeError::Time)
        ));
    }
}
