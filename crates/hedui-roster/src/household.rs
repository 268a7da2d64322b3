//! From the rows of one household to a checked household and authorization.
//!
//! The cells are first read with the roster's own words (城镇, 配偶, 是…) and
//! `hedui_domain::window::parse_date`; the household and the authorization
//! are then checked by the hub's own functions
//! (`ValidatedHousehold::parse`, `hedui_trust::authorization::parse` and
//! `check_covers`) and their field paths are turned back into rows and
//! columns, so the rules live in one place.

use std::collections::HashSet;

use chrono::NaiveDate;
use hedui_domain::household::{MAX_MEMBERS, ValidatedHousehold};
use hedui_domain::ids::ResidentId;
use hedui_domain::window::parse_date;
use hedui_proto::v1::{Authorization, Household, Member, Purpose, Relation, Residence, Signer};
use hedui_trust::authorization::{ADULT_AGE, check_covers, parse as parse_authorization};

use crate::columns::{Column, parse_relation, parse_residence, parse_yes_no};
use crate::source::RawRow;
use crate::{Header, RosterHousehold, RowError, Seen};

/// The rows of one household as read: at most `MAX_MEMBERS + 1` are kept,
/// the rest only counted, so a file with one household number on every row
/// cannot fill memory.
pub(crate) struct Group {
    rows: Vec<RawRow>,
    first_row: usize,
    last_row: usize,
    count: usize,
}

impl Group {
    pub(crate) fn new(first: RawRow) -> Group {
        Group {
            first_row: first.row,
            last_row: first.row,
            count: 1,
            rows: vec![first],
        }
    }

    pub(crate) fn push(&mut self, row: RawRow) {
        self.last_row = row.row;
        self.count += 1;
        if self.rows.len() <= MAX_MEMBERS {
            self.rows.push(row);
        }
    }
}

/// Errors of one household, with a guard against reporting the same cell
/// twice (once from the roster's own reading and again from the domain
/// check of the value it could not read).
struct Errors<'h> {
    header: &'h Header,
    list: Vec<RowError>,
    cells: HashSet<(usize, Option<Column>)>,
}

impl Errors<'_> {
    fn add(&mut self, row: usize, column: Option<Column>, reason: impl Into<String>) {
        if column.is_some() && !self.cells.insert((row, column)) {
            return;
        }
        self.list
            .push(RowError::new(row, column.map(|c| self.header.name(c)), reason));
    }
}

/// One guardian of the household's dependants, as the rows name them.
struct Guardian<'r> {
    /// The guardian's ID number as typed, upper case.
    id: String,
    /// The first row that names this guardian.
    row: usize,
    /// The ID numbers of the members they sign for.
    wards: Vec<String>,
    /// The guardian's name and its row, when a row gives one.
    named: Option<(&'r str, usize)>,
}

/// A household-level value: the first non-blank cell of its column and the
/// row it is on.
struct Shared<'r> {
    value: &'r str,
    row: usize,
}

