//! `kms hsm rekey ...` and `kms hsm generate-root ...`: custodians re-split the unseal key, or
//! make a new root token, with a quorum of the current unseal shares; and `kms hsm decrypt`,
//! which opens a secret encrypted to your RSA key, on your machine. Shares are read from
//! standard input (never the command line); with `--private-key`, what you paste is your
//! encrypted share and it is decrypted here, so the plaintext share exists only in this process.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use kms_engine::crypto::recipient::Holder;
use kms_engine::secret::SecretString;
use serde_json::{Value, json};

use crate::args::{CustodianArgs, CustodianLogin};
use crate::client::{CliError, Client, read_secret};
use crate::output::print_json as print;

#[derive(Subcommand, Debug)]
pub enum RekeyCommand {
    /// Start a rekey: the unseal key is replaced and split into --shares, --threshold of which
    /// unseal; with --share-key (one RSA public key file per new share), each new share leaves
    /// the server encrypted to its custodian. The master keys do not change.
    Init(RekeyInitArgs),
    /// Submit your current unseal share to the open rekey (read from stdin, after your password with --custodian;
    /// with --private-key, paste your encrypted share instead). The share that meets the
    /// threshold re-splits the key and prints the new (encrypted) shares; the old ones stop
    /// working.
    Update(UpdateArgs),
    /// Show the open rekey: nonce, new split, key fingerprints, who has submitted.
    Status(CustodianArgs),
    /// Cancel the open rekey; the current shares stay valid.
    Cancel(CustodianArgs),
}

#[derive(Subcommand, Debug)]
pub enum GenerateRootCommand {
    /// Start making a new root token, encrypted to --public-key (an RSA public key file whose
    /// private key only the person who will hold the token has).
    Init(RootInitArgs),
    /// Submit your current unseal share (as for `rekey update`). The share that meets the
    /// threshold makes the token, revokes every earlier root token, and prints the new one
    /// encrypted (open it with `kms hsm decrypt --private-key FILE`).
    Update(UpdateArgs),
    /// Show the open generation: nonce, key fingerprint, who has submitted.
    Status(CustodianArgs),
    /// Cancel the open generation.
    Cancel(CustodianArgs),
}

#[derive(Args, Debug)]
pub struct RekeyInitArgs {
    /// New number of unseal shares.
    #[arg(long)]
    pub shares: u8,
    /// New number of shares needed to unseal (at least 2).
    #[arg(long)]
    pub threshold: u8,
    /// RSA public key (PEM) of each new share's custodian, in share order: one per share.
    #[arg(long = "share-key", num_args = 1..)]
    pub share_keys: Vec<PathBuf>,
    #[command(flatten)]
    pub who: CustodianArgs,
}

#[derive(Args, Debug)]
pub struct RootInitArgs {
    /// RSA public key (PEM) the new root token is encrypted to.
    #[arg(long)]
    pub public_key: PathBuf,
    #[command(flatten)]
    pub who: CustodianArgs,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// The operation's nonce, as `status` (or whoever started it) shows it.
    #[arg(long)]
    pub nonce: String,
    /// Your RSA private key (PEM, unencrypted): paste your encrypted share, it is decrypted here.
    #[arg(long)]
    pub private_key: Option<PathBuf>,
    #[command(flatten)]
    pub who: CustodianArgs,
}

#[derive(Args, Debug)]
pub struct DecryptArgs {
    /// Your RSA private key (PEM, unencrypted).
    #[arg(long)]
    pub private_key: PathBuf,
}

/// Reads a PEM file.
pub fn read_pem(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))
}

