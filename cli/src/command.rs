//! The `kms` command line: every command, and what runs each. `serve` and `restore` open the
//! store and the HSM themselves, so the `kms` binary, which assembles them, runs those
//! ([`Node`]), and `hash-password`, whose hash must be the one the server checks; every other
//! command speaks HTTP to a running server (or, `zone keygen`, needs nothing but this machine).

use clap::{Parser, Subcommand};

use crate::args::{AddrArgs, InitArgs, ServeArgs, UnsealArgs};
use crate::client::{CliError, read_secret};
use crate::{
    app, approvals, audit, backup, enrol, hsm, init, key, login, ready, status, unseal, user, zone,
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

#[derive(Parser, Debug)]
#[command(
    name = "kms",
    version,
    about = "A key management system for payment platforms"
)]
pub struct Cli {
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
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("kms: error: {message}");
            1
        }
    }
}
