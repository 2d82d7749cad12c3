//! `parse` must never panic: a bounded run over many mutated Dockerfiles.

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

const SEEDS: &[&str] = &[
    "# syntax=docker/dockerfile:1\n# escape=`\nFROM --platform=$P alpine:${V:-3} AS b\nRUN --mount=type=cache,target=/c `\n  echo \"$A\" 'b'\nCOPY <<-\"EOF\" <<X /d/\n\tx\n\tEOF\ny\nX\n",
    "ARG A=1\nFROM scratch\nENV a=\"x y\" b=c\\ d\nLABEL \"k\"='v'\nHEALTHCHECK --interval=1s CMD [\"true\"]\nONBUILD ADD --checksum=sha256:0 a b\n",
    "FROM a\nCMD [\"a\", 1]\nENTRYPOINT ['x']\nSHELL [\"sh\"]\nEXPOSE 80/udp\nVOLUME [\"/v\"]\nWORKDIR ${x:+y}\nUSER é\n",
    "FROM a AS b\nRUN <<EOF\nunterminated\n",
];

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ALPHABET: &[char] = &[
    '\\', '`', '$', '{', '}', ':', '-', '+', '?', '"', '\'', '[', ']', ',', '=', '#', '<', '\n',
    '\t', ' ', '\r', '!', '*', 'é', '\u{feff}', '0', 'a', 'R', 'U', 'N',
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..=rng.below(6) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => chars.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            2 if at < chars.len() => chars[at] = ALPHABET[rng.below(ALPHABET.len())],
            _ => {
                // Duplicate a slice: repeats lines, flags, quotes.
                let end = (at + rng.below(12)).min(chars.len());
                let piece: Vec<char> = chars[at.min(end)..end].to_vec();
                chars.splice(at..at, piece);
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn parse_and_evaluate_never_panic_on_mutations() {
    let start = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    while start.elapsed() < Duration::from_secs(3) && runs < 200_000 {
        let seed = SEEDS[rng.below(SEEDS.len())];
        let text = mutate(&mut rng, seed);
        if let Ok(df) = berth_build::parse(&text) {
            let ev = berth_build::args::Evaluator::new(&df, vec![], Default::default());
            let _ = ev.evaluate(None, &|_| Default::default());
        }
        let _ = berth_build::dockerignore::DockerIgnore::parse(&text).map(|d| d.matches("a/b/c"));
        runs += 1;
    }
    assert!(runs > 1000, "only {runs} inputs in the time budget");
}

#[test]
fn huge_inputs_do_not_overflow() {
    let deep = format!("FROM scratch\nENV a={}\n", "${A:-".repeat(100_000));
    let df = berth_build::parse(&deep).unwrap();
    let ev = berth_build::args::Evaluator::new(&df, vec![], Default::default());
    assert!(ev.evaluate(None, &|_| Default::default()).is_err());
    let long = format!("{}\n", "a*".repeat(2_000));
    let di = berth_build::dockerignore::DockerIgnore::parse(&long).unwrap();
    assert!(di.matches(&"ab".repeat(2_000)));
    assert!(!di.matches(&"ab".repeat(1_999)), "one `a` short");
    let many_lines = "RUN x \\\n".repeat(50_000);
    berth_build::parse(&format!("FROM scratch\n{many_lines}")).unwrap();
}
