//! The roster's columns: their Chinese headers, English aliases, which are
//! required, and the words accepted in the enum-like columns.

use std::fmt;

use chrono::NaiveDate;
use hedui_proto::v1::{Relation, Residence};

/// One column of the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// 户编号: the household number; the rows with the same one are one household, wherever they are.
    HouseholdNo,
    /// 城乡: urban or rural, for the household.
    Residence,
    /// 姓名: the member's name.
    Name,
    /// 身份证号: the member's 18-character ID number.
    IdNumber,
    /// 与申请人关系: relation to the applicant.
    Relation,
    /// 无民事行为能力: 是 when the member lacks legal capacity (optional column).
    LacksCapacity,
    /// 本人签字: 是 when the member signed the authorization for themselves.
    SignedSelf,
    /// 监护人身份证号: who signed as guardian for this member (optional column).
    GuardianId,
    /// 监护人姓名: the guardian's name when the guardian is not a member
    /// (optional column).
    GuardianName,
    /// 授权书编号: the authorization form number.
    AuthorizationForm,
    /// 签署日期: the date the form was signed.
    SignedDate,
    /// 授权有效期至: the last day the form is valid.
    ValidUntil,
    /// 授权书扫描件SHA256: SHA-256 of the scanned form.
    ScanSha256,
}

impl Column {
    /// Every column, in the order the generator writes them.
    pub const ALL: [Column; 13] = [
        Column::HouseholdNo,
        Column::Residence,
        Column::Name,
        Column::IdNumber,
        Column::Relation,
        Column::LacksCapacity,
        Column::SignedSelf,
        Column::GuardianId,
        Column::GuardianName,
        Column::AuthorizationForm,
        Column::SignedDate,
        Column::ValidUntil,
        Column::ScanSha256,
    ];

    /// The Chinese header, as written by the generator and named in errors.
    pub fn zh(self) -> &'static str {
        match self {
            Column::HouseholdNo => "户编号",
            Column::Residence => "城乡",
            Column::Name => "姓名",
            Column::IdNumber => "身份证号",
            Column::Relation => "与申请人关系",
            Column::LacksCapacity => "无民事行为能力",
            Column::SignedSelf => "本人签字",
            Column::GuardianId => "监护人身份证号",
            Column::GuardianName => "监护人姓名",
            Column::AuthorizationForm => "授权书编号",
            Column::SignedDate => "签署日期",
            Column::ValidUntil => "授权有效期至",
            Column::ScanSha256 => "授权书扫描件SHA256",
        }
    }

    /// The English alias accepted in place of the Chinese header.
    pub fn en(self) -> &'static str {
        match self {
            Column::HouseholdNo => "household_no",
            Column::Residence => "residence",
            Column::Name => "name",
            Column::IdNumber => "id_number",
            Column::Relation => "relation",
            Column::LacksCapacity => "lacks_capacity",
            Column::SignedSelf => "signed_self",
            Column::GuardianId => "guardian_id",
            Column::GuardianName => "guardian_name",
            Column::AuthorizationForm => "authorization_form",
            Column::SignedDate => "signed_date",
            Column::ValidUntil => "valid_until",
            Column::ScanSha256 => "scan_sha256",
        }
    }

    /// Whether the header must be present. Optional columns may be left out
    /// of the file altogether; a required column must be there even when
    /// some of its cells are blank.
    pub fn required(self) -> bool {
        !matches!(self, Column::LacksCapacity | Column::GuardianId | Column::GuardianName)
    }

    /// True for the columns that describe the household or its form rather
    /// than one member: they are read from the household's first row, and a
    /// later row must leave them blank or repeat the same value.
    pub fn per_household(self) -> bool {
        matches!(
            self,
            Column::Residence
                | Column::AuthorizationForm
                | Column::SignedDate
                | Column::ValidUntil
                | Column::ScanSha256
        )
    }

    /// Finds the column a header cell names: the Chinese header exactly, or
    /// the English alias ignoring ASCII case. Surrounding whitespace is
    /// ignored.
    pub fn from_header(h: &str) -> Option<Column> {
        let h = h.trim();
        Column::ALL
            .into_iter()
            .find(|c| c.zh() == h || c.en().eq_ignore_ascii_case(h))
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.zh())
    }
}

