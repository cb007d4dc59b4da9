//! File permission bits: comparing a mode with a limit ("0600 or tighter").

/// Whether `mode` grants nothing beyond `limit`: every permission bit set
/// in `mode` is also set in `limit`. `0400` is within `0600`; `0610` is not,
/// although it is numerically smaller than `0644`'s neighbour.
///
/// ```
/// use rampart_sdk::mode::within;
/// assert!(within(0o600, 0o600));
/// assert!(within(0o400, 0o644));
/// assert!(!within(0o644, 0o600));
/// assert!(!within(0o4600, 0o600)); // setuid is a bit too
/// ```
pub fn within(mode: u32, limit: u32) -> bool {
    mode & 0o7777 & !limit == 0
}

/// The bits of `mode` that `limit` does not allow.
pub fn excess(mode: u32, limit: u32) -> u32 {
    mode & 0o7777 & !limit
}

/// Four-digit octal, the way `stat -c %a` pads it (`0644`).
pub fn format(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// Parses `600`, `0600` or `0o600`.
pub fn parse(text: &str) -> Option<u32> {
    let digits = text.trim().trim_start_matches("0o");
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    u32::from_str_radix(digits, 8).ok().filter(|m| *m <= 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerically_smaller_is_not_tighter() {
        // 0611 < 0644 as a number, but grants execute to group and others.
        assert!(!within(0o611, 0o644));
        assert_eq!(excess(0o611, 0o644), 0o011);
    }

    #[test]
    fn formats_and_parses() {
        assert_eq!(format(0o600), "0600");
        assert_eq!(parse("644"), Some(0o644));
        assert_eq!(parse("0o700"), Some(0o700));
        assert_eq!(parse("rw"), None);
        assert_eq!(parse("17777"), None);
    }
}
