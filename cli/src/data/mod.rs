//! The data operations from the command line (`kms encrypt`, `decrypt`, `rewrap`, `datakey`,
//! `sign`, `verify`, `hmac`, `random`): one file each, over the native data API
//! (`/v1/keys/{name}/...`, docs/api.md) with an app's token. Inputs are read from standard input
//! or `--in FILE` and outputs written raw to standard output or `--out FILE`; base64 is handled
//! here, and ciphertexts, signatures and MACs are printed in the API's `kms:NNNNN:...` form.

pub mod datakey;
pub mod decrypt;
pub mod encrypt;
pub mod hmac;
pub mod io;
pub mod random;
pub mod rewrap;
pub mod sign;
pub mod verify;
