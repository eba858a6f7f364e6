//! `kms hsm ...`: the HSM's status, master-key rotations, and ceremonies.

use std::io::BufRead;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

pub use crate::args::CustodianArgs;
use crate::args::TokenArgs;
use crate::client::{Auth, read_secret};
use crate::client::{CliError, Client};
use crate::output::print_json as print;
use crate::shares;

#[derive(Subcommand, Debug)]
pub enum HsmCommand {
    /// Every token, its health, and the master keys (id, KCV, state). Needs an admin token.
    Status(TokenArgs),
    /// Master-key rotations still rewrapping. Needs an admin token.
    Rotations(TokenArgs),
    /// Master-key ceremonies (custodians).
    #[command(subcommand)]
    Ceremony(CeremonyCommand),
    /// Software HSM: re-split the unseal key with a quorum of the current shares (custodians).
    #[command(subcommand)]
    Rekey(shares::RekeyCommand),
    /// Software HSM: make a new root token with a quorum of the current shares (custodians).
    #[command(subcommand, name = "generate-root")]
    GenerateRoot(shares::GenerateRootCommand),
    /// Decrypt a secret (an encrypted share or root token) with your RSA private key, here.
    Decrypt(shares::DecryptArgs),
}

#[derive(Subcommand, Debug)]
pub enum CeremonyCommand {
    /// Start a ceremony; custodians then approve it.
    Start(StartArgs),
    /// Approve a ceremony as a custodian (password, then your component if asked, on stdin).
    Approve(ApproveArgs),
    /// Show a ceremony's approvals and state.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// create, rotate, load or destroy.
    #[arg(long)]
    pub operation: String,
    /// generate (inside the HSM) or components (custodians' key components, XOR-ed).
    #[arg(long)]
    pub source: Option<String>,
    /// How many components, for --source components.
    #[arg(long)]
    pub components: Option<u8>,
    /// Software HSM, create: unseal shares to issue.
    #[arg(long)]
    pub shares: Option<u8>,
    /// Software HSM, create: shares needed to unseal.
    #[arg(long)]
    pub threshold: Option<u8>,
    /// load and destroy: the master key's id.
    #[arg(long)]
    pub master_key: Option<String>,
    #[command(flatten)]
    pub who: CustodianArgs,
}

#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// The ceremony's id (cer-...).
    pub id: String,
    /// This ceremony collects components: read yours (64 hex digits) after the password.
    #[arg(long)]
    pub with_component: bool,
    #[command(flatten)]
    pub who: CustodianArgs,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The ceremony's id (cer-...).
    pub id: String,
    #[command(flatten)]
    pub who: CustodianArgs,
}

pub fn run(command: &HsmCommand) -> Result<(), CliError> {
    match command {
        HsmCommand::Status(t) => {
            let status =
                Client::new(&t.addr.addr)?.get("/v1/hsm/status", &Auth::Bearer(&t.token()?))?;
            show_status(&status);
            Ok(())
        }
        HsmCommand::Rotations(t) => {
            print(
                &Client::new(&t.addr.addr)?.get("/v1/hsm/rotations", &Auth::Bearer(&t.token()?))?,
            );
            Ok(())
        }
        HsmCommand::Ceremony(c) => ceremony(c),
        HsmCommand::Rekey(c) => shares::rekey(c),
        HsmCommand::GenerateRoot(c) => shares::generate_root(c),
        HsmCommand::Decrypt(a) => shares::decrypt(a),
    }
}

fn show_status(status: &Value) {
    println!("Backend: {}", status["backend"].as_str().unwrap_or("?"));
    for t in status["tokens"].as_array().into_iter().flatten() {
        let health = if t["healthy"] == json!(true) {
            "healthy".to_owned()
        } else {
            format!("UNAVAILABLE ({})", t["error"].as_str().unwrap_or("?"))
        };
        println!("Token {}: {health}", t["label"].as_str().unwrap_or("?"));
        for k in t["master_keys"].as_array().into_iter().flatten() {
            println!(
                "  holds {} KCV {}",
                k["id"].as_str().unwrap_or("?"),
                k["kcv"].as_str().unwrap_or("?")
            );
        }
    }
    for k in status["master_keys"].as_array().into_iter().flatten() {
        println!(
            "Master key {} KCV {} ({}, {})",
            k["id"].as_str().unwrap_or("?"),
            k["kcv"].as_str().unwrap_or("?"),
            k["origin"].as_str().unwrap_or("?"),
            k["state"].as_str().unwrap_or("?")
        );
    }
}

