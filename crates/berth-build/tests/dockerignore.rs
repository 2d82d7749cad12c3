//! `.dockerignore` matching with Docker's semantics.

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use berth_build::dockerignore::DockerIgnore;

fn ignore(text: &str) -> DockerIgnore {
    DockerIgnore::parse(text).unwrap()
}

#[test]
fn basic_patterns() {
    let di = ignore("# comment\n\n*.md\n/temp?\n./build/\nsrc/[a-c]*.o\n");
    assert!(di.matches("README.md"));
    assert!(!di.matches("docs/README.md"), "* does not cross /");
    assert!(di.matches("temp1"));
    assert!(
        di.matches("temp1/inside"),
        "a matching parent excludes its content"
    );
    assert!(!di.matches("temp12"));
    assert!(di.matches("build"));
    assert!(di.matches("build/x/y"));
    assert!(di.matches("src/b.o"));
    assert!(!di.matches("src/d.o"));
    assert!(!di.matches("# comment"));
}

#[test]
fn double_star() {
    let di = ignore("**/*.go\n");
    assert!(di.matches("a.go"));
    assert!(di.matches("x/y/a.go"));
    assert!(!di.matches("a.gox"));
    let di = ignore("a/**/b\n");
    assert!(di.matches("a/b"));
    assert!(di.matches("a/x/y/b"));
    assert!(!di.matches("ab"));
    let di = ignore("logs/**\n");
    assert!(di.matches("logs/x/y"));
    let di = ignore("**\n!keep\n");
    assert!(di.matches("anything/at/all"));
    assert!(!di.matches("keep"));
}

#[test]
fn exceptions_last_match_wins() {
    let di = ignore("*.md\n!README*.md\nREADME-secret.md\n");
    assert!(di.matches("CHANGES.md"));
    assert!(!di.matches("README.md"));
    assert!(di.matches("README-secret.md"));
}

#[test]
fn exception_after_double_star() {
    let di = ignore("**/node_modules\n!**/node_modules/keep.txt\n");
    assert!(di.matches("node_modules/a.js"));
    assert!(di.matches("web/node_modules/a.js"));
    assert!(!di.matches("web/node_modules/keep.txt"));
    // But an exception cannot re-include below a directory a later pattern excludes.
    let di = ignore("!**/keep\n**/cache\n");
    assert!(di.matches("a/cache/keep"));
}

#[test]
fn escapes_and_leading_slash_normalised() {
    assert!(DockerIgnore::parse("!\n").is_err());
    let di = ignore("/a\\*b\n");
    assert!(di.matches("a*b"));
    assert!(!di.matches("axb"));
    let di = ignore("[^a]x\n");
    assert!(di.matches("bx") && !di.matches("ax"));
}

#[test]
fn walk_lists_included_files_sorted() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "a.txt",
        "b.md",
        "sub/c.txt",
        "sub/d.md",
        "node_modules/m/x.js",
        "node_modules/keep",
    ] {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, f).unwrap();
    }
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let di = ignore("*.md\nnode_modules\n!node_modules/keep\n");
    assert_eq!(
        di.walk(dir.path()).unwrap(),
        [
            "a.txt",
            "empty/",
            "node_modules/keep",
            "sub/c.txt",
            "sub/d.md"
        ]
    );
}
