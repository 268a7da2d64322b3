//! Writing rosters: from households and their authorizations (the sandbox's,
//! for the demo and the benchmark), or synthetic ones for tests.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate};
use hedui_domain::ids::resident_check_char;
use hedui_proto::v1::{Authorization, Household, Member, Purpose, Relation, Residence};

use crate::columns::{Column, relation_word};

/// Writes a roster CSV (UTF-8 with a byte order mark, Chinese headers, all
/// thirteen columns) with one row per member of each household, streaming:
/// memory does not depend on how many households the iterator yields.
/// Returns the number of households written.
///
/// For each member, 本人签字 is 是 when the authorization has a signer
/// signing for themselves with the member's ID number, and 监护人身份证号 is
/// the first guardian who signs on their behalf; 监护人姓名 is filled in
/// when that guardian is not a member. The authorization's purpose is not
/// written: the batch names it.
pub fn write_roster_csv<I>(path: &Path, households: I) -> io::Result<usize>
where
    I: IntoIterator<Item = (Household, Authorization)>,
{
    let mut out = BufWriter::new(File::create(path)?);
    out.write_all("\u{FEFF}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(Column::ALL.iter().map(|c| c.zh()))?;
    let mut n = 0;
    for (h, a) in households {
        write_household(&mut w, &h, &a)?;
        n += 1;
    }
    let out = w.into_inner().map_err(|e| e.into_error())?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(n)
}

fn write_household<W: Write>(w: &mut csv::Writer<W>, h: &Household, a: &Authorization) -> io::Result<()> {
    let residence = match Residence::try_from(h.residence) {
        Ok(Residence::Urban) => "城镇",
        Ok(Residence::Rural) => "农村",
        _ => "",
    };
    let same = |x: &str, y: &str| x.eq_ignore_ascii_case(y);
    for m in &h.members {
        let signed = a
            .signers
            .iter()
            .any(|s| !s.as_guardian && same(&s.id_number, &m.id_number));
        let guardian = a
            .signers
            .iter()
            .find(|s| s.as_guardian && s.on_behalf_of.iter().any(|w| same(w, &m.id_number)));
        let (guardian_id, guardian_name) = match guardian {
            None => ("", ""),
            Some(g) if h.members.iter().any(|o| same(&o.id_number, &g.id_number)) => (g.id_number.as_str(), ""),
            Some(g) => (g.id_number.as_str(), g.name.as_str()),
        };
        let relation = relation_word(Relation::try_from(m.relation).unwrap_or(Relation::Unspecified));
        w.write_record([
            h.household_ref.as_str(),
            residence,
            m.name.as_str(),
            m.id_number.as_str(),
            relation,
            if m.lacks_capacity { "是" } else { "否" },
            if signed { "是" } else { "否" },
            guardian_id,
            guardian_name,
            a.form_number.as_str(),
            a.signed_date.as_str(),
            a.valid_until.as_str(),
            a.scan_sha256.as_str(),
        ])?;
    }
    Ok(())
}

/// Family names for the synthetic households.
const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙"];
/// Given names for the synthetic households.
const GIVEN: [&str; 12] = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰"];

/// A synthetic ID number for person number `p`: Dejiang's area code, a
/// birth date starting at `base` and moving on one day every 1,000 persons,
/// the sequence `p % 1000` and the right check character. Unique for every
/// `p` below 1,000 times the days until `today`.
fn synthetic_id(p: usize, base: NaiveDate) -> String {
    let birth = base + Days::new((p / 1000) as u64);
    let first17 = format!(
        "520626{:04}{:02}{:02}{:03}",
        birth.year(),
        birth.month(),
        birth.day(),
        p % 1000
    );
    let check = resident_check_char(&first17).expect("17 digits");
    format!("{first17}{check}")
}

/// Synthetic household number `i` (0-based): `SYN-000001`… with an adult
/// applicant, every second household a spouse, every third a child under
/// 18 for whom the applicant signs as guardian, alternately urban and rural.
/// The authorization is complete for `purpose`, signed 30 days before
/// `today` and valid for a year from then. ID numbers are unique across
/// households for any `i` below 300,000.
pub fn synthetic_household(i: usize, today: NaiveDate, purpose: Purpose) -> (Household, Authorization) {
    let adults = NaiveDate::from_ymd_opt(1960, 1, 1).expect("a date");
    let children = NaiveDate::from_ymd_opt(today.year() - 12, 1, 1).expect("a date");
    let surname = SURNAMES[i % SURNAMES.len()];
    let mut members = vec![Member {
        name: format!("{surname}{}", GIVEN[i % GIVEN.len()]),
        id_number: synthetic_id(2 * i, adults),
        relation: Relation::Applicant as i32,
        lacks_capacity: false,
    }];
    if i.is_multiple_of(2) {
        members.push(Member {
            name: format!("{}{}", SURNAMES[(i + 5) % SURNAMES.len()], GIVEN[(i + 3) % GIVEN.len()]),
            id_number: synthetic_id(2 * i + 1, adults),
            relation: Relation::Spouse as i32,
            lacks_capacity: false,
        });
    }
    if i.is_multiple_of(3) {
        members.push(Member {
            name: format!(
                "{surname}{}{}",
                GIVEN[(i + 7) % GIVEN.len()],
                GIVEN[(i + 1) % GIVEN.len()]
            ),
            id_number: synthetic_id(i, children),
            relation: Relation::Child as i32,
            lacks_capacity: false,
        });
    }
    let household = Household {
        household_ref: format!("SYN-{:06}", i + 1),
        residence: if i.is_multiple_of(2) {
            Residence::Urban
        } else {
            Residence::Rural
        } as i32,
        members,
    };
    let signed = today - Days::new(30);
    let authorization = hedui_trust::authorization::complete_for(
        &household,
        purpose,
        &format!("SQ-{:06}", i + 1),
        signed,
        signed + Days::new(365),
    );
    (household, authorization)
}

/// Writes a roster of `n` synthetic households (see
/// [`synthetic_household`]) to `path`, for tests and benchmarks.
pub fn write_example_csv(path: &Path, n: usize, today: NaiveDate) -> io::Result<usize> {
    write_roster_csv(
        path,
        (0..n).map(|i| synthetic_household(i, today, Purpose::MinimumLiving)),
    )
}
