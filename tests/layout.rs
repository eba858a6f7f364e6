//! The workspace's shape, checked (docs/architecture.md): each crate depends only on the crates
//! below it, the management center and the engine carry no HTTP framework or database driver in
//! their dependency trees, no two files of a crate import each other (no import cycle inside a
//! crate), and no file is over 600 lines without saying why at its top.
//!
//! `cargo metadata` gives the crates' dependencies; `syn` reads every source file.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;
use syn::visit::Visit;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn metadata() -> Value {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each layer's crates and the workspace crates each may depend on (normal dependencies).
/// Benches, load tests and test fixtures may use anything.
const ALLOWED: &[(&str, &[&str])] = &[
    ("kms-engine", &[]),
    ("kms-hsm", &["kms-engine"]),
    ("kms-tls", &["kms-engine"]),
    ("kms-store", &["kms-engine", "kms-tls"]),
    ("kms-control", &["kms-engine", "kms-hsm"]),
    (
        "kms-gateway",
        &[
            "kms-engine",
            "kms-hsm",
            "kms-tls",
            "kms-store",
            "kms-control",
        ],
    ),
    ("kms-cli", &["kms-engine"]),
    // The Rust client speaks only HTTP: it shares no code with the server.
    ("kms-client", &[]),
    (
        "kms",
        &[
            "kms-engine",
            "kms-hsm",
            "kms-tls",
            "kms-store",
            "kms-control",
            "kms-gateway",
            "kms-cli",
        ],
    ),
];

/// Packages that must not be anywhere in a crate's normal dependency tree.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "kms-engine",
        &["actix-web", "sqlx", "cryptoki", "ureq", "clap"],
    ),
    ("kms-hsm", &["actix-web", "sqlx", "ureq", "clap"]),
    ("kms-tls", &["actix-web", "sqlx", "cryptoki", "ureq"]),
    ("kms-store", &["actix-web", "cryptoki", "clap"]),
    ("kms-control", &["actix-web", "actix-http", "sqlx", "clap"]),
    ("kms-gateway", &["clap"]),
    ("kms-cli", &["actix-web", "sqlx", "cryptoki"]),
    ("kms-client", &["actix-web", "sqlx", "cryptoki", "clap"]),
];

/// Package name → (its normal dependencies' package names, workspace members only or all).
fn normal_deps(meta: &Value) -> (HashMap<String, String>, HashMap<String, Vec<String>>) {
    let mut names = HashMap::new();
    for p in meta["packages"].as_array().unwrap() {
        names.insert(
            p["id"].as_str().unwrap().to_owned(),
            p["name"].as_str().unwrap().to_owned(),
        );
    }
    let mut deps = HashMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap().to_owned();
        let normal: Vec<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| d["pkg"].as_str().unwrap().to_owned())
            .collect();
        deps.insert(id, normal);
    }
    (names, deps)
}

fn id_of<'a>(names: &'a HashMap<String, String>, name: &str) -> &'a str {
    names
        .iter()
        .find(|(id, n)| n.as_str() == name && !id.contains("registry+"))
        .map(|(id, _)| id.as_str())
        .unwrap_or_else(|| panic!("no workspace package {name}"))
}

