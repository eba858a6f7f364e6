//! The `kms` binary: one program, three roles (docs/deployment.md). `kms serve` assembles what
//! kms.toml's `roles` ask for, on this page; every other command is the CLI's (kms-cli).
#![forbid(unsafe_code)]

use clap::Parser;
use kms::kms::Kms;
use kms::logging::LogFormat;
use kms::node::{manage, service, store};
use kms::options::{self, InternalOptions, ServeError, ServeOptions};
use kms_cli::args::ServeArgs;
use kms_cli::backup::RestoreArgs;
use kms_cli::command::{Cli, Command, Node};
use kms_hsm::{DEV_SHARE_FILE, HsmChoice};

// Buffers cross between HTTP and crypto worker threads in both directions; see docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    // `kms serve` installs its log once kms.toml has said which format; other commands log text.
    if !matches!(cli.command, Command::Serve(_)) {
        kms::logging::init(LogFormat::Text);
        kms_cli::pipe::exit_quietly_on_broken_pipe();
    }
    std::process::exit(kms_cli::command::run(cli, &Binary));
}

/// What only this binary runs: it links the store, the HSM and the listeners.
struct Binary;

impl Node for Binary {
    fn serve(&self, args: &ServeArgs) -> Result<(), String> {
        kms::data_dir::restrict_umask();
        options::from_args(args)
            .and_then(|opts| {
                kms::logging::init(opts.log_format);
                for replaced in &opts.replaced {
                    tracing::warn!(target: "kms::config", "{replaced}");
                }
                serve(&opts)
            })
            .map_err(|e| e.to_string())
    }

    fn restore(&self, args: &RestoreArgs) -> Result<(), String> {
        kms::data_dir::restrict_umask();
        kms::restore::run(args)
    }

    fn hash_password(&self, password: &str) -> Result<String, String> {
        kms_control::custodians::hash_password(password)
    }
}

/// `kms serve`: the roles, assembled; runs until SIGINT or SIGTERM.
///
/// - **manage** alone: no store, no HSM, no keys; the control plane is forwarded to the store.
/// - **store** (with or without the others): the database, the HSM, the management center; its
///   internal listener serves service and manage nodes.
/// - **service** without the store: one zone's data plane, keys from the store wrapped to the
///   zone's key, a sealed disk cache for outages.
///
/// The public listener serves the data plane (service) and the control plane (store + manage,
/// or forwarded by a service node with the manage role).
fn serve(opts: &ServeOptions) -> Result<(), ServeError> {
    opts.check_roles()?;
    if !opts.roles.store && !opts.roles.service {
        return manage::serve(opts);
    }
    let kms = if opts.roles.store {
        store::start(opts)?
    } else {
        service::start(opts)?
    };
    if opts.dev {
        warn_dev(opts, &kms);
    }
    let result = actix_web::rt::System::new().block_on(async {
        let internal = match (&opts.internal, opts.roles.store) {
            (
                Some(InternalOptions {
                    listen: Some(listen),
                    tls,
                    nodes,
                    ..
                }),
                true,
            ) => {
                let (server, addr) = kms.internal_server(*listen, tls, nodes.clone())?;
                println!("kms: internal API on https://{addr}");
                Some(server)
            }
            _ => None,
        };
        let public = if opts.roles.service || opts.roles.manage {
            let (server, addr) = kms.http_server(opts.listen, opts.http_workers)?;
            let scheme = if opts.tls.is_some() { "https" } else { "http" };
            println!("kms: roles {}", opts.roles);
            println!("kms: listening on {scheme}://{addr}");
            Some(server)
        } else {
            None
        };
        if opts.roles.store {
            kms.announce_state().await?;
        }
        let (a, b) = tokio::join!(
            async {
                match public {
                    Some(s) => s.await,
                    None => Ok(()),
                }
            },
            async {
                match internal {
                    Some(s) => s.await,
                    None => Ok(()),
                }
            }
        );
        a.and(b).map_err(ServeError::Http)
    });
    kms.shutdown();
    result
}

fn warn_dev(opts: &ServeOptions, kms: &Kms) {
    if opts.log_format == LogFormat::Json {
        // A JSON log is read by programs: the warning is one of its events, not a banner.
        tracing::warn!(
            data_dir = %opts.data_dir.display(),
            "dev mode: keys are unsealed without custodians; never put real data in a dev server"
        );
    } else {
        warn_dev_banner(opts);
    }
    if let Some(token) = &kms.root_token {
        println!("Root token: {}", token.expose());
    }
}

fn warn_dev_banner(opts: &ServeOptions) {
    match opts.hsm {
        HsmChoice::Software => eprintln!(
            "\n==> WARNING: dev mode. The unseal share is kept in {}: anyone who can read the \
             data directory can unseal its keys. Never put real data in a dev server.\n",
            opts.data_dir.join(DEV_SHARE_FILE).display()
        ),
        HsmChoice::Pkcs11(_) => eprintln!(
            "\n==> WARNING: dev mode. The master key was made without a custodians' ceremony and \
             the root token is fixed. Never put real data in a dev server.\n"
        ),
    }
}
