//! docs/configuration.md cannot drift from the code: its kms.toml keys are exactly the fields of
//! the structs kms.toml is read into, its complete example parses and sets every key, the
//! defaults it states are the ones the server starts with, its flags are exactly `kms serve`'s,
//! and its environment variables exactly those the code reads.

use std::collections::{BTreeMap, BTreeSet};

use clap::CommandFactory;
use kms::config::{ConfigFile, QuorumSection};
use kms::options::ServeOptions;
use kms_cli::command::Cli;

use crate::docs::read;

/// The files whose structs kms.toml is read into.
const CONFIG_FILES: [&str; 2] = ["kms/src/config.rs", "kms/src/config/sections.rs"];

/// A placeholder segment for a map's keys (`internal.zone_nodes.<zone>` in the doc).
const ANY: &str = "<>";

/// Each struct's named fields and their types.
fn structs() -> BTreeMap<String, Vec<(String, syn::Type)>> {
    let mut out = BTreeMap::new();
    for file in CONFIG_FILES {
        let parsed = syn::parse_file(&read(file)).unwrap();
        for item in parsed.items {
            let syn::Item::Struct(s) = item else { continue };
            let syn::Fields::Named(fields) = s.fields else {
                continue;
            };
            let mut list = Vec::new();
            for f in fields.named {
                // The walk below reads field names as keys: a rename or flatten would need it.
                let serde_attrs: Vec<String> = f
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("serde"))
                    .filter_map(|a| a.meta.require_list().ok().map(|l| l.tokens.to_string()))
                    .collect();
                assert!(
                    serde_attrs
                        .iter()
                        .all(|a| !a.contains("rename") && !a.contains("flatten")),
                    "{}: teach config_docs.rs about {serde_attrs:?}",
                    s.ident
                );
                list.push((f.ident.unwrap().to_string(), f.ty));
            }
            out.insert(s.ident.to_string(), list);
        }
    }
    out
}

/// A path type's last segment and its generic type arguments.
fn segment(ty: &syn::Type) -> Option<(String, Vec<&syn::Type>)> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let args = match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|g| match g {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((last.ident.to_string(), args))
}