/// Checks one household and remembers its household number and ID numbers
/// in `seen`.
pub(crate) fn build(
    group: &Group,
    header: &Header,
    today: NaiveDate,
    purpose: Option<Purpose>,
    seen: &mut Seen,
) -> Result<RosterHousehold, Vec<RowError>> {
    let mut errors = Errors {
        header,
        list: Vec::new(),
        cells: HashSet::new(),
    };
    let rows = &group.rows;
    let first = group.first_row;

    // Cells that could not be read, and values under no header.
    for row in rows {
        for (i, reason) in &row.bad {
            errors
                .list
                .push(RowError::new(row.row, Some(header.name_at(*i)), reason.clone()));
        }
        for (i, cell) in row.cells.iter().enumerate() {
            if !header.has_header_at(i) && !cell.trim().is_empty() {
                errors.list.push(RowError::new(
                    row.row,
                    Some(crate::column_letter(i)),
                    "holds a value but the column has no header; delete it or give the column a roster header",
                ));
            }
        }
    }

    // The household number: required, and not seen before.
    let number = header.get(&rows[0], Column::HouseholdNo);
    if number.is_empty() {
        errors.add(first, Some(Column::HouseholdNo), "is required");
    } else if let Some(&(a, b)) = seen.households.get(number) {
        errors.add(
            first,
            Some(Column::HouseholdNo),
            format!(
                "household {number:?} already appeared in {}; the rows of a household must be next to each other: \
                 sort the roster by {}",
                rows_text(a, b),
                header.name(Column::HouseholdNo)
            ),
        );
    } else {
        seen.households
            .insert(number.to_owned(), (group.first_row, group.last_row));
    }

    if group.count > MAX_MEMBERS {
        errors.list.push(RowError::new(
            first,
            None,
            format!(
                "household {number:?} has {} members ({}); at most {MAX_MEMBERS} are allowed",
                group.count,
                rows_text(group.first_row, group.last_row)
            ),
        ));
    }

    // Household-level columns: the first non-blank value, and every other
    // non-blank value must equal it.
    let shared = |column: Column, errors: &mut Errors<'_>| -> Shared<'_> {
        let mut found: Option<Shared<'_>> = None;
        for row in rows {
            let v = header.get(row, column);
            if v.trim().is_empty() {
                continue;
            }
            match &found {
                None => found = Some(Shared { value: v, row: row.row }),
                Some(f) if f.value != v => errors.add(
                    row.row,
                    Some(column),
                    format!(
                        "{v:?} differs from {:?} in row {} of the same household; leave it blank or repeat the same value",
                        f.value, f.row
                    ),
                ),
                Some(_) => {}
            }
        }
        found.unwrap_or(Shared { value: "", row: first })
    };
    let residence_cell = shared(Column::Residence, &mut errors);
    let form = shared(Column::AuthorizationForm, &mut errors);
    let signed_cell = shared(Column::SignedDate, &mut errors);
    let until_cell = shared(Column::ValidUntil, &mut errors);
    let scan = shared(Column::ScanSha256, &mut errors);

    let residence = parse_residence(residence_cell.value)
        .map_err(|e| errors.add(residence_cell.row, Some(Column::Residence), e))
        .unwrap_or(Residence::Unspecified);
    let date = |cell: &Shared<'_>, column: Column, errors: &mut Errors<'_>| -> Option<NaiveDate> {
        if cell.value.is_empty() {
            errors.add(cell.row, Some(column), "is required, as YYYY-MM-DD");
            return None;
        }
        parse_date(cell.value)
            .map_err(|e| errors.add(cell.row, Some(column), e))
            .ok()
    };
    let signed_date = date(&signed_cell, Column::SignedDate, &mut errors);
    let valid_until = date(&until_cell, Column::ValidUntil, &mut errors);

    // Members, and who signed for whom.
    let mut members = Vec::with_capacity(rows.len());
    let mut self_signed = Vec::new();
    let mut guardians: Vec<Guardian<'_>> = Vec::new();
    for row in rows.iter().take(MAX_MEMBERS + 1) {
        let r = row.row;
        let name = header.get(row, Column::Name);
        let id = header.get(row, Column::IdNumber);
        let relation = parse_relation(header.get(row, Column::Relation))
            .map_err(|e| errors.add(r, Some(Column::Relation), e))
            .unwrap_or(Relation::Unspecified);
        let lacks_capacity = parse_yes_no(header.get(row, Column::LacksCapacity))
            .map_err(|e| errors.add(r, Some(Column::LacksCapacity), e))
            .unwrap_or(false);
        let signed = parse_yes_no(header.get(row, Column::SignedSelf))
            .map_err(|e| errors.add(r, Some(Column::SignedSelf), e))
            .unwrap_or(false);
        if signed {
            self_signed.push((name, id, r));
        }
        let guardian = header.get(row, Column::GuardianId);
        let guardian_name = header.get(row, Column::GuardianName);
        if !guardian.is_empty() {
            let key = guardian.to_ascii_uppercase();
            if key == id.to_ascii_uppercase() {
                errors.add(
                    r,
                    Some(Column::GuardianId),
                    "is the member's own ID number; a member who signs for themselves puts 是 in the signed column",
                );
            } else {
                let named = (!guardian_name.is_empty()).then_some((guardian_name, r));
                match guardians.iter_mut().find(|g| g.id == key) {
                    Some(g) => {
                        g.wards.push(id.to_owned());
                        if let (Some((n1, r1)), Some((n2, r2))) = (g.named, named) {
                            if n1 != n2 {
                                errors.add(
                                    r2,
                                    Some(Column::GuardianName),
                                    format!("{n2:?} differs from {n1:?} in row {r1} for the same guardian"),
                                );
                            }
                        } else if g.named.is_none() {
                            g.named = named;
                        }
                    }
                    None => guardians.push(Guardian {
                        id: key,
                        row: r,
                        wards: vec![id.to_owned()],
                        named,
                    }),
                }
            }
        } else if !guardian_name.is_empty() {
            errors.add(
                r,
                Some(Column::GuardianName),
                format!("is given but {} is blank", header.name(Column::GuardianId)),
            );
        }
        members.push(Member {
            name: name.to_owned(),
            id_number: id.to_owned(),
            relation: relation as i32,
            lacks_capacity,
        });
    }
    let row_of_member: Vec<usize> = rows.iter().map(|r| r.row).collect();

    // ID numbers already in another household.
    for (m, &r) in members.iter().zip(&row_of_member) {
        let Some(key) = id_key(&m.id_number) else { continue };
        match seen.ids.get(&key) {
            Some(&earlier) if earlier < first => errors.add(
                r,
                Some(Column::IdNumber),
                format!(
                    "this ID number is already in row {earlier}, in another household; \
                     a person can be in only one household of a roster"
                ),
            ),
            Some(_) => {}
            None => {
                seen.ids.insert(key, r);
            }
        }
    }

    let household = Household {
        household_ref: number.to_owned(),
        residence: residence as i32,
        members,
    };
    let validated = match ValidatedHousehold::parse(&household, today, "household") {
        Ok(v) => Some(v),
        Err(e) => {
            for v in e.violations {
                let (row, column) = household_field(&v.field, first, &row_of_member);
                errors.add(row, column, v.description);
            }
            None
        }
    };

    // The signers: members who signed for themselves, then each guardian
    // with the members they signed for. Each signer remembers its row.
    let mut signers = Vec::new();
    let mut signer_rows: Vec<(usize, Column)> = Vec::new();
    for (name, id, r) in self_signed {
        signers.push(Signer {
            name: name.to_owned(),
            id_number: id.to_owned(),
            as_guardian: false,
            on_behalf_of: Vec::new(),
        });
        signer_rows.push((r, Column::SignedSelf));
    }
    for Guardian {
        id: gid,
        row: r,
        wards,
        named,
    } in guardians
    {
        let member = household
            .members
            .iter()
            .zip(&row_of_member)
            .find(|(m, _)| m.id_number.to_ascii_uppercase() == gid);
        let name = match (member, named) {
            (Some((m, mr)), Some((n, nr))) if m.name != n => {
                errors.add(
                    nr,
                    Some(Column::GuardianName),
                    format!("{n:?} differs from the name of the member in row {mr} with this guardian ID number"),
                );
                m.name.clone()
            }
            (Some((m, _)), _) => m.name.clone(),
            (None, Some((n, _))) => n.to_owned(),
            (None, None) => {
                errors.add(
                    r,
                    Some(Column::GuardianName),
                    format!(
                        "is required when the guardian is not a member of the household (no row of household {number:?} \
                         has the ID number in {})",
                        header.name(Column::GuardianId)
                    ),
                );
                String::new()
            }
        };
        signers.push(Signer {
            name,
            id_number: gid,
            as_guardian: true,
            on_behalf_of: wards,
        });
        signer_rows.push((r, Column::GuardianId));
    }

    let authorization = Authorization {
        form_number: form.value.to_owned(),
        signers,
        signed_date: signed_date.map_or_else(|| signed_cell.value.to_owned(), |d| d.to_string()),
        scan_sha256: scan.value.to_owned(),
        purpose: purpose.unwrap_or(Purpose::Unspecified) as i32,
        valid_until: valid_until.map_or_else(|| until_cell.value.to_owned(), |d| d.to_string()),
    };
    // Without a purpose every other rule is still checked, under a stand-in
    // purpose that the form is then taken to name.
    let check_purpose = purpose.unwrap_or(Purpose::MinimumLiving);
    let mut checked = authorization.clone();
    checked.purpose = check_purpose as i32;
    let shared_row = |column: Column| match column {
        Column::AuthorizationForm => form.row,
        Column::SignedDate => signed_cell.row,
        Column::ValidUntil => until_cell.row,
        Column::ScanSha256 => scan.row,
        _ => first,
    };
    match parse_authorization(&checked, today, "authorization") {
        Err(e) => {
            for v in e.violations {
                let (row, column) = authorization_field(&v.field, first, &signer_rows, shared_row);
                // A signer's name or ID number is a cell of its own row.
                let (column, reason) = match (column, field_leaf(&v.field)) {
                    (Some(Column::SignedSelf), "name") => (Some(Column::Name), v.description),
                    (Some(Column::SignedSelf), "id_number") => (Some(Column::IdNumber), v.description),
                    (Some(Column::GuardianId), "name") => (Some(Column::GuardianName), v.description),
                    (Some(Column::GuardianId), "id_number") => (Some(Column::GuardianId), v.description),
                    (Some(Column::SignedSelf), leaf) => (
                        Some(Column::SignedSelf),
                        format!("the signature: {leaf} {}", v.description),
                    ),
                    (Some(Column::GuardianId), leaf) => (
                        Some(Column::GuardianId),
                        format!("the guardian's signature: {leaf} {}", v.description),
                    ),
                    (column, _) => (column, v.description),
                };
                errors.add(row, column, reason);
            }
        }
        Ok(auth) => {
            if let Some(h) = &validated
                && let Err(problems) = check_covers(&auth, h, check_purpose, today)
            {
                for p in problems {
                    match p.member_index {
                        Some(i) => {
                            let row = row_of_member.get(i).copied().unwrap_or(first);
                            let m = &h.members[i];
                            let dependant = m.lacks_capacity || m.id.age_on(today) < ADULT_AGE;
                            let column = if dependant {
                                Column::GuardianId
                            } else {
                                Column::SignedSelf
                            };
                            let reason = p.reason.replacen(&format!("member {i} "), "this member ", 1);
                            let hint = if dependant {
                                format!("; put the guardian's ID number in {}", header.name(Column::GuardianId))
                            } else {
                                format!(
                                    "; put 是 in {} once the member has signed",
                                    header.name(Column::SignedSelf)
                                )
                            };
                            errors.add(row, Some(column), format!("{reason}{hint}"));
                        }
                        None => {
                            let (row, column) = authorization_field(&p.field, first, &signer_rows, shared_row);
                            errors.add(row, column, p.reason);
                        }
                    }
                }
            }
        }
    }

    if errors.list.is_empty()
        && let Some(h) = validated
    {
        return Ok(RosterHousehold {
            first_row: group.first_row,
            last_row: group.last_row,
            household: h.to_proto(),
            authorization: normalise_ids(authorization, today),
        });
    }
    let mut list = errors.list;
    list.sort_by_key(|e| e.row);
    Err(list)
}

