//! The `kms` command line: every command, and what runs each. `serve` and `restore` open the
//! store and the HSM themselves, so the `kms` binary, which assembles them, runs those
//! ([`Node`]), and `hash-password`, whose hash must be the one the server checks; every other
//! command speaks HTTP to a running server (or, `zone keygen`, needs nothing but this machine).

use clap::{Parser, Subcommand};

use crate::args::{AddrArgs, InitArgs, ServeArgs, UnsealArgs};
use crate::client::{CliError, read_secret};
use crate::data::{datakey, decrypt, encrypt, hmac, random, rewrap, sign, verify};
use crate::{
    app, approvals, audit, backup, enrol, hsm, init, key, login, logout, ready, status, unseal,
    user, zone,
};

/// What only the `kms` binary can run: it assembles the store, the HSM and the listeners.
pub trait Node {
    /// `kms serve`: runs until SIGINT or SIGTERM.
    fn serve(&self, args: &ServeArgs) -> Result<(), String>;
    /// `kms restore`: offline, into an empty data directory.
    fn restore(&self, args: &backup::RestoreArgs) -> Result<(), String>;
    /// `kms hash-password`: an argon2id hash as the server checks custodians' passwords.
    fn hash_password(&self, password: &str) -> Result<String, String>;
}

/// The top-level help's closing section: the environment every command reads.
pub const ENVIRONMENT: &str = "\
Environment:
  KMS_ADDR     the server's address, with its scheme (default http://127.0.0.1:8200); --addr
  KMS_TOKEN    the token commands authenticate with: an app's token for the data commands
               (encrypt, decrypt, sign, ...), an administrator's session (`kms login`) or the
               root token for the others; --token
  KMS_CACERT   a PEM file of CA certificates to trust for an https:// server instead of the
               system's roots; --cacert
  KMS_CONFIG   kms.toml, for `kms serve`; --config
  KMS_LOG      the server's log filter, e.g. info or kms=debug (tracing's EnvFilter syntax)

Run `kms <command> --help` for a command's arguments.";

#[derive(Parser, Debug)]
#[command(
    name = "kms",
    version,
    about = "A key management system for payment platforms: the server (`kms serve`), its \
             administration, and the data operations (encrypt, decrypt, sign, ...) over HTTP",
    after_help = ENVIRONMENT
)]
pub struct Cli {
    /// A PEM file of CA certificates to trust for an https:// server (instead of the system's
    /// roots).
    #[arg(long, global = true, env = crate::client::CA_CERT_ENV, value_name = "FILE")]
    pub cacert: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the KMS server.
    Serve(ServeArgs),
    /// Start the create ceremony of a new KMS (its first master key and root token); a quorum
    /// of custodians then approves it with `kms hsm ceremony approve`.
    Init(InitArgs),
    /// Submit unseal shares (software HSM), read from standard input one per line.
    Unseal(UnsealArgs),
    /// Show whether the server is initialised and sealed.
    Status(AddrArgs),
    /// Exit 0 if the server is ready to serve (`GET /readyz` answers 200: `ready` or
    /// `degraded`), 1 otherwise; for container health checks and service managers.
    Ready(AddrArgs),
    /// The HSM: status, rotations, master-key ceremonies.
    #[command(subcommand)]
    Hsm(hsm::HsmCommand),
    /// Keys and their versions: create, show, rotate, roll back, disable, destroy, events.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Open an admin session: password and TOTP code from the terminal or standard input.
    Login(login::LoginArgs),
    /// Set your own password and TOTP with an enrolment token.
    #[command(subcommand)]
    Enrol(enrol::EnrolCommand),
    /// Get an enrolment token of your own, with your current password and code, to change them.
    Renew(enrol::Person),
    /// People and their roles.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Apps (machine identities).
    #[command(subcommand)]
    App(app::AppCommand),
    /// Grant an app operations on a key.
    Grant(app::GrantArgs),
    /// Requests for sensitive actions, waiting for a quorum.
    #[command(subcommand)]
    Approvals(approvals::ApprovalsCommand),
    /// The audit log: list, verify the chain, export as JSON lines.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Ask the running server for an encrypted backup of the store (docs/backup.md).
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty data directory, offline, through the HSM that holds its
    /// master key.
    Restore(backup::RestoreArgs),
    /// Print an argon2id hash of a password read from standard input (for kms.toml custodians).
    HashPassword,
    /// Zones: a service node's zone key pair, and its registration with the store.
    #[command(subcommand)]
    Zone(zone::ZoneCommand),
    /// End your admin session on the server (the token in KMS_TOKEN is refused from then on);
    /// prints `unset KMS_TOKEN` for `eval "$(kms logout)"`.
    Logout(logout::LogoutArgs),
    /// Encrypt the input (standard input or --in) under a key; prints the ciphertext
    /// (kms:NNNNN:...). For files larger than a request, use a data key (`kms datakey`).
    Encrypt(encrypt::EncryptArgs),
    /// Decrypt a ciphertext (kms:NNNNN:..., from standard input or --in); writes the plaintext's
    /// raw bytes.
    Decrypt(decrypt::DecryptArgs),
    /// Re-encrypt a ciphertext under the key's active version, without the plaintext leaving the
    /// server; prints the new ciphertext.
    Rewrap(rewrap::RewrapArgs),
    /// Make a random data key for envelope encryption; prints it encrypted under the key, and
    /// writes its raw bytes to --plaintext-out when asked.
    Datakey(datakey::DatakeyArgs),
    /// Sign the input (standard input or --in) with an asymmetric key; prints the signature
    /// (kms:NNNNN:...).
    Sign(sign::SignArgs),
    /// Verify the input's signature: prints `valid` and exits 0, or exits 1 saying it is invalid.
    Verify(verify::VerifyArgs),
    /// The input's MAC under an HMAC key (kms:NNNNN:...), or with --verify check one (exit 1 if
    /// it does not match).
    Hmac(hmac::HmacArgs),
    /// Random bytes from the server's CSPRNG, raw (or --hex, --base64).
    Random(random::RandomArgs),
}