/// Loads an RSA private key file.
pub fn holder(path: &Path) -> Result<Holder, CliError> {
    let pem = zeroize::Zeroizing::new(read_pem(path)?);
    Holder::from_pem(&pem).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Opens `ciphertext` (base64, or the `{"fingerprint","ciphertext"}` JSON the server printed).
pub fn open(holder: &Holder, text: &str) -> Result<SecretString, CliError> {
    let text = text.trim();
    let ciphertext = match serde_json::from_str::<Value>(text) {
        Ok(v) if v["ciphertext"].is_string() => {
            if let Some(fp) = v["fingerprint"]
                .as_str()
                .filter(|fp| *fp != holder.fingerprint())
            {
                return Err(CliError::Input(format!(
                    "this was encrypted to key {fp}, not to yours ({})",
                    holder.fingerprint()
                )));
            }
            v["ciphertext"].as_str().unwrap_or_default().to_owned()
        }
        _ => text.to_owned(),
    };
    holder.open(&ciphertext).map_err(|_| {
        CliError::Input(
            "this does not decrypt with your private key (not yours, or damaged)".into(),
        )
    })
}

/// Prints encrypted secrets one per line, as `label N (key FINGERPRINT): CIPHERTEXT`.
pub fn print_encrypted(label: &str, sealed: &[Value]) {
    for (i, s) in sealed.iter().enumerate() {
        println!(
            "{label} {} (key {}): {}",
            i + 1,
            s["fingerprint"].as_str().unwrap_or("?"),
            s["ciphertext"].as_str().unwrap_or("?")
        );
    }
}

fn keys(paths: &[PathBuf]) -> Result<Option<Vec<String>>, CliError> {
    if paths.is_empty() {
        return Ok(None);
    }
    paths
        .iter()
        .map(|p| read_pem(p))
        .collect::<Result<_, _>>()
        .map(Some)
}

fn show_attempt(v: &Value, what: &str) {
    println!("Nonce: {}", v["nonce"].as_str().unwrap_or("?"));
    println!(
        "Shares: {} of {} current shares in (submitted by: {})",
        v["progress"],
        v["required"],
        v["submitted_by"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    println!("Plan: {}", v["plan"]);
    println!(
        "Custodians submit with `kms hsm {what} update --nonce {} --custodian NAME`.",
        v["nonce"].as_str().unwrap_or("?")
    );
}

/// Submits a share to `path` (rekey's or generate-root's `update`): reads the password (for
/// --custodian), then the share (decrypting it with --private-key when given), and posts it with
/// the nonce.
fn submit_share(a: &UpdateArgs, lines: &mut impl BufRead, path: &str) -> Result<Value, CliError> {
    let login = a.who.login(lines)?;
    let share = match &a.private_key {
        Some(key) => {
            let holder = holder(key)?;
            let sealed = zeroize::Zeroizing::new(read_secret("Encrypted share: ", lines)?);
            open(&holder, &sealed)?
        }
        None => SecretString::new(read_secret("Unseal share: ", lines)?),
    };
    let body = json!({ "nonce": a.nonce, "share": share.expose() });
    post(&a.who, &login, path, &body)
}

fn post(
    who: &CustodianArgs,
    login: &CustodianLogin,
    path: &str,
    body: &Value,
) -> Result<Value, CliError> {
    Client::new(&who.addr.addr)?.post(path, &login.auth(), body)
}

fn get(who: &CustodianArgs, login: &CustodianLogin, path: &str) -> Result<Value, CliError> {
    Client::new(&who.addr.addr)?.get(path, &login.auth())
}

pub fn rekey(command: &RekeyCommand) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    match command {
        RekeyCommand::Init(a) => {
            let mut body = json!({ "shares": a.shares, "threshold": a.threshold });
            if let Some(k) = keys(&a.share_keys)? {
                body["share_keys"] = json!(k);
            }
            let login = a.who.login(&mut lines)?;
            show_attempt(&post(&a.who, &login, "/v1/hsm/rekey/init", &body)?, "rekey");
        }
        RekeyCommand::Update(a) => {
            let out = submit_share(a, &mut lines, "/v1/hsm/rekey/update")?;
            if out["complete"] != json!(true) {
                show_attempt(&out["rekey"], "rekey");
                return Ok(());
            }
            println!(
                "Rekeyed: {} shares, {} to unseal. The old shares no longer work.",
                out["shares"], out["threshold"]
            );
            if let Some(sealed) = out["encrypted_shares"].as_array() {
                print_encrypted("Encrypted share", sealed);
                println!(
                    "\nEach custodian decrypts only their own: `kms unseal --private-key FILE`."
                );
            }
            for (i, s) in out["shares_plain"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                println!("Unseal share {}: {}", i + 1, s.as_str().unwrap_or("?"));
            }
        }
        RekeyCommand::Status(who) => {
            let login = who.login(&mut lines)?;
            print(&get(who, &login, "/v1/hsm/rekey")?);
        }
        RekeyCommand::Cancel(who) => {
            let login = who.login(&mut lines)?;
            post(who, &login, "/v1/hsm/rekey/cancel", &json!({}))?;
            println!("Rekey cancelled; the current shares stay valid.");
        }
    }
    Ok(())
}

pub fn generate_root(command: &GenerateRootCommand) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    match command {
        GenerateRootCommand::Init(a) => {
            let body = json!({ "public_key": read_pem(&a.public_key)? });
            let login = a.who.login(&mut lines)?;
            let out = post(&a.who, &login, "/v1/hsm/generate-root/init", &body)?;
            show_attempt(&out, "generate-root");
        }
        GenerateRootCommand::Update(a) => {
            let out = submit_share(a, &mut lines, "/v1/hsm/generate-root/update")?;
            if out["complete"] != json!(true) {
                show_attempt(&out["generate_root"], "generate-root");
                return Ok(());
            }
            let sealed = &out["encrypted_root_token"];
            println!(
                "Encrypted root token (key {}): {}",
                sealed["fingerprint"].as_str().unwrap_or("?"),
                sealed["ciphertext"].as_str().unwrap_or("?")
            );
            println!(
                "Earlier root tokens revoked: {}. Open it with `kms hsm decrypt --private-key FILE`.",
                out["revoked_root_tokens"]
            );
        }
        GenerateRootCommand::Status(who) => {
            let login = who.login(&mut lines)?;
            print(&get(who, &login, "/v1/hsm/generate-root")?);
        }
        GenerateRootCommand::Cancel(who) => {
            let login = who.login(&mut lines)?;
            post(who, &login, "/v1/hsm/generate-root/cancel", &json!({}))?;
            println!("Root-token generation cancelled.");
        }
    }
    Ok(())
}

/// `kms hsm decrypt --private-key FILE`: one encrypted secret on stdin, the secret on stdout.
pub fn decrypt(a: &DecryptArgs) -> Result<(), CliError> {
    let holder = holder(&a.private_key)?;
    let stdin = std::io::stdin();
    let text = zeroize::Zeroizing::new(read_secret("Encrypted secret: ", &mut stdin.lock())?);
    println!("{}", open(&holder, &text)?.expose());
    Ok(())
}