#[test]
fn each_crate_depends_only_on_the_crates_below_it() {
    let meta = metadata();
    let (names, deps) = normal_deps(&meta);
    let members: BTreeSet<&str> = ALLOWED.iter().map(|(n, _)| *n).collect();
    let mut wrong = Vec::new();
    for (name, allowed) in ALLOWED {
        for dep in &deps[id_of(&names, name)] {
            let dep = names[dep].as_str();
            if members.contains(dep) && !allowed.contains(&dep) {
                wrong.push(format!("{name} depends on {dep}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies pointing up or sideways: {wrong:?}"
    );
}

#[test]
fn the_management_center_and_the_core_carry_no_http_framework_or_database_driver() {
    let meta = metadata();
    let (names, deps) = normal_deps(&meta);
    let mut wrong = Vec::new();
    for (name, forbidden) in FORBIDDEN {
        let mut seen = BTreeSet::new();
        let mut todo = vec![id_of(&names, name).to_owned()];
        while let Some(id) = todo.pop() {
            for dep in deps.get(&id).into_iter().flatten() {
                if seen.insert(dep.clone()) {
                    todo.push(dep.clone());
                }
            }
        }
        for dep in seen {
            if forbidden.contains(&names[&dep].as_str()) {
                wrong.push(format!("{name} pulls in {}", names[&dep]));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

/// A crate's modules: module path → the file it is written in (a file compiled as several
/// modules, as store/src/shared is, appears under each).
#[derive(Default)]
struct Modules {
    files: BTreeMap<Vec<String>, PathBuf>,
    /// `macro_rules!` without arguments that expand to module declarations (store's
    /// `shared_modules!`), by name.
    macros: HashMap<String, syn::File>,
}

fn attr_path(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

impl Modules {
    /// The library's modules (a binary's `main.rs` is a crate of its own: a binary with a
    /// library beside it is checked as the library).
    fn load(src: &Path) -> Self {
        let mut m = Modules::default();
        let lib = src.join("lib.rs");
        let root = if lib.exists() {
            lib
        } else {
            src.join("main.rs")
        };
        m.walk_file(&root, Vec::new(), src);
        m
    }

    fn walk_file(&mut self, file: &Path, module: Vec<String>, dir: &Path) {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        self.files.insert(module.clone(), file.to_owned());
        let here = file.parent().unwrap().to_owned();
        self.walk_items(&parsed.items, &module, dir, &here);
    }

    /// `dir` is where `mod x;` finds `x.rs` or `x/mod.rs` for the items' module; `here` is the
    /// directory of the file they are in, which `#[path]` is relative to.
    fn walk_items(&mut self, items: &[syn::Item], module: &[String], dir: &Path, here: &Path) {
        for item in items {
            match item {
                syn::Item::Macro(m) if m.mac.path.is_ident("macro_rules") => {
                    let name = m.ident.as_ref().unwrap().to_string();
                    // `() => { items }`: keep the items.
                    let body = m.mac.tokens.clone().into_iter().last();
                    if let Some(proc_macro2::TokenTree::Group(body)) = body
                        && let Ok(file) = syn::parse2::<syn::File>(body.stream())
                    {
                        self.macros.insert(name, file);
                    }
                }
                syn::Item::Macro(m) => {
                    let name = m.mac.path.segments.last().unwrap().ident.to_string();
                    if let Some(file) = self.macros.get(&name).cloned() {
                        self.walk_items(&file.items, module, dir, here);
                    }
                }
                syn::Item::Mod(m) => {
                    let mut child = module.to_vec();
                    child.push(m.ident.to_string());
                    match &m.content {
                        // Inline: part of this file.
                        Some((_, items)) => {
                            let child_dir = dir.join(m.ident.to_string());
                            self.walk_items(items, &child, &child_dir, here);
                        }
                        None => {
                            let name = m.ident.to_string();
                            let (file, child_dir) = match attr_path(&m.attrs) {
                                Some(p) => {
                                    let f = here.join(p);
                                    let d = f.parent().unwrap().to_owned();
                                    (f, d)
                                }
                                None if dir.join(format!("{name}.rs")).exists() => {
                                    (dir.join(format!("{name}.rs")), dir.join(&name))
                                }
                                None => (dir.join(&name).join("mod.rs"), dir.join(&name)),
                            };
                            self.walk_file(&file, child, &child_dir);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The file that holds the longest prefix of `path` that is a module.
    fn file_of(&self, path: &[String]) -> Option<&PathBuf> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.files.get(&path[..n]))
    }
}

/// Collects the module paths one file refers to: `use` trees and paths in code that start with
/// `crate`, `self`, `super` or a child module's name.
struct Refs<'a> {
    modules: &'a Modules,
    /// The module the visitor is in (inline modules included).
    module: Vec<String>,
    found: Vec<Vec<String>>,
}

impl Refs<'_> {
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" | "super" => self.module.clone(),
            name => {
                let mut child = self.module.clone();
                child.push(name.to_owned());
                if !self.modules.files.contains_key(&child) {
                    return None;
                }
                self.module.clone()
            }
        };
        let mut rest = segments;
        if first == "crate" || first == "self" {
            rest = &segments[1..];
        }
        while let Some(s) = rest.first() {
            if s != "super" {
                break;
            }
            base.pop();
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.add(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.add(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.add(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    fn add(&mut self, segments: &[String]) {
        if let Some(p) = self.resolve(segments) {
            self.found.push(p);
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.add(&segments);
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.module.pop();
        }
    }
}

/// Every pair of files (a → b) where a names something in b.
fn file_edges(modules: &Modules) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (module, file) in &modules.files {
        let text = std::fs::read_to_string(file).unwrap();
        let parsed = syn::parse_file(&text).unwrap();
        let mut refs = Refs {
            modules,
            module: module.clone(),
            found: Vec::new(),
        };
        refs.visit_file(&parsed);
        for target in refs.found {
            if let Some(to) = modules.file_of(&target)
                && to != file
            {
                edges.entry(file.clone()).or_default().insert(to.clone());
            }
        }
    }
    edges
}

/// Files on an import cycle (Tarjan's strongly connected components of more than one file).
fn cycles(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct T<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: HashMap<&'a PathBuf, usize>,
        low: HashMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on: BTreeSet<&'a PathBuf>,
        out: Vec<Vec<PathBuf>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a PathBuf) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let l = self.low[w].min(self.low[v]);
                    self.low.insert(v, l);
                } else if self.on.contains(w) {
                    let l = self.index[w].min(self.low[v]);
                    self.low.insert(v, l);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = T {
        edges,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

const CRATES: &[&str] = &[
    "engine",
    "hsm-actor",
    "tls",
    "store",
    "control",
    "gateway",
    "cli",
    "client",
    "kms",
];

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let mut found = Vec::new();
    for krate in CRATES {
        let modules = Modules::load(&root().join(krate).join("src"));
        assert!(!modules.files.is_empty(), "{krate}: no modules found");
        for cycle in cycles(&file_edges(&modules)) {
            let names: Vec<String> = cycle
                .iter()
                .map(|p| p.strip_prefix(root()).unwrap_or(p).display().to_string())
                .collect();
            found.push(names.join(" <-> "));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    // Two files naming each other's items, as a crate would lay them out.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::B;\npub struct A;\n").unwrap();
    std::fs::write(src.join("b.rs"), "pub struct B(crate::a::A);\n").unwrap();
    let modules = Modules::load(src);
    assert_eq!(cycles(&file_edges(&modules)).len(), 1);
    // A child using its parent's item while the parent only declares it is no cycle.
    std::fs::write(src.join("b.rs"), "pub struct B;\n").unwrap();
    assert!(cycles(&file_edges(&Modules::load(src))).is_empty());
}

#[test]
fn no_file_is_over_600_lines_without_saying_why() {
    let mut long = Vec::new();
    let mut dirs = vec![root().join("tests")];
    for krate in CRATES.iter().chain(&["testkit", "benches", "loadtest"]) {
        dirs.push(root().join(krate));
    }
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("target") {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let lines = text.lines().count();
                // The reason is a comment among the first lines that says why it is long.
                let says_why = text
                    .lines()
                    .take(12)
                    .any(|l| l.trim_start().starts_with("//") && l.contains("600 lines"));
                if lines > 600 && !says_why {
                    long.push(format!("{} ({lines} lines)", path.display()));
                }
            }
        }
    }
    assert!(long.is_empty(), "files over 600 lines: {long:?}");
}
