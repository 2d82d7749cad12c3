//! Go's `filepath.Match` for one path segment: `*`, `?`, `[...]` (ranges, `^` negation)
//! and `\` escapes. COPY and ADD sources match segment by segment, as Docker's do.

/// Whether `pattern` has any glob metacharacter.
pub(crate) fn has_meta(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Whether `name` (one segment) matches `pattern` (one segment). A malformed pattern
/// matches nothing.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_at(&p, &n)
}

fn match_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|i| match_at(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && match_at(&p[1..], &n[1..]),
        Some('[') => {
            let Some(&c) = n.first() else { return false };
            match class(&p[1..], c) {
                Some((hit, rest)) => hit && match_at(rest, &n[1..]),
                None => false,
            }
        }
        Some('\\') => match p.get(1) {
            Some(&e) => n.first() == Some(&e) && match_at(&p[2..], &n[1..]),
            None => false,
        },
        Some(&c) => n.first() == Some(&c) && match_at(&p[1..], &n[1..]),
    }
}

/// Matches `c` against a class body (after `[`); the rest of the pattern after `]`.
fn class(p: &[char], c: char) -> Option<(bool, &[char])> {
    let (negated, mut i) = match p.first() {
        Some('^') => (true, 1),
        _ => (false, 0),
    };
    let mut hit = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        if lo == ']' && !first {
            return Some((hit != negated, &p[i + 1..]));
        }
        first = false;
        let lo = if lo == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            lo
        };
        i += 1;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&h| h != ']') {
            i += 1;
            let mut h = *p.get(i)?;
            if h == '\\' {
                i += 1;
                h = *p.get(i)?;
            }
            i += 1;
            h
        } else {
            lo
        };
        if lo <= c && c <= hi {
            hit = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn go_filepath_match() {
        assert!(matches("*.txt", "a.txt"));
        assert!(!matches("*.txt", "a.txt.bak"));
        assert!(matches("a?c", "abc"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[^a-c]x", "bx"));
        assert!(matches("\\*", "*"));
        assert!(!matches("[", "["));
    }
}