fn ceremony(command: &CeremonyCommand) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    match command {
        CeremonyCommand::Start(a) => {
            let login = a.who.login(&mut lines)?;
            let body = json!({
                "operation": a.operation,
                "source": a.source,
                "components": a.components,
                "shares": a.shares,
                "threshold": a.threshold,
                "master_key_id": a.master_key,
            });
            let body = strip_nulls(body);
            let view =
                Client::new(&a.who.addr.addr)?.post("/v1/hsm/ceremonies", &login.auth(), &body)?;
            println!("Ceremony: {}", view["id"].as_str().unwrap_or("?"));
            println!(
                "Needs: {} (approve with `kms hsm ceremony approve {} --custodian NAME`)",
                describe_required(&view),
                view["id"].as_str().unwrap_or("?")
            );
            Ok(())
        }
        CeremonyCommand::Approve(a) => approve(a, &mut lines),
        CeremonyCommand::Show(a) => {
            let login = a.who.login(&mut lines)?;
            print(
                &Client::new(&a.who.addr.addr)?
                    .get(&format!("/v1/hsm/ceremonies/{}", a.id), &login.auth())?,
            );
            Ok(())
        }
    }
}

fn strip_nulls(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        map.retain(|_, x| !x.is_null());
    }
    v
}

fn describe_required(view: &Value) -> String {
    let mut parts: Vec<String> = view["required"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(role, n)| format!("{n} {role}"))
        .collect();
    parts.sort();
    if let Some(n) = view["components_required"].as_u64().filter(|n| *n > 0) {
        parts.push(format!("{n} components"));
    }
    parts.join(" + ")
}

/// Approves a ceremony; when this approval meets the quorum, prints what the ceremony produced.
pub fn approve(a: &ApproveArgs, lines: &mut impl BufRead) -> Result<(), CliError> {
    let login = a.who.login(lines)?;
    let component = if a.with_component {
        Some(read_secret("Component (64 hex digits): ", lines)?)
    } else {
        None
    };
    let out = Client::new(&a.who.addr.addr)?.post(
        &format!("/v1/hsm/ceremonies/{}/approve", a.id),
        &login.auth(),
        &strip_nulls(json!({ "component": component })),
    )?;
    if let Some(kcv) = out["component_kcv"].as_str() {
        println!("Your component's KCV: {kcv}");
    }
    let view = &out["ceremony"];
    println!(
        "Approvals: {} ({} needed); state: {}",
        view["approvals"].as_array().map_or(0, Vec::len),
        describe_required(view),
        view["state"].as_str().unwrap_or("?")
    );
    if let Some(result) = out.get("result") {
        println!("Done.");
        if let Some(id) = result["master_key_id"].as_str() {
            println!("Master key: {id}");
        }
        if let Some(kcv) = result["kcv"].as_str() {
            println!("Master key KCV: {kcv}");
        }
        if let Some(tokens) = result["tokens"].as_array() {
            let names: Vec<&str> = tokens.iter().filter_map(Value::as_str).collect();
            println!("In tokens: {}", names.join(", "));
        }
        if let Some(job) = result["rotation_job"].as_i64() {
            println!("Rewrap job: {job} (see `kms hsm rotations`)");
        }
        for (i, share) in out["shares"].as_array().into_iter().flatten().enumerate() {
            println!("Unseal share {}: {}", i + 1, share.as_str().unwrap_or("?"));
        }
        if let Some(sealed) = out["encrypted_shares"].as_array() {
            shares::print_encrypted("Encrypted share", sealed);
            println!("Each custodian decrypts only their own: `kms unseal --private-key FILE`.");
        }
        if let Some(sealed) = out.get("encrypted_root_token") {
            println!(
                "Encrypted root token (key {}): {}",
                sealed["fingerprint"].as_str().unwrap_or("?"),
                sealed["ciphertext"].as_str().unwrap_or("?")
            );
        }
        if let Some(root) = out["root_token"].as_str() {
            println!("Root token: {root}");
            println!(
                "\nThe shares and the root token are shown once. Give each share to a different \
                 custodian."
            );
        }
    }
    Ok(())
}