/// "row 5" or "rows 5–8".
fn rows_text(a: usize, b: usize) -> String {
    if a == b {
        format!("row {a}")
    } else {
        format!("rows {a}–{b}")
    }
}

/// The key under which an ID number is remembered: its 18 characters with
/// an upper-case `X`, or `None` when it cannot be an ID number (then the
/// domain check reports it).
fn id_key(id: &str) -> Option<[u8; 18]> {
    let b = id.as_bytes();
    if b.len() != 18 || !b.is_ascii() {
        return None;
    }
    let mut key = [0u8; 18];
    for (k, c) in key.iter_mut().zip(b) {
        *k = c.to_ascii_uppercase();
    }
    Some(key)
}

/// The row and column of a `household.…` field path.
fn household_field(field: &str, first: usize, rows: &[usize]) -> (usize, Option<Column>) {
    if let Some(rest) = field.strip_prefix("household.members[")
        && let Some((i, sub)) = rest.split_once("].")
        && let Ok(i) = i.parse::<usize>()
    {
        let row = rows.get(i).copied().unwrap_or(first);
        let column = match sub {
            "name" => Some(Column::Name),
            "id_number" => Some(Column::IdNumber),
            "relation" => Some(Column::Relation),
            _ => None,
        };
        return (row, column);
    }
    match field {
        "household.household_ref" => (first, Some(Column::HouseholdNo)),
        "household.residence" => (first, Some(Column::Residence)),
        _ => (first, None),
    }
}

