//! The Dockerfile parser's first half: text to raw instructions (keyword, flags, argument
//! text, heredoc bodies), each with a map back to lines and columns. The second half,
//! [`crate::instructions`], gives each raw instruction its typed form.

mod directives;
mod heredoc;
mod lexer;
pub mod words;

pub use directives::Directives;
pub(crate) use heredoc::is_heredoc_word;
pub use heredoc::Heredoc;
pub use lexer::LineMap;

use crate::error::{ParseError, ParseErrorKind};

/// One instruction as written: not yet checked against what the keyword accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawInstruction {
    /// The keyword as written (`run`, `RUN`, `Run`...).
    pub keyword: String,
    /// The logical line: continuation lines joined, comments removed.
    pub text: String,
    /// Positions of `text`'s characters in the file.
    pub map: LineMap,
    /// Byte offset of the keyword in `text` (not 0 for an ONBUILD trigger).
    pub keyword_offset: usize,
    /// The `--flag[=value]` words (quotes removed) and their byte offsets in `text`.
    pub flags: Vec<(String, usize)>,
    /// Byte offset in `text` where the arguments begin.
    pub rest_offset: usize,
    /// Heredoc bodies that followed the line (RUN, COPY, ADD only).
    pub heredocs: Vec<Heredoc>,
    /// The last physical line the instruction (with heredocs) covers.
    pub end_line: usize,
}

impl RawInstruction {
    /// The arguments after the flags, trailing blanks removed.
    pub fn rest(&self) -> &str {
        self.text.get(self.rest_offset..).unwrap_or("").trim_end()
    }

    /// The (line, column) of byte `offset` in `text`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        self.map.position(&self.text, offset)
    }

    /// An error pointing at byte `offset` of `text`.
    pub fn error_at(&self, offset: usize, kind: ParseErrorKind) -> ParseError {
        let (line, column) = self.position(offset);
        ParseError::new(line, column, kind)
    }

    /// An error pointing at the keyword.
    pub fn error(&self, kind: ParseErrorKind) -> ParseError {
        self.error_at(self.keyword_offset, kind)
    }

    /// The first physical line of the instruction.
    pub fn line(&self) -> usize {
        self.position(self.keyword_offset).0
    }

    /// Splits `text` from byte `start` into keyword, flags and arguments.
    pub(crate) fn split(text: String, map: LineMap, start: usize, end_line: usize) -> Self {
        let body = text.get(start..).unwrap_or("");
        let lead = body.len() - body.trim_start().len();
        let keyword_offset = start + lead;
        let after = text.get(keyword_offset..).unwrap_or("");
        let kw_len = after.find(char::is_whitespace).unwrap_or(after.len());
        let keyword = after[..kw_len].to_string();
        let args_start = keyword_offset + kw_len;
        let args = text.get(args_start..).unwrap_or("");
        let (flags, rest) = words::extract_flags(args);
        let flags = flags
            .into_iter()
            .map(|(f, off)| (f, args_start + off))
            .collect();
        RawInstruction {
            keyword,
            keyword_offset,
            flags,
            rest_offset: args_start + rest,
            heredocs: Vec::new(),
            end_line,
            text,
            map,
        }
    }
}

/// A Dockerfile split into directives and raw instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFile {
    /// The parser directives found at the top.
    pub directives: Directives,
    /// The instructions in order.
    pub instructions: Vec<RawInstruction>,
}

/// Splits a Dockerfile into directives and raw instructions.
pub fn parse_raw(text: &str) -> Result<RawFile, ParseError> {
    let lines = lexer::physical_lines(text);
    let mut directives = Directives::default();
    let mut instructions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let raw = lines[i];
        i += 1;
        let trimmed = lexer::trim_leading(raw);
        directives
            .parse_line(trimmed)
            .map_err(|k| ParseError::new(line_no, 1, k))?;
        let escape = directives.escape;
        let content = if lexer::is_comment(trimmed) {
            ""
        } else {
            trimmed
        };
        let (first, mut end) = lexer::trim_continuation(content, escape);
        if end && first.trim().is_empty() {
            continue;
        }
        let mut map = LineMap::default();
        map.push(
            0,
            line_no,
            raw.chars().count() - trimmed.chars().count() + 1,
        );
        let mut logical = first.to_string();
        let mut last_line = line_no;
        while !end && i < lines.len() {
            let raw = lines[i];
            i += 1;
            last_line = i;
            if lexer::is_comment(raw) || raw.trim().is_empty() {
                continue;
            }
            let (piece, e) = lexer::trim_continuation(raw, escape);
            end = e;
            map.push(logical.len(), last_line, 1);
            logical.push_str(piece);
        }
        let mut inst = RawInstruction::split(logical, map, 0, last_line);
        if matches!(
            inst.keyword.to_ascii_lowercase().as_str(),
            "run" | "copy" | "add"
        ) {
            let starts = heredoc::heredocs_from_line(&inst.text)
                .map_err(|e| inst.error(ParseErrorKind::Substitution(e)))?;
            for (n, start) in starts.into_iter().enumerate() {
                let mut content = String::new();
                let mut terminated = false;
                while i < lines.len() {
                    let body_line = lines[i];
                    i += 1;
                    let candidate = if start.chomp {
                        body_line.trim_start_matches('\t')
                    } else {
                        body_line
                    };
                    if candidate == start.name {
                        terminated = true;
                        break;
                    }
                    content.push_str(body_line);
                    content.push('\n');
                }
                if !terminated {
                    // Point at the `<<` that opened the heredoc never closed.
                    let at = inst
                        .text
                        .match_indices("<<")
                        .nth(n)
                        .map_or(inst.keyword_offset, |(k, _)| k);
                    return Err(inst.error_at(at, ParseErrorKind::UnterminatedHeredoc));
                }
                if start.chomp {
                    content = heredoc::chomp(&content);
                }
                inst.heredocs.push(Heredoc {
                    name: start.name,
                    content,
                    expand: start.expand,
                    chomp: start.chomp,
                    fd: start.fd,
                });
            }
            inst.end_line = i.max(inst.end_line);
        }
        instructions.push(inst);
    }
    Ok(RawFile {
        directives,
        instructions,
    })
}
