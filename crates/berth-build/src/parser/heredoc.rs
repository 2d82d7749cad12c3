//! Heredocs: `RUN <<EOF`, `COPY <<-"EOF" /dest`. The body follows the instruction's line
//! and ends at a line equal to the delimiter (after leading tabs are removed, for `<<-`).

use crate::substitution::{Lexer, SubstitutionError};

/// One heredoc of an instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Heredoc {
    /// The delimiter, quotes removed (`EOF` for `<<"EOF"`).
    pub name: String,
    /// The body, each line ending in a newline; with `<<-`, leading tabs already removed.
    pub content: String,
    /// False when the delimiter was quoted: the body is taken literally.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body and the delimiter line.
    pub chomp: bool,
    /// The file descriptor before `<<` (`3<<EOF`), 0 when none is given.
    pub fd: u32,
}

/// A heredoc word as found on the instruction line, before its body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeredocStart {
    pub name: String,
    pub expand: bool,
    pub chomp: bool,
    pub fd: u32,
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// The heredocs an instruction line opens, in order.
pub(crate) fn heredocs_from_line(line: &str) -> Result<Vec<HeredocStart>, SubstitutionError> {
    let lexer = Lexer {
        raw_quotes: true,
        raw_escapes: true,
        ..Lexer::new('\\')
    };
    // A line the shell lexer cannot split (an open quote) has no heredocs, as in Docker.
    let Ok(words) = lexer.process_words(line, &no_env) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for word in words {
        if let Some(h) = parse_heredoc_word(&word)? {
            out.push(h);
        }
    }
    Ok(out)
}

/// `^(\d*)<<(-?)([^<]*)$`, then the delimiter's quotes removed.
fn parse_heredoc_word(word: &str) -> Result<Option<HeredocStart>, SubstitutionError> {
    let digits = word.chars().take_while(char::is_ascii_digit).count();
    let Some(rest) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let fd = word[..digits].parse::<u32>().unwrap_or(0);
    let lexer = Lexer {
        skip_unset: true,
        ..Lexer::new('\\')
    };
    let words = lexer.process_words(rest, &no_env)?;
    let [name] = words.as_slice() else {
        return Ok(None);
    };
    let raw = Lexer {
        raw_quotes: true,
        ..lexer
    }
    .process_words(rest, &no_env)?;
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    // If the lexer removed quotes, part of the delimiter was quoted: no expansion.
    let expand = raw.first().map(|r| quotes(r)) == Some(quotes(name));
    Ok(Some(HeredocStart {
        name: name.clone(),
        expand,
        chomp,
        fd,
    }))
}

/// Whether a word of COPY/ADD's arguments opens a heredoc (and so is not a source path).
pub(crate) fn is_heredoc_word(word: &str) -> bool {
    matches!(parse_heredoc_word(word), Ok(Some(_)))
}

/// Removes leading tabs from every line (`<<-`).
pub(crate) fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_words() {
        let h = heredocs_from_line("RUN <<EOF cat <<-'END' 3<<\"X\"").unwrap();
        let names: Vec<_> = h
            .iter()
            .map(|h| (h.name.as_str(), h.expand, h.chomp, h.fd))
            .collect();
        assert_eq!(
            names,
            [
                ("EOF", true, false, 0),
                ("END", false, true, 0),
                ("X", false, false, 3)
            ]
        );
        assert!(heredocs_from_line("RUN echo '<<EOF'").unwrap().is_empty());
        assert!(heredocs_from_line("RUN echo a<<b").unwrap().is_empty());
        assert!(heredocs_from_line("RUN <<").unwrap().is_empty());
    }

    #[test]
    fn chomp_strips_leading_tabs_only() {
        assert_eq!(chomp("\t\ta\n  b\n\tc\t\n"), "a\n  b\nc\t\n");
    }
}
