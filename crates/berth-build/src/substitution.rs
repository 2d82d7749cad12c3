//! Docker's shell-word lexer: quotes, escapes and variable substitution as Dockerfile
//! instructions (ENV, LABEL, COPY, WORKDIR...) apply them. RUN, CMD and ENTRYPOINT are not
//! expanded by the builder: the shell does it at run time.
//!
//! Supported forms: `$NAME`, `${NAME}`, `${NAME:-word}` (word if unset or empty),
//! `${NAME-word}` (word if unset), `${NAME:+word}` (word if set and not empty),
//! `${NAME+word}` (word if set), `${NAME:?message}` and `${NAME?message}` (error if unset).
//! Inside single quotes nothing is special; inside double quotes only `$`, `"` and the escape
//! character are. The escape character is `\` or, with `# escape=`\``, a backtick.

/// A substitution that cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstitutionError {
    /// `'` without its closing quote.
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    /// `"` without its closing quote.
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
    /// `${` without `}`.
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    /// `${}`, `${:x}`, `${{x}`.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// `${x:%}` and other modifiers Docker does not support.
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(char),
    /// `${a:-${b:-${c...` nested deeper than [`MAX_NESTING`].
    #[error("syntax error: substitutions nested too deeply")]
    TooDeep,
    /// `${x?message}` with `x` unset.
    #[error("{name}: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The message given, or Docker's default.
        message: String,
    },
}

/// How deeply `${...}` may nest: far beyond any real Dockerfile, low enough that the
/// recursive lexer cannot exhaust a thread's stack.
pub const MAX_NESTING: usize = 64;

/// Looks variables up. Returns `None` when unset (as opposed to set and empty).
pub trait Lookup {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// An ordered list of `(name, value)` pairs; the last definition of a name wins.
impl Lookup for [(String, String)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

impl Lookup for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        Lookup::get(self.as_slice(), name)
    }
}

/// A lexer configuration.
#[derive(Debug, Clone, Copy)]
pub struct Lexer {
    /// The escape character: `\` or `` ` ``.
    pub escape: char,
    /// Keep quote characters in the output (used to find heredoc words).
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Leave `$NAME` as written when NAME is unset.
    pub skip_unset: bool,
}

impl Lexer {
    /// A lexer with the given escape character and Docker's defaults otherwise.
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
        }
    }

    /// Processes `word` into one string: quotes removed, escapes applied, variables
    /// substituted. Whitespace is kept (`WORKDIR /a b` is one path).
    pub fn process_word(&self, word: &str, env: &dyn Lookup) -> Result<String, SubstitutionError> {
        Ok(self.run(word, env)?.0)
    }

    /// Processes `word` and splits the result into words on unquoted whitespace; whitespace
    /// coming from a variable's value splits too, whitespace inside quotes does not.
    pub fn process_words(
        &self,
        word: &str,
        env: &dyn Lookup,
    ) -> Result<Vec<String>, SubstitutionError> {
        Ok(self.run(word, env)?.1)
    }

    fn run(
        &self,
        word: &str,
        env: &dyn Lookup,
    ) -> Result<(String, Vec<String>), SubstitutionError> {
        let chars: Vec<char> = word.chars().collect();
        let mut state = State {
            lexer: self,
            chars: &chars,
            pos: 0,
            env,
            depth: 0,
        };
        state.process_stop_on(None)
    }
}

struct State<'a> {
    lexer: &'a Lexer,
    chars: &'a [char],
    pos: usize,
    env: &'a dyn Lookup,
    depth: usize,
}

/// Accumulates words the way Docker's lexer does: whitespace produced by `$` expansion or
/// plain text splits, text from quotes does not.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    word: String,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

