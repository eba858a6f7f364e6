//! Which HSM a node opens (`[hsm] backend` in kms.toml), and where the software HSM keeps its
//! files in a data directory.

use std::path::{Path, PathBuf};

use crate::backend::{HsmBackend, HsmError};
use crate::pkcs11::{Pkcs11Config, Pkcs11Hsm};
use crate::soft::SoftwareHsm;

/// Dev mode keeps the software HSM's single unseal share here, in the data directory.
pub const DEV_SHARE_FILE: &str = "dev-unseal-share";

/// Holds PINs (in the PKCS#11 configuration): neither `Clone` nor `Debug`.
pub enum HsmChoice {
    /// The master key sealed under Shamir shares in `<data-dir>/hsm/sealed.json`.
    Software,
    /// A PKCS#11 module and its tokens.
    Pkcs11(Pkcs11Config),
}

impl HsmChoice {
    /// Opens the backend as `kms serve` and `kms restore` do.
    pub fn open(&self, data_dir: &Path) -> Result<Box<dyn HsmBackend>, HsmError> {
        Ok(match self {
            HsmChoice::Software => Box::new(SoftwareHsm::open(&sealed_path(data_dir))?),
            HsmChoice::Pkcs11(config) => Box::new(Pkcs11Hsm::open(config)?),
        })
    }
}

/// The software HSM's sealed keyring in a data directory.
pub fn sealed_path(data_dir: &Path) -> PathBuf {
    data_dir.join("hsm").join("sealed.json")
}
