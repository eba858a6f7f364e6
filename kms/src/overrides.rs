//! What the command line or the environment replaces of kms.toml, said once at start: a
//! `KMS_LISTEN` left in a service's environment must not quietly move a listener the file sets.
//! The order is flags, then their environment variables, then kms.toml, then defaults
//! (docs/configuration.md).

use std::ffi::OsStr;
use std::fmt::Display;

use kms_cli::args::ServeArgs;

use crate::config::ConfigFile;

/// Where a flag's value came from: the command line if it is there, else its variable.
fn source(flag: &str, var: Option<&str>) -> String {
    let on_line = std::env::args_os()
        .skip(1)
        .any(|a| a == OsStr::new(flag) || a.to_string_lossy().starts_with(&format!("{flag}=")));
    match var {
        Some(var) if !on_line && std::env::var_os(var).is_some() => var.to_owned(),
        _ => flag.to_owned(),
    }
}

/// The line for one setting, when the flag (or its variable) gives another value than the file.
fn line(
    key: &str,
    file: Option<String>,
    given: Option<String>,
    flag: &str,
    var: Option<&str>,
) -> Option<String> {
    let (old, new) = (file?, given?);
    (old != new).then(|| {
        format!(
            "kms.toml's {key} = {old} is replaced by {} = {new}",
            source(flag, var)
        )
    })
}

fn text<T: Display>(v: Option<&T>) -> Option<String> {
    v.map(ToString::to_string)
}

/// One line per kms.toml setting that a flag or variable replaces with another value.
pub fn replaced(args: &ServeArgs, file: &ConfigFile) -> Vec<String> {
    let path = |p: Option<&std::path::PathBuf>| p.map(|p| p.display().to_string());
    let format = file.log.format.map(|f| format!("{f:?}").to_lowercase());
    [
        line(
            "data_dir",
            path(file.data_dir.as_ref()),
            path(args.data_dir.as_ref()),
            "--data-dir",
            Some("KMS_DATA_DIR"),
        ),
        line(
            "listen",
            text(file.listen.as_ref()),
            text(args.listen.as_ref()),
            "--listen",
            Some("KMS_LISTEN"),
        ),
        // A URL may hold a password: said without the values.
        (file.store.postgres.is_some()
            && args.postgres_url.is_some()
            && file.store.postgres != args.postgres_url)
            .then(|| {
                let by = source("--postgres-url", Some("KMS_POSTGRES_URL"));
                format!("kms.toml's [store] postgres is replaced by {by}")
            }),
        line(
            "transit_mount",
            file.transit_mount.clone(),
            args.transit_mount.clone(),
            "--transit-mount",
            Some("KMS_TRANSIT_MOUNT"),
        ),
        line(
            "[log] format",
            format,
            args.log_format.clone(),
            "--log-format",
            Some("KMS_LOG_FORMAT"),
        ),
        line(
            "http_workers",
            text(file.http_workers.as_ref()),
            text(args.http_workers.as_ref()),
            "--http-workers",
            None,
        ),
        line(
            "crypto_workers",
            text(file.crypto_workers.as_ref()),
            text(args.crypto_workers.as_ref()),
            "--crypto-workers",
            None,
        ),
        line(
            "slow_workers",
            text(file.slow_workers.as_ref()),
            text(args.slow_workers.as_ref()),
            "--slow-workers",
            None,
        ),
        line(
            "max_body_bytes",
            text(file.max_body_bytes.as_ref()),
            text(args.max_body_bytes.as_ref()),
            "--max-body-bytes",
            None,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}