/// Parses 城乡: 城镇, 城市 or `urban`; 农村 or `rural`.
pub fn parse_residence(s: &str) -> Result<Residence, String> {
    match s.trim() {
        "" => Err("is required: 城镇 or 农村 (urban or rural)".to_owned()),
        other => hedui_domain::words::parse::<Residence>(other)
            .map_err(|_| format!("{other:?} is not a residence; expected 城镇 or 农村 (urban or rural)")),
    }
}

/// The word the generator writes for a relation: its short word in the
/// table of [`hedui_domain::words`] (本人, 配偶, …).
pub fn relation_word(r: Relation) -> &'static str {
    hedui_domain::words::words(r).map_or("其他", |w| w.short)
}

/// Parses 与申请人关系: the Chinese words of [`hedui_domain::words`] or the
/// English slugs (`applicant`, `spouse`, `child`, `parent`, `grandparent`,
/// `grandchild`, `sibling`, `child-in-law`, `other`).
pub fn parse_relation(s: &str) -> Result<Relation, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("is required, for example 本人, 配偶 or 子女".to_owned());
    }
    hedui_domain::words::parse::<Relation>(s).map_err(|_| {
        format!(
            "{s:?} is not a relation; expected one of 本人, 配偶, 子女, 父母, 祖父母, 孙子女, 兄弟姐妹, 儿媳/女婿, 其他 \
             (or applicant, spouse, child, parent, grandparent, grandchild, sibling, child-in-law, other)"
        )
    })
}

/// Parses a yes/no cell: 是/否, `Y`/`N`, `yes`/`no`, `true`/`false`,
/// `1`/`0`, a tick (√ ✓ ✔) for yes and a cross (× ✗ ✘) for no, in any case
/// and with spaces around (U+3000 too); a blank cell is no.
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "是" | "yes" | "y" | "true" | "1" | "√" | "✓" | "✔" | "ｙ" => Ok(true),
        "否" | "no" | "n" | "false" | "0" | "×" | "✗" | "✘" | "ｎ" | "" => Ok(false),
        other => Err(format!("{other:?} is not 是 or 否 (yes or no; Y/N and √ are read too)")),
    }
}

/// Parses a date as Excel and caseworkers write it: `2026-11-02`,
/// `2026-11-2`, `2026/11/2`, `2026.11.2`, `2026年11月2日` and `20261102`,
/// with spaces around; an Excel date cell arrives as `2026-11-02` (with
/// `00:00:00` when it has a time of day, which must be midnight). The year
/// is 1880 to 9999, and the date must exist: `2026/13/45` is an error that
/// says why.
pub fn parse_roster_date(s: &str) -> Result<NaiveDate, String> {
    let t = s.trim();
    let t = t.strip_suffix(" 00:00:00").unwrap_or(t);
    let parts: Vec<&str> = if let Some(rest) = t.strip_suffix('日') {
        rest.split(['年', '月']).collect()
    } else if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        vec![&t[..4], &t[4..6], &t[6..]]
    } else {
        t.split(['-', '/', '.']).collect()
    };
    let expected = || format!("{t:?} is not a date; write it as 2026-11-02, 2026/11/2, 2026年11月2日 or 20261102");
    let [y, m, d] = parts.as_slice() else {
        return Err(expected());
    };
    let number = |p: &str, max_len: usize| -> Option<u32> {
        (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok())?
    };
    let (Some(year), Some(month), Some(day)) = (number(y, 4).filter(|_| y.len() == 4), number(m, 2), number(d, 2))
    else {
        return Err(expected());
    };
    if !(1880..=9999).contains(&year) {
        return Err(format!("{t:?}: the year {year} is out of range (1880 to 9999)"));
    }
    if !(1..=12).contains(&month) {
        return Err(format!("{t:?} is not a date: there is no month {month}"));
    }
    NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or_else(|| format!("{t:?} is not a date: {year}-{month:02} has no day {day}"))
}

