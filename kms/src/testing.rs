//! Starting a real server on 127.0.0.1:0 inside the test process (its own actix system on its own
//! thread), for the end-to-end tests. The tests speak HTTP to it like any client.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use actix_web::web;

use kms_gateway::state::AppState;

use crate::node::store;
use crate::options::{ServeError, ServeOptions};

pub struct RunningServer {
    pub addr: SocketAddr,
    /// Dev mode's root token.
    pub root_token: Option<String>,
    pub state: web::Data<AppState>,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

type Started = (
    SocketAddr,
    Option<String>,
    web::Data<AppState>,
    ServerHandle,
);

impl RunningServer {
    pub fn start(opts: ServeOptions) -> Result<Self, ServeError> {
        let (tx, rx) = std::sync::mpsc::channel::<Result<Started, ServeError>>();
        let thread = std::thread::spawn(move || {
            let kms = match store::start(&opts) {
                Ok(kms) => kms,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let root = kms.root_token.as_ref().map(|t| t.expose().to_owned());
            actix_web::rt::System::new().block_on(async {
                match kms.http_server(opts.listen, opts.http_workers) {
                    Ok((server, addr)) => {
                        let _ = tx.send(Ok((addr, root, kms.state.clone(), server.handle())));
                        let _ = server.await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
            kms.shutdown();
        });
        let (addr, root_token, state, handle) = rx
            .recv()
            .map_err(|_| ServeError::Runtime(std::io::Error::other("server thread died")))??;
        Ok(Self {
            addr,
            root_token,
            state,
            handle,
            thread: Some(thread),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server gracefully and waits until its store and HSM are released.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(thread) = self.thread.take() {
            let handle = self.handle.clone();
            // Any runtime will do to drive the stop future.
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(handle.stop(true));
            }
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
