//! Master-key wrap and unwrap through the HSM actor, on the software HSM and on SoftHSM2 over
//! PKCS#11. Neither is on the encrypt path (the crypto workers hold unwrapped working keys); these
//! figures bound key creation, cache misses and the master-key rotation job.
//!
//! SoftHSM reads SOFTHSM2_CONF when the module is initialised, and this process must not set its
//! own environment, so the bench creates a token directory and runs itself again with the
//! variable set.

use std::process::Command;

use criterion::{Criterion, criterion_group};
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_hsm::{Pkcs11Config, TokenConfig};
use kms_testkit::softhsm::{MODULE, PIN, SoftHsm};

const CHILD: &str = "KMS_BENCH_SOFTHSM";

fn hsm(c: &mut Criterion) {
    let software = kms_benches::fixture();
    let pkcs11 = kms_benches::pkcs11_fixture(&Pkcs11Config {
        module: MODULE.into(),
        tokens: vec![TokenConfig {
            label: "bench".into(),
            pin: SecretString::new(PIN.into()),
        }],
    });
    for (name, f) in [("software", &software), ("softhsm2", &pkcs11)] {
        let ctx = f.key.wrap_context(f.key.active);
        let material = KeyMaterial::random(32);
        let wrapped = f
            .runtime
            .block_on(f.hsm.wrap(
                ctx,
                KeyMaterial::from_slice(material.expose()),
                f.master_key.clone(),
            ))
            .expect("wrap");
        let mut g = c.benchmark_group(format!("hsm-actor/{name}"));
        g.bench_function("wrap", |b| {
            b.iter(|| {
                f.runtime.block_on(f.hsm.wrap(
                    ctx,
                    KeyMaterial::from_slice(material.expose()),
                    f.master_key.clone(),
                ))
            });
        });
        g.bench_function("unwrap", |b| {
            b.iter(|| f.hsm.unwrap_blocking(ctx, wrapped.clone()));
        });
        g.finish();
    }
}

fn main() {
    if std::env::var_os(CHILD).is_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        let softhsm = SoftHsm::create(dir.path(), &["bench"]);
        let status = Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args_os().skip(1))
            .env(CHILD, "1")
            .env("SOFTHSM2_CONF", softhsm.conf())
            .status()
            .expect("the bench runs again");
        std::process::exit(status.code().unwrap_or(1));
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

criterion_group!(benches, hsm);
