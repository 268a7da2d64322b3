//! Resident ID numbers (GB 11643-1999) and unified social credit codes
//! (GB 32100-2015).

const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_CHECK: &[u8; 11] = b"10X98765432";

/// The check character of an 18-character resident ID number, computed from
/// its first 17 characters. Returns `None` unless `first17` is exactly 17
/// ASCII digits.
pub fn resident_check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b.iter().zip(RESIDENT_WEIGHTS).map(|(c, w)| u32::from(c - b'0') * w).sum();
    Some(RESIDENT_CHECK[(sum % 11) as usize] as char)
}
