//! One PKCS#11 context per module per process, initialised once and never finalised: repeated
//! C_Initialize/C_Finalize can crash SoftHSM, and a real HSM's library expects one
//! initialisation per process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};

use crate::backend::HsmError;

static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

pub fn context(module: &Path) -> Result<Pkcs11, HsmError> {
    let contexts = CONTEXTS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut contexts = contexts
        .lock()
        .map_err(|_| HsmError::Pkcs11("PKCS#11 context registry poisoned".into()))?;
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    if !module.exists() {
        return Err(HsmError::Config(format!(
            "PKCS#11 module {} does not exist (on Debian: apt-get install softhsm2)",
            module.display()
        )));
    }
    let ctx = Pkcs11::new(module).map_err(|e| {
        HsmError::Config(format!(
            "cannot load PKCS#11 module {}: {e}",
            module.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(HsmError::Config(format!(
                "PKCS#11 module {} failed to initialise: {e}",
                module.display()
            )));
        }
    }
    contexts.insert(module.to_owned(), ctx.clone());
    Ok(ctx)
}
