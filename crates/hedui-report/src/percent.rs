//! Shares as people read them on a report: one decimal, rounded to the
//! nearest tenth, except that a share is never shown as a whole when it is
//! not one. 3,813 of 3,814 is 99.97 %, which rounds to 100.0 % and would
//! hide the failure; it is shown as 99.9 %. Likewise 1 of 3,814 is shown as
//! 0.1 %, never 0.0 %, because something did happen.

/// `part` of `whole` as a percentage with one decimal and a `%` sign
/// (`99.9%`), or `None` when `whole` is 0. Only `part == whole` gives
/// `100.0%` and only `part == 0` gives `0.0%`. A `part` above `whole` is
/// taken as `whole`.
pub fn percent(part: u64, whole: u64) -> Option<String> {
    let tenths = percent_tenths(part, whole)?;
    Some(format!("{}.{}%", tenths / 10, tenths % 10))
}

/// The tenths of a percent shown by [`percent`]: 0 to 1000.
pub fn percent_tenths(part: u64, whole: u64) -> Option<u64> {
    if whole == 0 {
        return None;
    }
    let part = part.min(whole);
    // Round half up to the nearest tenth, in integers so no float error
    // can push 99.95 either way.
    let (p, w) = (u128::from(part), u128::from(whole));
    let rounded = ((p * 2000 + w) / (2 * w)) as u64;
    Some(if part == whole {
        1000
    } else if part == 0 {
        0
    } else {
        rounded.clamp(1, 999)
    })
}

/// The change from `before` to `now` in percentage points, with a sign
/// (`+0.3`, `-1.2`, `0.0`), from the shown tenths so that it agrees with
/// the two figures printed beside it; `None` when either is missing.
pub fn points_change(now: Option<u64>, before: Option<u64>) -> Option<String> {
    let (now, before) = (now? as i64, before? as i64);
    let d = now - before;
    let sign = match d.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    Some(format!("{sign}{}.{}", d.abs() / 10, d.abs() % 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_never_rounded_up_to_a_whole() {
        assert_eq!(percent(3813, 3814).as_deref(), Some("99.9%"));
        assert_eq!(percent(9999, 10000).as_deref(), Some("99.9%"));
        assert_eq!(percent(u64::MAX - 1, u64::MAX).as_deref(), Some("99.9%"));
        assert_eq!(percent(3814, 3814).as_deref(), Some("100.0%"));
        assert_eq!(percent(1, 1).as_deref(), Some("100.0%"));
    }

    #[test]
    fn a_success_is_never_rounded_down_to_nothing() {
        assert_eq!(percent(1, 3814).as_deref(), Some("0.1%"));
        assert_eq!(percent(1, u64::MAX).as_deref(), Some("0.1%"));
        assert_eq!(percent(0, 3814).as_deref(), Some("0.0%"));
    }

    #[test]
    fn everything_else_rounds_to_the_nearest_tenth() {
        assert_eq!(percent(1, 2).as_deref(), Some("50.0%"));
        assert_eq!(percent(1, 3).as_deref(), Some("33.3%"));
        assert_eq!(percent(2, 3).as_deref(), Some("66.7%"));
        // 99.95 exactly rounds half up, to 100.0, which is refused: 99.9.
        assert_eq!(percent(1999, 2000).as_deref(), Some("99.9%"));
        // 0.05 rounds up to 0.1.
        assert_eq!(percent(1, 2000).as_deref(), Some("0.1%"));
        assert_eq!(percent(3, 2000).as_deref(), Some("0.2%"));
        assert_eq!(percent(5, 4).as_deref(), Some("100.0%"), "more than whole is whole");
        assert_eq!(percent(0, 0), None);
    }

    #[test]
    fn a_change_is_in_points_with_a_sign() {
        assert_eq!(points_change(Some(999), Some(1000)).as_deref(), Some("-0.1"));
        assert_eq!(points_change(Some(1000), Some(988)).as_deref(), Some("+1.2"));
        assert_eq!(points_change(Some(500), Some(500)).as_deref(), Some("0.0"));
        assert_eq!(points_change(None, Some(500)), None);
        assert_eq!(points_change(Some(500), None), None);
    }
}
