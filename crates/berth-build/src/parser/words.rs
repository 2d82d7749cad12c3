//! Splitting an instruction's text into words, flags and JSON arrays, as Docker's parser
//! does before any variable is substituted.

/// Splits on unquoted whitespace, keeping quotes and escape characters in the words (they
/// are removed later by substitution). Used by ENV, LABEL and ARG.
pub fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= chars.len() {
        let ch = chars.get(pos).copied();
        if phase == Phase::Spaces {
            match ch {
                None => break,
                Some(c) if c.is_whitespace() => {
                    pos += 1;
                    continue;
                }
                Some(_) => phase = Phase::Word,
            }
        }
        let Some(mut c) = ch else {
            if blank_ok || !word.is_empty() {
                words.push(word);
            }
            break;
        };
        if phase == Phase::Word {
            if c.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if c == '\'' || c == '"' {
                quote = c;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if c == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                // Unquoted, an escape keeps itself and the next character, even a quote.
                word.push(c);
                pos += 1;
                c = chars[pos];
            }
            word.push(c);
            pos += 1;
            continue;
        }
        // Inside quotes.
        if c == quote {
            phase = Phase::Word;
        }
        if c == escape && quote != '\'' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            word.push(c);
            pos += 1;
            c = chars[pos];
        }
        word.push(c);
        pos += 1;
    }
    words
}

/// Takes the leading `--flag[=value]` words off an instruction's arguments. Returns the
/// flags with their character offsets in `line`, and the byte offset where the rest starts.
pub fn extract_flags(line: &str) -> (Vec<(String, usize)>, usize) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut flags = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].1.is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            return (flags, line.len());
        }
        let starts_flag = chars[i].1 == '-' && chars.get(i + 1).map(|c| c.1) == Some('-');
        if !starts_flag {
            return (flags, chars[i].0);
        }
        let start = i;
        let mut word = String::new();
        let mut blank_ok = false;
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i].1;
            match quote {
                None if c.is_whitespace() => break,
                None if c == '\'' || c == '"' => {
                    quote = Some(c);
                    blank_ok = true;
                }
                None if c == '\\' => {
                    if i + 1 < chars.len() {
                        i += 1;
                        word.push(chars[i].1);
                    }
                }
                None => word.push(c),
                Some(q) if c == q => quote = None,
                Some(_) if c == '\\' => {
                    if i + 1 < chars.len() {
                        i += 1;
                        word.push(chars[i].1);
                    } else {
                        quote = None;
                    }
                }
                Some(_) => word.push(c),
            }
            i += 1;
        }
        if word == "--" {
            // `--` ends the flags; what follows is arguments.
            let rest = chars.get(i).map_or(line.len(), |c| c.0);
            return (flags, rest);
        }
        if blank_ok || !word.is_empty() {
            flags.push((word, chars[start].0));
        }
    }
}

/// The outcome of trying to read an instruction's arguments as a JSON array of strings.
#[derive(Debug, PartialEq, Eq)]
pub enum Json {
    /// A JSON array of strings: the exec form.
    Array(Vec<String>),
    /// Not a JSON array: Docker falls back to the shell form.
    NotJson,
    /// A JSON array with something other than strings: an error in Docker.
    NotStrings,
}

/// Reads `rest` as a JSON array the way Docker does: only the first JSON value counts
/// (trailing text is ignored), anything that does not decode is not JSON.
pub fn parse_json(rest: &str) -> Json {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Json::NotJson;
    }
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
    match stream.next() {
        Some(Ok(serde_json::Value::Array(items))) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    serde_json::Value::String(s) => out.push(s),
                    _ => return Json::NotStrings,
                }
            }
            Json::Array(out)
        }
        _ => Json::NotJson,
    }
}

/// Splits on runs of ASCII blanks (Docker's `[\t\v\f\r ]+`), no quote handling.
pub fn split_whitespace(rest: &str) -> Vec<String> {
    rest.split(['\t', '\x0b', '\x0c', '\r', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(
            parse_words(r#"a="b c" d=e\ f"#, '\\'),
            [r#"a="b c""#, r"d=e\ f"]
        );
        assert_eq!(parse_words("a='x\\' b", '\\'), ["a='x\\'", "b"]);
        assert_eq!(parse_words("  ", '\\'), Vec::<String>::new());
        assert_eq!(parse_words("a=\"\"", '\\'), ["a=\"\""]);
        assert_eq!(parse_words("a=b`", '`'), ["a=b"]);
    }

    #[test]
    fn flags_are_taken_off_the_front() {
        let line = "--from=build --chown=\"a b\" src dst";
        let (flags, rest) = extract_flags(line);
        assert_eq!(
            flags,
            [
                ("--from=build".to_string(), 0),
                ("--chown=a b".to_string(), 13)
            ]
        );
        assert_eq!(&line[rest..], "src dst");
        let (flags, rest) = extract_flags("-- --x y");
        assert!(flags.is_empty());
        assert_eq!(&"-- --x y"[rest..], " --x y");
        assert_eq!(extract_flags("--link").0, [("--link".to_string(), 0)]);
    }

    #[test]
    fn json_arrays() {
        assert_eq!(
            parse_json(r#"["a", "b"]"#),
            Json::Array(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse_json(r#"["a"] trailing"#),
            Json::Array(vec!["a".into()])
        );
        assert_eq!(parse_json("[a, b]"), Json::NotJson);
        assert_eq!(parse_json("['a']"), Json::NotJson);
        assert_eq!(parse_json("[1]"), Json::NotStrings);
        assert_eq!(parse_json("[]"), Json::Array(vec![]));
        assert_eq!(parse_json("echo"), Json::NotJson);
    }
}