impl State<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<String>), SubstitutionError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '\'' | '"' | '$' => {
                    let part = match ch {
                        '\'' => self.single_quote()?,
                        '"' => self.double_quote()?,
                        _ => self.dollar()?,
                    };
                    result.push_str(&part);
                    if ch == '$' {
                        words.add_string(&part);
                    } else {
                        words.add_raw_string(&part);
                    }
                }
                _ => {
                    self.next();
                    let mut ch = ch;
                    if ch == self.lexer.escape {
                        if self.lexer.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        match self.next() {
                            // An escape at the very end of the word is dropped.
                            None => break,
                            Some(c) => ch = c,
                        }
                        words.add_raw_char(ch);
                    } else {
                        words.add_char(ch);
                    }
                    result.push(ch);
                }
            }
        }
        if stop.is_some() {
            return Err(SubstitutionError::MissingBrace);
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Result<String, SubstitutionError> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => return Err(SubstitutionError::UnterminatedSingleQuote),
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, SubstitutionError> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => return Err(SubstitutionError::UnterminatedDoubleQuote),
                Some('"') => {
                    self.next();
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    result.push_str(&v);
                }
                Some(mut ch) => {
                    self.next();
                    if ch == self.lexer.escape {
                        if self.lexer.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            // Only these can be escaped inside double quotes; any other
                            // escape character stays as written.
                            Some(c) if c == '"' || c == '$' || c == self.lexer.escape => {
                                self.next();
                                ch = c;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn dollar(&mut self) -> Result<String, SubstitutionError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.env.get(&name) {
                Some(v) => v,
                None if self.lexer.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        self.depth += 1;
        let result = self.braced();
        self.depth -= 1;
        result
    }

    fn braced(&mut self) -> Result<String, SubstitutionError> {
        if self.depth > MAX_NESTING {
            return Err(SubstitutionError::TooDeep);
        }
        match self.peek() {
            None => return Err(SubstitutionError::MissingBrace),
            Some('{' | '}' | ':') => return Err(SubstitutionError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        let value = self.env.get(&name);
        match self.next() {
            None => Err(SubstitutionError::MissingBrace),
            Some('}') => Ok(match value {
                Some(v) => v,
                None if self.lexer.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':') => {
                let modifier = self.next().ok_or(SubstitutionError::MissingBrace)?;
                let (word, _) = self.process_stop_on(Some('}'))?;
                let empty = value.as_deref().is_none_or(str::is_empty);
                match modifier {
                    '-' => Ok(if empty {
                        word
                    } else {
                        value.unwrap_or_default()
                    }),
                    '+' => Ok(if empty { String::new() } else { word }),
                    '?' if empty => Err(required(name, word)),
                    '?' => Ok(value.unwrap_or_default()),
                    m => Err(SubstitutionError::UnsupportedModifier(m)),
                }
            }
            Some(modifier @ ('-' | '+' | '?')) => {
                let (word, _) = self.process_stop_on(Some('}'))?;
                match (modifier, value) {
                    ('-', None) => Ok(word),
                    ('+', Some(_)) => Ok(word),
                    ('+', None) => Ok(String::new()),
                    ('?', None) => Err(required(name, word)),
                    (_, Some(v)) => Ok(v),
                    (_, None) => Ok(String::new()),
                }
            }
            Some(m) => {
                // Skip to the closing brace so the error names the modifier, as Docker does.
                Err(SubstitutionError::UnsupportedModifier(m))
            }
        }
    }
}

fn required(name: String, message: String) -> SubstitutionError {
    let message = if message.is_empty() {
        "is not allowed to be unset".to_string()
    } else {
        message
    };
    SubstitutionError::Required { name, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        [("A", "a"), ("EMPTY", ""), ("SP", "x  y"), ("PATH", "/bin")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn w(s: &str) -> Result<String, SubstitutionError> {
        Lexer::new('\\').process_word(s, &env())
    }

    #[test]
    fn substitution_table() {
        let cases = [
            ("$A", "a"),
            ("${A}", "a"),
            ("${A}_b", "a_b"),
            ("$A_b", ""),
            ("$UNSET", ""),
            ("${UNSET:-def}", "def"),
            ("${EMPTY:-def}", "def"),
            ("${A:-def}", "a"),
            ("${UNSET-def}", "def"),
            ("${EMPTY-def}", ""),
            ("${A:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${UNSET:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("${UNSET:-$A}", "a"),
            ("${UNSET:-${A:+nested}}", "nested"),
            ("${UNSET:-a b}", "a b"),
            ("\\$A", "$A"),
            ("\\${A}", "${A}"),
            ("'$A'", "$A"),
            ("\"$A\"", "a"),
            ("\"\\$A\"", "$A"),
            ("\"a\\nb\"", "a\\nb"),
            ("a\\ b", "a b"),
            ("$", "$"),
            ("a$", "a$"),
            ("$1", ""),
            ("foo\\", "foo"),
            ("'a\"b'", "a\"b"),
            ("\"a'b\"", "a'b"),
            ("${PATH}:/usr/bin", "/bin:/usr/bin"),
        ];
        for (input, want) in cases {
            assert_eq!(w(input).as_deref(), Ok(want), "input {input:?}");
        }
    }

    #[test]
    fn substitution_errors() {
        assert_eq!(w("${A"), Err(SubstitutionError::MissingBrace));
        assert_eq!(w("${"), Err(SubstitutionError::MissingBrace));
        assert_eq!(w("${}"), Err(SubstitutionError::BadSubstitution));
        assert_eq!(w("${:-x}"), Err(SubstitutionError::BadSubstitution));
        assert_eq!(w("'abc"), Err(SubstitutionError::UnterminatedSingleQuote));
        assert_eq!(w("\"abc"), Err(SubstitutionError::UnterminatedDoubleQuote));
        assert_eq!(
            w("${A:%x}"),
            Err(SubstitutionError::UnsupportedModifier('%'))
        );
        assert_eq!(
            w("${UNSET:?must be set}").unwrap_err().to_string(),
            "UNSET: must be set"
        );
        assert_eq!(
            w("${UNSET?}").unwrap_err().to_string(),
            "UNSET: is not allowed to be unset"
        );
        assert_eq!(w("${EMPTY?x}").as_deref(), Ok(""));
        let deep = "${A:-".repeat(10_000);
        assert_eq!(w(&deep), Err(SubstitutionError::TooDeep));
    }

    #[test]
    fn backtick_escape() {
        let lx = Lexer::new('`');
        assert_eq!(lx.process_word("`$A", &env()).as_deref(), Ok("$A"));
        assert_eq!(
            lx.process_word("c:\\dir\\$A", &env()).as_deref(),
            Ok("c:\\dir\\a")
        );
        assert_eq!(lx.process_word("\"`\"\"", &env()).as_deref(), Ok("\""));
    }

    #[test]
    fn words_split_on_unquoted_whitespace_and_values() {
        let lx = Lexer::new('\\');
        assert_eq!(
            lx.process_words("a 'b c' $SP", &env()).unwrap(),
            ["a", "b c", "x", "y"]
        );
        assert_eq!(lx.process_words("\"$SP\"", &env()).unwrap(), ["x  y"]);
        assert_eq!(
            lx.process_words("  ", &env()).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn raw_quotes_keep_quotes() {
        let lx = Lexer {
            raw_quotes: true,
            raw_escapes: true,
            ..Lexer::new('\\')
        };
        assert_eq!(
            lx.process_words("cat <<'EOF' x\\ y", &env()).unwrap(),
            ["cat", "<<'EOF'", "x\\ y"]
        );
    }
}
