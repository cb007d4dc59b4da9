//! Setting values as both sides of the plugin boundary read them.
//!
//! A profile's settings are checked by the host before a plugin runs
//! (`setting-kind` in wit/plugin.wit), and read by the plugin with the SDK.
//! Both use the parsers here, so a value the host accepts is one the plugin
//! understands. This crate has no dependencies: the host links it without
//! the SDK's Wasm bindings and the binding generator they are built with.

/// A Go duration (`4h0m0s`, `5m`, `1.5h`, `300ms`, `0`) in seconds; `None`
/// when it is not one.
///
/// ```
/// use rampart_values::go_duration;
/// assert_eq!(go_duration("4h0m0s"), Some(14400.0));
/// assert_eq!(go_duration("1m30s"), Some(90.0));
/// assert_eq!(go_duration("250ms"), Some(0.25));
/// assert_eq!(go_duration("0"), Some(0.0));
/// assert_eq!(go_duration("5"), None);
/// assert_eq!(go_duration("5 minutes"), None);
/// ```
pub fn go_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    if text == "0" {
        return Some(0.0);
    }
    let (mut rest, mut total, mut any) = (text, 0.0, false);
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit..];
        total += number * scale;
        any = true;
    }
    any.then_some(total)
}