/// The row and column of an `authorization.…` field path.
fn authorization_field(
    field: &str,
    first: usize,
    signer_rows: &[(usize, Column)],
    shared_row: impl Fn(Column) -> usize,
) -> (usize, Option<Column>) {
    if let Some(rest) = field.strip_prefix("authorization.signers[")
        && let Some((k, _)) = rest.split_once(']')
        && let Ok(k) = k.parse::<usize>()
        && let Some(&(row, column)) = signer_rows.get(k)
    {
        return (row, Some(column));
    }
    let column = match field {
        "authorization.form_number" => Column::AuthorizationForm,
        "authorization.signed_date" => Column::SignedDate,
        "authorization.valid_until" => Column::ValidUntil,
        "authorization.scan_sha256" => Column::ScanSha256,
        _ => return (first, None),
    };
    (shared_row(column), Some(column))
}

/// The last part of a field path, for example `id_number` or
/// `on_behalf_of[0]`.
fn field_leaf(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

/// The authorization with every ID number in its normal form (upper-case
/// `X`), as the household's are.
fn normalise_ids(mut a: Authorization, today: NaiveDate) -> Authorization {
    let norm = |s: &mut String| {
        if let Ok(id) = ResidentId::parse(s, today) {
            *s = id.as_str().to_owned();
        }
    };
    for s in &mut a.signers {
        norm(&mut s.id_number);
        for w in &mut s.on_behalf_of {
            norm(w);
        }
    }
    a
}
