//! Client certificates on the public TLS listener.
//!
//! With `client_ca` (kms_tls), rustls verifies a client's certificate during the handshake; the
//! verified certificate's SHA-256 fingerprint is stored in the connection's data once, at connect
//! time, and `auth.rs` looks it up in the directory (docs/access-control.md).

use std::any::Any;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use kms_engine::certificate::CertFingerprint;

/// The verified client certificate of a TLS connection, as `on_connect` left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCertificate(pub CertFingerprint);

/// `HttpServer::on_connect` for a TLS listener: remembers the fingerprint of the client's
/// certificate (rustls has verified it against `client_ca` by now) for every request on the
/// connection.
pub fn on_connect(connection: &dyn Any, data: &mut Extensions) {
    let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() else {
        return;
    };
    let (_, session) = tls.get_ref();
    if let Some(leaf) = session.peer_certificates().and_then(<[_]>::first) {
        data.insert(PeerCertificate(CertFingerprint::of_der(leaf)));
    }
}