fn hash_password(node: &dyn Node) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let password = read_secret("Password: ", &mut stdin.lock())?;
    let hash = node.hash_password(&password).map_err(CliError::Input)?;
    println!("{hash}");
    Ok(())
}

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli, node: &dyn Node) -> i32 {
    if let Some(path) = &cli.cacert {
        crate::client::trust_ca_file(path);
    }
    let result = match cli.command {
        Command::Serve(args) => node.serve(&args),
        Command::Init(args) => init::run(&args).map_err(|e| e.to_string()),
        Command::Unseal(args) => unseal::run(&args).map_err(|e| e.to_string()),
        Command::Status(args) => status::run(&args).map_err(|e| e.to_string()),
        Command::Ready(args) => ready::run(&args).map_err(|e| e.to_string()),
        Command::Hsm(command) => hsm::run(&command).map_err(|e| e.to_string()),
        Command::Key(command) => key::run(&command).map_err(|e| e.to_string()),
        Command::Login(args) => login::run(&args).map_err(|e| e.to_string()),
        Command::Enrol(command) => enrol::run(&command).map_err(|e| e.to_string()),
        Command::Renew(person) => enrol::renew(&person).map_err(|e| e.to_string()),
        Command::User(command) => user::run(&command).map_err(|e| e.to_string()),
        Command::App(command) => app::run(&command).map_err(|e| e.to_string()),
        Command::Grant(args) => app::grant(&args).map_err(|e| e.to_string()),
        Command::Approvals(command) => approvals::run(&command).map_err(|e| e.to_string()),
        Command::Audit(command) => audit::run(&command).map_err(|e| e.to_string()),
        Command::Backup(args) => backup::backup(&args).map_err(|e| e.to_string()),
        Command::Restore(args) => node.restore(&args),
        Command::HashPassword => hash_password(node).map_err(|e| e.to_string()),
        Command::Zone(command) => zone::run(&command).map_err(|e| e.to_string()),
        Command::Logout(args) => logout::run(&args).map_err(|e| e.to_string()),
        Command::Encrypt(args) => encrypt::run(&args).map_err(|e| e.to_string()),
        Command::Decrypt(args) => decrypt::run(&args).map_err(|e| e.to_string()),
        Command::Rewrap(args) => rewrap::run(&args).map_err(|e| e.to_string()),
        Command::Datakey(args) => datakey::run(&args).map_err(|e| e.to_string()),
        Command::Sign(args) => sign::run(&args).map_err(|e| e.to_string()),
        Command::Verify(args) => verify::run(&args).map_err(|e| e.to_string()),
        Command::Hmac(args) => hmac::run(&args).map_err(|e| e.to_string()),
        Command::Random(args) => random::run(&args).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("kms: error: {message}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every command and argument without help text, by its path (`kms key create <name>`).
    fn undocumented(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let here = format!("{path} {}", command.get_name());
        if command
            .get_about()
            .is_none_or(|a| a.to_string().trim().is_empty())
        {
            missing.push(here.clone());
        }
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            if arg
                .get_help()
                .is_none_or(|h| h.to_string().trim().is_empty())
            {
                missing.push(format!("{here} <{id}>"));
            }
        }
        for sub in command.get_subcommands() {
            if sub.get_name() != "help" {
                undocumented(sub, &here, missing);
            }
        }
    }

    #[test]
    fn every_command_and_argument_has_help() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        let mut missing = Vec::new();
        undocumented(&cli, "", &mut missing);
        assert!(missing.is_empty(), "no help text:\n{}", missing.join("\n"));
    }

    #[test]
    fn the_top_level_help_names_the_environment() {
        let help = Cli::command().render_long_help().to_string();
        for var in [
            "KMS_ADDR",
            "KMS_TOKEN",
            "KMS_CACERT",
            "KMS_CONFIG",
            "KMS_LOG",
        ] {
            assert!(help.contains(var), "{var} not in:\n{help}");
        }
    }
}
