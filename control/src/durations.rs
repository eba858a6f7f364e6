//! Durations as administrators write them: `90d`, `12h`, `30m`, `45s`, `500ms`.

use crate::error::ControlError;

const UNITS: &[(&str, i64)] = &[
    ("ms", 1),
    ("s", 1000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// Milliseconds of a duration such as `90d`.
pub fn parse(field: &str, text: &str) -> Result<i64, ControlError> {
    let bad = || {
        ControlError::invalid(
            "invalid_duration",
            format!("`{field}` must be a number followed by ms, s, m, h or d (e.g. 90d)"),
        )
    };
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let (_, factor) = UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(bad)?;
    let ms = n.checked_mul(*factor).ok_or_else(bad)?;
    if ms <= 0 {
        return Err(bad());
    }
    Ok(ms)
}

/// The largest whole unit: `90d`, `36h`, `1500ms`.
pub fn format(ms: i64) -> String {
    for (unit, factor) in UNITS.iter().rev() {
        if ms % factor == 0 {
            return format!("{}{unit}", ms / factor);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse("p", "90d").unwrap(), 90 * 86_400_000);
        assert_eq!(parse("p", "36h").unwrap(), 36 * 3_600_000);
        assert_eq!(parse("p", "500ms").unwrap(), 500);
        assert_eq!(format(90 * 86_400_000), "90d");
        assert_eq!(format(36 * 3_600_000), "36h");
        assert_eq!(format(1500), "1500ms");
        for bad in [
            "",
            "d",
            "10",
            "10w",
            "-1d",
            "0s",
            "1.5d",
            "99999999999999999d",
        ] {
            assert_eq!(
                parse("p", bad).unwrap_err().code(),
                "invalid_duration",
                "{bad}"
            );
        }
    }
}
