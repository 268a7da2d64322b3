//! Reviews (复核结果) of a record: a home visit's result or a household's
//! objection. A review is kept beside the record and never changes it.

use hedui_proto::v1::ReviewOutcome;

use crate::error::{FieldViolation, ValidationError};

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A review request that passed [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedReview {
    /// What the review found; never `Unspecified`.
    pub outcome: ReviewOutcome,
    /// The note, trimmed; non-empty for `Corrected` and `Objection`.
    pub note: String,
}

/// Validates a review's outcome (raw enum value) and note, reporting both
/// at once. The note is trimmed; it must not hold control characters, and
/// a correction or an objection must say what it is about.
pub fn parse(outcome: i32, note: &str) -> Result<ValidatedReview, ValidationError> {
    let mut v = Vec::new();
    let outcome = match ReviewOutcome::try_from(outcome) {
        Ok(ReviewOutcome::Unspecified) => {
            v.push(FieldViolation::new(
                "outcome",
                "is required: confirmed, corrected or objection",
            ));
            None
        }
        Ok(o) => Some(o),
        Err(_) => {
            v.push(FieldViolation::new(
                "outcome",
                format!("unknown value {outcome}; expected confirmed, corrected or objection"),
            ));
            None
        }
    };
    let note = note.trim();
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        v.push(FieldViolation::new(
            "note",
            format!("is {chars} characters; the limit is {MAX_NOTE_CHARS}"),
        ));
    }
    if let Some(c) = note.chars().find(|c| c.is_control()) {
        v.push(FieldViolation::new(
            "note",
            format!("must not contain control characters (found U+{:04X})", c as u32),
        ));
    }
    if note.is_empty() && matches!(outcome, Some(ReviewOutcome::Corrected | ReviewOutcome::Objection)) {
        v.push(FieldViolation::new(
            "note",
            "is required for a correction or an objection: say what was found or objected to",
        ));
    }
    ValidationError::check(v)?;
    Ok(ValidatedReview {
        outcome: outcome.unwrap_or_default(),
        note: note.to_owned(),
    })
}

crate::slug::slugs! {
    ReviewOutcome, "REVIEW_OUTCOME_", test outcome_slugs_are_the_protobuf_names;
    /// The command-line name of an outcome: `confirmed`, `corrected`, `objection`.
    pub fn outcome_slug;
    fn outcome_from_slug;
    { Confirmed => "confirmed", Corrected => "corrected", Objection => "objection" }
}

/// Parses an outcome's command-line name. Errors name the accepted values.
pub fn parse_outcome_slug(s: &str) -> Result<ReviewOutcome, String> {
    outcome_from_slug(s).ok_or_else(|| format!("unknown outcome {s:?}; expected confirmed, corrected or objection"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ValidationError) -> Vec<String> {
        e.violations.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_confirmation_needs_no_note() {
        let r = parse(ReviewOutcome::Confirmed as i32, "  ").unwrap();
        assert_eq!(r.outcome, ReviewOutcome::Confirmed);
        assert_eq!(r.note, "");
    }

    #[test]
    fn corrections_and_objections_need_a_note() {
        for o in [ReviewOutcome::Corrected, ReviewOutcome::Objection] {
            assert_eq!(fields(parse(o as i32, "").unwrap_err()), ["note"]);
            assert_eq!(
                parse(o as i32, " 入户核查：车辆已过户 ").unwrap().note,
                "入户核查：车辆已过户"
            );
        }
    }

    #[test]
    fn bad_outcomes_and_notes_are_named() {
        assert_eq!(fields(parse(0, "x").unwrap_err()), ["outcome"]);
        assert_eq!(fields(parse(9, "x").unwrap_err()), ["outcome"]);
        assert_eq!(
            fields(parse(ReviewOutcome::Objection as i32, "a\u{7}b").unwrap_err()),
            ["note"]
        );
        assert_eq!(
            fields(parse(ReviewOutcome::Objection as i32, "a\nb").unwrap_err()),
            ["note"]
        );
        let long = "字".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(fields(parse(0, &long).unwrap_err()), ["outcome", "note"]);
        assert!(parse(ReviewOutcome::Corrected as i32, &"字".repeat(MAX_NOTE_CHARS)).is_ok());
    }

    #[test]
    fn slugs_round_trip() {
        for o in [
            ReviewOutcome::Confirmed,
            ReviewOutcome::Corrected,
            ReviewOutcome::Objection,
        ] {
            assert_eq!(parse_outcome_slug(outcome_slug(o)), Ok(o));
        }
        assert!(parse_outcome_slug("ok").unwrap_err().contains("objection"));
    }
}