/// Every key under `prefix` that a value of type `ty` sets.
fn keys_of(
    ty: &syn::Type,
    prefix: &str,
    all: &BTreeMap<String, Vec<(String, syn::Type)>>,
    out: &mut BTreeSet<String>,
) {
    match segment(ty) {
        Some((name, args)) if name == "Option" => keys_of(args[0], prefix, all, out),
        Some((name, args)) if name == "Vec" && is_struct(args[0], all) => {
            keys_of(args[0], &format!("{prefix}[]"), all, out);
        }
        Some((name, args)) if name == "BTreeMap" || name == "HashMap" => {
            keys_of(args[1], &format!("{prefix}.{ANY}"), all, out);
        }
        Some((name, _)) if all.contains_key(&name) => {
            for (field, ty) in &all[&name] {
                let key = if prefix.is_empty() {
                    field.clone()
                } else {
                    format!("{prefix}.{field}")
                };
                keys_of(ty, &key, all, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

fn is_struct(ty: &syn::Type, all: &BTreeMap<String, Vec<(String, syn::Type)>>) -> bool {
    segment(ty).is_some_and(|(name, _)| all.contains_key(&name))
}

/// kms.toml's keys, from the structs.
fn struct_keys() -> BTreeSet<String> {
    let all = structs();
    let root: syn::Type = syn::parse_str("ConfigFile").unwrap();
    let mut keys = BTreeSet::new();
    keys_of(&root, "", &all, &mut keys);
    keys
}

/// The first cell (in backticks) and the other cells of each table row in the part of the doc
/// from the heading `from` to the next heading of the same level.
fn rows<'a>(doc: &'a str, from: &str) -> Vec<(String, Vec<&'a str>)> {
    let start = doc
        .find(&format!("\n{from}\n"))
        .unwrap_or_else(|| panic!("no `{from}` in docs/configuration.md"));
    let level = &from[..=from.find(' ').unwrap()];
    let rest = &doc[start + from.len() + 2..];
    let end = rest.find(&format!("\n{level}")).unwrap_or(rest.len());
    rest[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| {
            let (first, others) = l.split_once('`').unwrap();
            let cells = others.split('|').skip(1).map(str::trim).collect();
            (first.to_owned(), cells)
        })
        .collect()
}

/// A doc key with its map placeholder (`<zone>`) written as the walk writes it.
fn normalise(key: &str) -> String {
    key.split('.')
        .map(|s| if s.starts_with('<') { ANY } else { s })
        .collect::<Vec<_>>()
        .join(".")
}

/// The keys a TOML value sets, read as the structs read them (`known` says which tables are maps).
fn toml_keys(
    value: &toml::Value,
    prefix: &str,
    known: &BTreeSet<String>,
    out: &mut BTreeSet<String>,
) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        toml::Value::Table(t) => {
            let map = format!("{prefix}.{ANY}");
            for (k, v) in t {
                let key = if known.contains(&map) {
                    map.clone()
                } else {
                    join(k)
                };
                toml_keys(v, &key, known, out);
            }
        }
        toml::Value::Array(items)
            if items.iter().all(toml::Value::is_table) && !items.is_empty() =>
        {
            for item in items {
                toml_keys(item, &format!("{prefix}[]"), known, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

#[test]
fn every_kms_toml_key_is_documented_and_every_documented_key_exists() {
    let doc = read("docs/configuration.md");
    let from_structs = struct_keys();
    assert!(from_structs.len() > 40, "{from_structs:?}");
    assert!(
        from_structs.contains("hsm.pkcs11.tokens[].pin_env"),
        "{from_structs:?}"
    );
    let documented: BTreeSet<String> = rows(&doc, "## kms.toml keys")
        .iter()
        .map(|(k, _)| normalise(k))
        .collect();
    let missing: Vec<_> = from_structs.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&from_structs).collect();
    assert!(
        missing.is_empty(),
        "kms.toml keys not in docs/configuration.md: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/configuration.md documents no such key: {unknown:?}"
    );

    // Every ```toml block parses (unknown keys are errors), and the complete one sets every key.
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()])
        .collect();
    assert!(!blocks.is_empty());
    for block in &blocks {
        toml::from_str::<ConfigFile>(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
    }
    let mut set = BTreeSet::new();
    let complete = toml::Value::Table(toml::from_str(blocks[0]).unwrap());
    toml_keys(&complete, "", &from_structs, &mut set);
    let unset: Vec<_> = from_structs.difference(&set).collect();
    assert!(
        unset.is_empty(),
        "the complete example leaves out {unset:?}"
    );
}

/// A default in backticks is what the server starts with when kms.toml says nothing.
#[test]
fn the_documented_defaults_are_the_servers() {
    let doc = read("docs/configuration.md");
    let opts = ServeOptions::from_config(&ConfigFile::default()).unwrap();
    let quorum = QuorumSection::default();
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap();
    let actual: BTreeMap<&str, String> = [
        ("data_dir", opts.data_dir.display().to_string()),
        ("listen", opts.listen.to_string()),
        ("max_body_bytes", opts.limits.body_bytes.to_string()),
        ("transit_mount", opts.transit_mount.clone()),
        ("hsm.backend", "software".to_owned()),
        ("hsm.rewrap_batch", opts.rewrap.batch.to_string()),
        ("hsm.rewrap_pause_ms", ms(opts.rewrap.pause).to_string()),
        ("quorum.security_admin", quorum.security_admin.to_string()),
        ("quorum.operator", quorum.operator.to_string()),
        (
            "quorum.ceremony_ttl_secs",
            quorum.ceremony_ttl_secs.to_string(),
        ),
        (
            "access.max_failed_logins",
            opts.access.max_failed_logins.to_string(),
        ),
        (
            "access.approval_quorum",
            opts.access.approval_quorum.to_string(),
        ),
        (
            "log.format",
            format!("{:?}", opts.log_format).to_lowercase(),
        ),
    ]
    .into_iter()
    .collect();
    let durations: BTreeMap<&str, i64> = [
        ("scheduler.interval", ms(opts.scheduler_interval)),
        ("access.session_ttl", ms(opts.access.session_ttl)),
        ("access.lockout", ms(opts.access.lockout)),
        ("access.approval_ttl", ms(opts.access.approval_ttl)),
        ("access.enrolment_ttl", ms(opts.access.enrolment_ttl)),
    ]
    .into_iter()
    .collect();
    let mut checked = 0;
    for (key, cells) in rows(&doc, "## kms.toml keys") {
        let Some(default) = cells[1].strip_prefix('`').and_then(|d| d.strip_suffix('`')) else {
            continue;
        };
        if let Some(want) = actual.get(key.as_str()) {
            assert_eq!(default, want, "the default of {key}");
        } else if let Some(want) = durations.get(key.as_str()) {
            let got = kms_control::durations::parse(&key, default).unwrap();
            assert_eq!(got, *want, "the default of {key}");
        } else if key != "audit.sink_file" {
            panic!("{key}'s default `{default}` is in backticks but not checked here");
        }
        checked += 1;
    }
    assert!(checked >= 18, "{checked} defaults checked");
    assert_eq!(
        opts.audit_sink_file().unwrap(),
        opts.data_dir.join("audit.log"),
        "audit.sink_file's default"
    );
}

/// Every environment variable the code reads by name: clap's `env = ...` on every command, and
/// `"KMS_..."` literals in the crates' code (not comments, not tests).
fn env_vars_in_code() -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    fn walk(cmd: &clap::Command, vars: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                vars.insert(env.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, vars);
        }
    }
    walk(&Cli::command(), &mut vars);
    let root = std::path::PathBuf::from(format!("{}/..", env!("CARGO_MANIFEST_DIR")));
    for krate in [
        "engine",
        "hsm-actor",
        "store",
        "tls",
        "control",
        "gateway",
        "cli",
        "kms",
    ] {
        let mut files = Vec::new();
        let mut dirs = vec![root.join(krate).join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for part in line.split('"').skip(1).step_by(2) {
                    if part.starts_with("KMS_")
                        && part.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                    {
                        vars.insert(part.to_owned());
                    }
                }
            }
        }
    }
    vars
}

#[test]
fn every_serve_flag_and_environment_variable_is_documented() {
    let doc = read("docs/configuration.md");
    let cli = Cli::command();
    let serve = cli.find_subcommand("serve").unwrap();
    let flags: BTreeSet<String> = serve
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| *l != "help")
        .map(|l| format!("--{l}"))
        .collect();
    let flag_rows = rows(&doc, "## Flags of `kms serve`");
    let documented: BTreeSet<String> = flag_rows.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(
        flags, documented,
        "kms serve's flags vs docs/configuration.md"
    );
    // Each row's environment variable is the flag's, and its kms.toml key exists.
    let keys = struct_keys();
    for (flag, cells) in &flag_rows {
        let arg = serve
            .get_arguments()
            .find(|a| a.get_long() == Some(&flag[2..]))
            .unwrap();
        let env = arg.get_env().map(|e| format!("`{}`", e.to_string_lossy()));
        assert_eq!(env.as_deref().unwrap_or(""), cells[0], "{flag}'s variable");
        let key = cells[1].trim_matches('`');
        assert!(key.is_empty() || keys.contains(key), "{flag}: no key {key}");
    }

    let vars = env_vars_in_code();
    assert!(
        vars.contains("KMS_LOG") && vars.contains("KMS_CACERT"),
        "{vars:?}"
    );
    let documented: BTreeSet<String> = rows(&doc, "## Environment variables")
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(
        vars, documented,
        "environment variables vs docs/configuration.md"
    );
}

/// A variable left in a service's environment replaces what kms.toml says (flags, then their
/// variables, then the file): the server says so at start, naming the variable, instead of
/// quietly listening elsewhere or opening another data directory.
#[test]
fn a_variable_that_replaces_a_kms_toml_setting_is_said_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kms.toml");
    let from_file = dir.path().join("from-file");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:9\"\ndata_dir = \"{}\"\n",
            from_file.display()
        ),
    )
    .unwrap();
    let from_env = dir.path().join("from-env");
    let args: Vec<std::ffi::OsString> = ["serve", "--dev", "--dev-root-token", "r", "--config"]
        .iter()
        .map(Into::into)
        .chain([config.clone().into_os_string()])
        .collect();
    let server = crate::process::Server::spawn(
        &args,
        &[
            ("KMS_LISTEN", "127.0.0.1:0".to_owned()),
            ("KMS_DATA_DIR", from_env.display().to_string()),
        ],
    )
    .unwrap();
    let expected = [
        "kms.toml's listen = 127.0.0.1:9 is replaced by KMS_LISTEN = 127.0.0.1:0".to_owned(),
        format!(
            "kms.toml's data_dir = {} is replaced by KMS_DATA_DIR = {}",
            from_file.display(),
            from_env.display()
        ),
    ];
    let mut said = String::new();
    for _ in 0..50 {
        said = String::from_utf8_lossy(&server.output()).into_owned();
        if expected.iter().all(|line| said.contains(line.as_str())) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for line in &expected {
        assert!(said.contains(line.as_str()), "{line} not in:\n{said}");
    }
    assert!(from_env.join("dev-unseal-share").exists() && !from_file.exists());
    server.kill();
}
