//! The baseline: a bare actix-web JSON echo server, built with the same profile and the same
//! actix-web (and allocator) as the KMS. `POST /echo` answers the JSON it was sent; `GET /` answers `ok`. The KMS's
//! throughput is reported as a share of this server's, measured in the same run, on the same
//! machine, with the same load generator.

use actix_web::{App, HttpResponse, HttpServer, web};

// The same allocator as the `kms` binary, so that the ratio measures the KMS's work, not malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn echo(body: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8299".into());
    let workers = std::env::args()
        .nth(2)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let server = HttpServer::new(|| {
        App::new().route("/echo", web::post().to(echo)).route(
            "/",
            web::get().to(|| async { HttpResponse::Ok().body("ok") }),
        )
    })
    .workers(workers)
    .bind(&listen)?;
    println!("echo: listening on http://{listen}");
    server.run().await
}