/// An ID number as an input method may type it, made plain: full-width
/// digits (０–９) and letter X (Ｘ ｘ) become ASCII, and spaces around it
/// (U+3000, the full-width space, too) are removed. Returns the plain form
/// and what was changed, or `None` when nothing was. Nothing else is
/// touched: a space inside the number, or any other character, is left for
/// the ID check to report.
pub fn normalise_id(s: &str) -> Option<(String, String)> {
    let trimmed = s.trim();
    let mut full_width = false;
    let plain: String = trimmed
        .chars()
        .map(|c| match c {
            '０'..='９' => {
                full_width = true;
                char::from(b'0' + (c as u32 - '０' as u32) as u8)
            }
            'Ｘ' | 'ｘ' => {
                full_width = true;
                'X'
            }
            c => c,
        })
        .collect();
    let spaces = trimmed.len() != s.len();
    let what = match (full_width, spaces) {
        (false, false) => return None,
        (true, false) => "full-width characters (０-９, Ｘ) were read as 0-9 and X",
        (false, true) => "the spaces around the number were removed",
        (true, true) => {
            "full-width characters (０-９, Ｘ) were read as 0-9 and X and the spaces around the number were removed"
        }
    };
    Some((plain, what.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_chinese_and_english() {
        for c in Column::ALL {
            assert_eq!(Column::from_header(c.zh()), Some(c));
            assert_eq!(Column::from_header(c.en()), Some(c));
            assert_eq!(Column::from_header(&c.en().to_uppercase()), Some(c));
        }
        assert_eq!(Column::from_header(" 姓名 "), Some(Column::Name));
        assert_eq!(Column::from_header("电话"), None);
    }

    #[test]
    fn words() {
        assert_eq!(parse_residence("城镇"), Ok(Residence::Urban));
        assert_eq!(parse_residence("Rural"), Ok(Residence::Rural));
        assert!(parse_residence("县城").unwrap_err().contains("城镇 or 农村"));
        for words in <Relation as hedui_domain::words::Worded>::TABLE {
            for w in words.all() {
                assert_eq!(parse_relation(w), Ok(words.value));
            }
            assert_eq!(parse_relation(relation_word(words.value)), Ok(words.value));
        }
        assert_eq!(relation_word(Relation::Applicant), "本人");
        assert_eq!(parse_relation("child-in-law"), Ok(Relation::ChildInLaw));
        assert!(parse_relation("表哥").unwrap_err().contains("兄弟姐妹"));
        assert_eq!(parse_yes_no(""), Ok(false));
        assert_eq!(parse_yes_no("是"), Ok(true));
        assert_eq!(parse_yes_no("YES"), Ok(true));
        assert!(parse_yes_no("也许").is_err());
        assert_eq!(parse_yes_no("√"), Ok(true));
        assert_eq!(parse_yes_no(" Y\u{3000}"), Ok(true));
        assert_eq!(parse_yes_no("N"), Ok(false));
        assert_eq!(parse_yes_no("×"), Ok(false));
    }

    #[test]
    fn excel_dates() {
        let want = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        for s in [
            "2026-11-02",
            "2026-11-2",
            "2026/11/2",
            "2026/11/02",
            "2026.11.2",
            "2026年11月2日",
            "20261102",
            " 2026/11/2 ",
            "2026-11-02 00:00:00",
        ] {
            assert_eq!(parse_roster_date(s), Ok(want), "{s}");
        }
        let e = parse_roster_date("2026/13/45").unwrap_err();
        assert!(e.contains("no month 13"), "{e}");
        let e = parse_roster_date("2026/2/30").unwrap_err();
        assert!(e.contains("no day 30"), "{e}");
        for bad in [
            "26/11/2",
            "2026/11",
            "明天",
            "2026-11-02 08:00:00",
            "1700-01-01",
            "2026111",
        ] {
            assert!(parse_roster_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn full_width_id_numbers() {
        assert_eq!(normalise_id("520626194701205831"), None);
        let (plain, what) = normalise_id("５２０６２６１９９３０６１６３８９Ｘ\u{3000}").unwrap();
        assert_eq!(plain, "52062619930616389X");
        assert!(what.contains("full-width") && what.contains("spaces"), "{what}");
        assert_eq!(normalise_id(" 123 ").unwrap().0, "123");
        // A space inside is left for the ID check.
        assert_eq!(normalise_id("5206 26"), None);
    }
}
