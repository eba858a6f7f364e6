//! The README and docs/ as a reader meets them: every shell block of the README is run by
//! scripts/walkthrough.sh or says why not, the layout table names every doc, relative links and
//! their anchors resolve, and no page cites an issue number a reader cannot follow.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(format!("{}/..", env!("CARGO_MANIFEST_DIR")))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md and every docs/*.md, with their paths relative to the repository.
fn pages() -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    names.sort();
    names.insert(0, "README.md".to_owned());
    names
        .into_iter()
        .map(|n| {
            let text = read(&root().join(&n));
            (n, text)
        })
        .collect()
}

/// The fenced blocks of a page: (1-based line of the opening fence, language, the line above).
fn fences(text: &str) -> Vec<(usize, String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(lang) = lines[i].strip_prefix("```") {
            let above = if i > 0 { lines[i - 1].trim() } else { "" };
            out.push((i + 1, lang.trim().to_owned(), above.to_owned()));
            i += 1;
            while i < lines.len() && lines[i] != "```" {
                i += 1;
            }
        }
        i += 1;
    }
    out
}

/// The rule scripts/walkthrough.sh enforces when it runs them, checked here without a server: a
/// fence always names its language, shell blocks are `sh`, and an `sh` block is run unless the
/// line above it says `<!-- not-run: why -->`.
#[test]
fn every_readme_shell_block_is_run_or_says_why_not() {
    let readme = read(&root().join("README.md"));
    let mut problems = Vec::new();
    let mut markers = Vec::new();
    let mut run = 0;
    for (line, lang, above) in fences(&readme) {
        match lang.as_str() {
            "" => problems.push(format!("README.md:{line}: a fence without a language")),
            "bash" | "shell" | "console" | "zsh" => {
                problems.push(format!(
                    "README.md:{line}: ```{lang}: shell blocks are ```sh"
                ));
            }
            "sh" => match above.as_str() {
                "<!-- run-command -->"
                | "<!-- walkthrough -->"
                | "<!-- cli-walkthrough -->"
                | "<!-- access-walkthrough -->" => {
                    markers.push(above.clone());
                }
                a if a.starts_with("<!-- not-run:") => {
                    let why = a["<!-- not-run:".len()..].trim_end_matches("-->").trim();
                    if why.is_empty() {
                        problems.push(format!("README.md:{line}: not-run without a reason"));
                    }
                }
                a if a.starts_with("<!--") => {
                    problems.push(format!("README.md:{line}: unknown marker {a}"));
                }
                _ => run += 1,
            },
            _ => {}
        }
    }
    markers.sort();
    assert_eq!(
        markers,
        [
            "<!-- access-walkthrough -->",
            "<!-- cli-walkthrough -->",
            "<!-- run-command -->",
            "<!-- walkthrough -->"
        ],
        "the blocks scripts/walkthrough.sh knows by name"
    );
    assert!(problems.is_empty(), "{problems:#?}");
    // The password demo, backup and restore, the Rust client and the Transit calls at least.
    assert!(run >= 4, "only {run} plain sh blocks would run");
    let test_sh = read(&root().join("scripts/test.sh"));
    assert!(
        test_sh
            .lines()
            .any(|l| l.trim() == "scripts/walkthrough.sh"),
        "scripts/test.sh does not run the README's blocks"
    );
}

/// The README's layout table names every page of docs/.
#[test]
fn the_readme_layout_table_names_every_doc() {
    let readme = read(&root().join("README.md"));
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `docs/` |"))
        .expect("the layout table's docs/ row");
    let missing: Vec<String> = pages()
        .into_iter()
        .skip(1)
        .map(|(name, _)| name)
        .filter(|name| !row.contains(&format!("({name})")))
        .collect();
    assert!(missing.is_empty(), "not in the layout table: {missing:?}");
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            out.push(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every relative link of the README and docs/ reaches a file of the repository, and its
/// `#anchor`, if any, a heading of that file.
#[test]
fn relative_links_and_their_anchors_resolve() {
    let mut broken = Vec::new();
    for (name, text) in pages() {
        let dir = Path::new(&name)
            .parent()
            .unwrap_or(Path::new(""))
            .to_owned();
        for part in text.split("](").skip(1) {
            let Some(end) = part.find(')') else { continue };
            let target = &part[..end];
            if target.contains("://") || target.starts_with("mailto:") || target.contains(' ') {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                root().join(&name)
            } else {
                root().join(&dir).join(file)
            };
            if !path.exists() {
                broken.push(format!("{name}: ({target}): no such file"));
                continue;
            }
            if !anchor.is_empty()
                && path.extension().is_some_and(|e| e == "md")
                && !anchors(&read(&path)).iter().any(|a| a == anchor)
            {
                broken.push(format!("{name}: ({target}): no such heading"));
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

/// Whether `line` cites a tracker's issue by its number ("issue" or "issues", then a number).
fn cites_an_issue(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.match_indices("issue").any(|(at, _)| {
        lower[at + "issue".len()..]
            .trim_start_matches(['s', ' ', '-', '#'])
            .starts_with(|c: char| c.is_ascii_digit())
    })
}

/// Numbers from a tracker the reader of a clone cannot open. A page, or a comment in the code,
/// names the feature, or links to the section that describes it.
#[test]
fn no_page_or_comment_cites_an_issue_number() {
    let mut cited = Vec::new();
    for (name, text) in pages() {
        for (n, line) in text.lines().enumerate() {
            if cites_an_issue(line) {
                cited.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    // The code and scripts git tracks (the advisory snapshot's records are RustSec's text).
    let listed = std::process::Command::new("git")
        .args(["ls-files", "*.rs", "*.sh", "*.toml", ".ci/*", "Dockerfile"])
        .current_dir(root())
        .output()
        .expect("git ls-files");
    assert!(listed.status.success(), "git ls-files failed");
    for name in String::from_utf8_lossy(&listed.stdout).lines() {
        if name.starts_with("supply-chain/") {
            continue;
        }
        for (n, line) in read(&root().join(name)).lines().enumerate() {
            if cites_an_issue(line) {
                cited.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(cited.is_empty(), "{cited:#?}");
}

/// The design brief the architecture page is measured against is in the repository.
#[test]
fn the_design_brief_is_in_the_repository() {
    let architecture = read(&root().join("docs/architecture.md"));
    assert!(architecture.contains("](design.md)"));
    assert!(read(&root().join("docs/design.md")).contains("## 8. Invariants"));
}
