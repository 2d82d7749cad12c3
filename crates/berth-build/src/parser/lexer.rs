//! Physical lines to logical lines: comments dropped, continuation lines joined, and a map
//! from every character of a logical line back to its line and column in the file.

/// Where a piece of a logical line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// Byte offset in the logical line.
    offset: usize,
    /// 1-based physical line.
    line: usize,
    /// 1-based column (characters) of `offset` in that physical line.
    column: usize,
}

/// Maps byte offsets of a logical line to positions in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMap {
    segments: Vec<Segment>,
}

impl LineMap {
    pub(crate) fn push(&mut self, offset: usize, line: usize, column: usize) {
        self.segments.push(Segment {
            offset,
            line,
            column,
        });
    }

    /// The (line, column) of byte `offset` of `text`, the logical line this map describes.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let Some(seg) = self.segments.iter().rev().find(|s| s.offset <= offset) else {
            return (1, 1);
        };
        let end = offset.min(text.len());
        let start = seg.offset.min(end);
        let chars = text.get(start..end).map_or(0, |s| s.chars().count());
        (seg.line, seg.column + chars)
    }

    /// The first physical line.
    pub fn first_line(&self) -> usize {
        self.segments.first().map_or(1, |s| s.line)
    }
}

/// Docker's blanks for trimming: space, tab, and the rest of `unicode.IsSpace` on the left.
pub(crate) fn trim_leading(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

pub(crate) fn is_comment(s: &str) -> bool {
    trim_leading(s).starts_with('#')
}

/// Removes a trailing escape character followed only by blanks; returns the text and
/// whether the line ends (no continuation). As in Docker (`([^\\])\\[ \t]*$`), the escape
/// must follow another character that is not itself the escape: `a\\` at the end of a line
/// is an escaped backslash, not a continuation (checked against dockerd).
pub(crate) fn trim_continuation(s: &str, escape: char) -> (&str, bool) {
    let t = s.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(body) if body.chars().next_back().is_some_and(|c| c != escape) => (body, false),
        _ => (s, true),
    }
}

/// Splits text into physical lines without their `\n` or `\r\n`.
pub(crate) fn physical_lines(text: &str) -> Vec<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_allows_trailing_blanks() {
        assert_eq!(trim_continuation("a \\  ", '\\'), ("a ", false));
        assert_eq!(trim_continuation("a", '\\'), ("a", true));
        assert_eq!(trim_continuation("c:\\", '`'), ("c:\\", true));
        assert_eq!(trim_continuation("a `", '`'), ("a ", false));
        assert_eq!(trim_continuation("a\\\\", '\\'), ("a\\\\", true));
        assert_eq!(trim_continuation("\\", '\\'), ("\\", true));
    }

    #[test]
    fn positions_follow_segments() {
        let mut m = LineMap::default();
        m.push(0, 3, 5);
        m.push(4, 4, 1);
        let text = "abcdéfg";
        assert_eq!(m.position(text, 2), (3, 7));
        assert_eq!(m.position(text, 6), (4, 2));
    }
}
