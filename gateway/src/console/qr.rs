//! A QR code as SVG, drawn from the `qrcode` crate's modules: one path of dark squares with the
//! quiet zone around them (SVG presentation attributes only: the CSP allows no inline style).

use qrcode::{Color, QrCode};

/// Pixels per module.
const SCALE: usize = 4;
/// Modules of white border (the standard's quiet zone).
const QUIET: usize = 4;

/// `text` as an SVG QR code, or `None` if it is too long to encode.
pub fn svg(text: &str, id: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let width = code.width();
    let size = (width + 2 * QUIET) * SCALE;
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = ((i % width + QUIET) * SCALE, (i / width + QUIET) * SCALE);
            path.push_str(&format!("M{x} {y}h{SCALE}v{SCALE}h-{SCALE}z"));
        }
    }
    Some(format!(
        r##"<svg id="{id}" class="qr" role="img" aria-label="QR code of the TOTP URI" xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
    ))
}
