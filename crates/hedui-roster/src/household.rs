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
use hedui_domain::household::ValidatedHousehold;
use hedui_domain::ids::ResidentId;
use hedui_proto::v1::{Authorization, Household, Member, Purpose, Relation, Residence, Signer};
use hedui_trust::authorization::{ADULT_AGE, check_covers, parse as parse_authorization};

use crate::columns::{Column, normalise_id, parse_relation, parse_residence, parse_roster_date, parse_yes_no};
use crate::source::RawRow;
use crate::{ErrorKind, Header, RosterHousehold, RowError, Seen};

/// Errors of one household. One cause, one message: a cell is reported
/// once (not again by the domain check of the value it could not read), and
/// the later checks (the authorization) say nothing about a row that
/// already has an error.
struct Errors<'h> {
    header: &'h Header,
    list: Vec<RowError>,
    cells: HashSet<(usize, Option<Column>)>,
    rows: HashSet<usize>,
}

impl Errors<'_> {
    fn add(&mut self, row: usize, column: Option<Column>, kind: ErrorKind, reason: impl Into<String>) {
        if column.is_some() && !self.cells.insert((row, column)) {
            return;
        }
        self.rows.insert(row);
        self.list.push(RowError::with_kind(
            row,
            column.map(|c| self.header.name(c)),
            kind,
            reason,
        ));
    }

    /// A problem in a column that has no roster header, named by its letter.
    fn add_at(&mut self, row: usize, index: usize, kind: ErrorKind, reason: impl Into<String>) {
        match self.header.column_at(index) {
            Some(c) => self.add(row, Some(c), kind, reason),
            None => {
                self.rows.insert(row);
                self.list.push(RowError::with_kind(
                    row,
                    Some(crate::column_letter(index)),
                    kind,
                    reason,
                ));
            }
        }
    }

    fn row_has(&self, row: usize) -> bool {
        self.rows.contains(&row)
    }

    fn column_has(&self, column: Column) -> bool {
        self.cells.iter().any(|(_, c)| *c == Some(column))
    }
}

/// The kind of a problem the domain reported, from its words: a value left
/// blank, or one that is wrong.
fn domain_kind(description: &str) -> ErrorKind {
    if description.starts_with("is required") || description.contains("must not be empty") {
        ErrorKind::Missing
    } else if description.starts_with("duplicate") {
        ErrorKind::Conflict
    } else {
        ErrorKind::Invalid
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
    /// The rows of those members.
    ward_rows: Vec<usize>,
    /// The guardian's name and its row, when a row gives one.
    named: Option<(&'r str, usize)>,
}

/// A household-level value: the first non-blank cell of its column and the
/// row it is on.
struct Shared<'r> {
    value: &'r str,
    row: usize,
}

/// Checks one household — all the rows with its 户编号, in file order, at
/// most `MAX_MEMBERS` — and remembers its ID numbers in `seen`. `position`
/// is the household's place in the roster.
pub(crate) fn build(
    mut rows: Vec<RawRow>,
    position: usize,
    header: &Header,
    today: NaiveDate,
    purpose: Option<Purpose>,
    seen: &mut Seen,
) -> Result<RosterHousehold, Vec<RowError>> {
    let mut errors = Errors {
        header,
        list: Vec::new(),
        cells: HashSet::new(),
        rows: HashSet::new(),
    };
    let mut notes = Vec::new();
    let first = rows[0].row;
    let last_row = rows[rows.len() - 1].row;

    // Cells that could not be read, and values under no header.
    for row in &rows {
        for (i, reason) in &row.bad {
            errors.add_at(row.row, *i, ErrorKind::Unreadable, reason.clone());
        }
        for (i, cell) in row.cells.iter().enumerate() {
            if !header.has_header_at(i) && !cell.trim().is_empty() {
                errors.add_at(
                    row.row,
                    i,
                    ErrorKind::Layout,
                    "holds a value but the column has no header; delete it or give the column a roster header",
                );
            }
        }
    }

    // The household number: a row without one is a household of its own,
    // and nothing else about it can be checked.
    let number = header.get(&rows[0], Column::HouseholdNo).trim();
    if number.is_empty() {
        errors.add(
            first,
            Some(Column::HouseholdNo),
            ErrorKind::Missing,
            "is required: without it the row cannot be put with the rest of its household",
        );
        return Err(errors.list);
    }
    let number = number.to_owned();

    // ID numbers as input methods type them: full-width digits, spaces
    // around. They are read as the number they show, with a note; a
    // 15-digit first-generation number is an error that gives its
    // 18-digit form.
    for row in &mut rows {
        for column in [Column::IdNumber, Column::GuardianId] {
            let Some(cell) = header.index(column).and_then(|i| row.cells.get_mut(i)) else {
                continue;
            };
            if let Some((clean, what)) = normalise_id(cell) {
                notes.push(RowError::with_kind(
                    row.row,
                    Some(header.name(column)),
                    ErrorKind::Note,
                    format!("{what}; read as {clean}"),
                ));
                *cell = clean;
            }
            if looks_scientific(cell) {
                let reason = format!(
                    "{cell} is a number in Excel's short form: the ID number was stored as a number and its digits \
                     are lost; format the column as text (文本), type the number again and save"
                );
                errors.add(row.row, Some(column), ErrorKind::Unreadable, reason);
                continue;
            }
            if cell.len() == 15 && cell.bytes().all(|b| b.is_ascii_digit()) {
                let reason = match ResidentId::from_legacy15(cell, today) {
                    Ok(id) => format!(
                        "{cell} is a 15-digit first-generation ID number; its 18-digit form is {}: check it against \
                         the person's current card and write the 18 digits",
                        id.as_str()
                    ),
                    Err(e) => format!(
                        "{cell} has 15 digits, like a first-generation ID number, but is not a valid one ({e}); \
                         write the 18-digit number from the person's current card"
                    ),
                };
                errors.add(row.row, Some(column), ErrorKind::Invalid, reason);
            }
        }
    }
    let rows = &rows[..];

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
                Some(f) if !same_value(column, f.value, v) => errors.add(
                    row.row,
                    Some(column),
                    ErrorKind::Conflict,
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
        .map_err(|e| {
            errors.add(
                residence_cell.row,
                Some(Column::Residence),
                word_kind(residence_cell.value),
                e,
            )
        })
        .unwrap_or(Residence::Unspecified);
    let date = |cell: &Shared<'_>, column: Column, errors: &mut Errors<'_>| -> Option<NaiveDate> {
        if cell.value.is_empty() {
            errors.add(
                cell.row,
                Some(column),
                ErrorKind::Missing,
                "is required, as a date such as 2026-11-02 or 2026/11/2",
            );
            return None;
        }
        parse_roster_date(cell.value)
            .map_err(|e| errors.add(cell.row, Some(column), ErrorKind::Invalid, e))
            .ok()
    };
    let signed_date = date(&signed_cell, Column::SignedDate, &mut errors);
    let valid_until = date(&until_cell, Column::ValidUntil, &mut errors);

    // Members, and who signed for whom.
    let mut members = Vec::with_capacity(rows.len());
    let mut self_signed = Vec::new();
    let mut guardians: Vec<Guardian<'_>> = Vec::new();
    for row in rows {
        let r = row.row;
        let name = header.get(row, Column::Name);
        let id = header.get(row, Column::IdNumber);
        let relation_cell = header.get(row, Column::Relation);
        let relation = parse_relation(relation_cell)
            .map_err(|e| errors.add(r, Some(Column::Relation), word_kind(relation_cell), e))
            .unwrap_or(Relation::Unspecified);
        let lacks_capacity = parse_yes_no(header.get(row, Column::LacksCapacity))
            .map_err(|e| errors.add(r, Some(Column::LacksCapacity), ErrorKind::Invalid, e))
            .unwrap_or(false);
        let signed = parse_yes_no(header.get(row, Column::SignedSelf))
            .map_err(|e| errors.add(r, Some(Column::SignedSelf), ErrorKind::Invalid, e))
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
                    ErrorKind::Authorization,
                    format!(
                        "is the member's own ID number; a member who signs for themselves puts 是 in {}",
                        header.name(Column::SignedSelf)
                    ),
                );
            } else {
                let named = (!guardian_name.is_empty()).then_some((guardian_name, r));
                match guardians.iter_mut().find(|g| g.id == key) {
                    Some(g) => {
                        g.wards.push(id.to_owned());
                        g.ward_rows.push(r);
                        if let (Some((n1, r1)), Some((n2, r2))) = (g.named, named) {
                            if n1 != n2 {
                                errors.add(
                                    r2,
                                    Some(Column::GuardianName),
                                    ErrorKind::Conflict,
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
                        ward_rows: vec![r],
                        named,
                    }),
                }
            }
        } else if !guardian_name.is_empty() {
            errors.add(
                r,
                Some(Column::GuardianName),
                ErrorKind::Missing,
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
            Some(&(earlier, other)) if other != position => errors.add(
                r,
                Some(Column::IdNumber),
                ErrorKind::Conflict,
                format!(
                    "this ID number is already in row {earlier}, in another household; \
                     a person can be in only one household of a roster"
                ),
            ),
            Some(_) => {}
            None => {
                seen.ids.insert(key, (r, position));
            }
        }
    }

    let household = Household {
        household_ref: number.clone(),
        residence: residence as i32,
        members,
    };
    let validated = match ValidatedHousehold::parse(&household, today, "household") {
        Ok(v) => Some(v),
        Err(e) => {
            // "No member is the applicant" follows from a relation that could
            // not be read: say only the first.
            let relation_failed = errors.column_has(Column::Relation);
            for v in e.violations {
                let (row, column) = household_field(&v.field, first, &row_of_member);
                if column.is_none() && relation_failed {
                    continue;
                }
                let reason = name_rows(&v.description, &row_of_member, None);
                errors.add(row, column, domain_kind(&v.description), reason);
            }
            None
        }
    };

    // The signers: members who signed for themselves, then each guardian
    // with the members they signed for. Each signer remembers its row.
    let mut signers = Vec::new();
    let mut signer_rows: Vec<SignerRow> = Vec::new();
    for (name, id, r) in self_signed {
        signers.push(Signer {
            name: name.to_owned(),
            id_number: id.to_owned(),
            as_guardian: false,
            on_behalf_of: Vec::new(),
        });
        signer_rows.push(SignerRow {
            row: r,
            column: Column::SignedSelf,
            wards: Vec::new(),
            member_row: Some(r),
        });
    }
    for Guardian {
        id: gid,
        row: r,
        wards,
        ward_rows,
        named,
    } in guardians
    {
        let member = household
            .members
            .iter()
            .zip(&row_of_member)
            .find(|(m, _)| m.id_number.to_ascii_uppercase() == gid);
        let mut member_row = member.map(|(_, &mr)| mr);
        let id_failed = row_of_member
            .iter()
            .copied()
            .find(|&mr| errors.cells.contains(&(mr, Some(Column::IdNumber))));
        let name = match (member, named) {
            (Some((m, mr)), Some((n, nr))) if m.name != n => {
                errors.add(
                    nr,
                    Some(Column::GuardianName),
                    ErrorKind::Conflict,
                    format!("{n:?} differs from the name of the member in row {mr} with this guardian ID number"),
                );
                m.name.clone()
            }
            (Some((m, _)), _) => m.name.clone(),
            (None, Some((n, _))) => n.to_owned(),
            // A guardian ID number that is not a valid number is reported as
            // such by the authorization check below; asking for a name too
            // would be a second message for one cause.
            (None, None) if ResidentId::parse(&gid, today).is_err() => String::new(),
            // Nor when a member's own ID number could not be read: the
            // guardian is most likely that member.
            (None, None) if id_failed.is_some() => {
                member_row = id_failed;
                String::new()
            }
            (None, None) => {
                errors.add(
                    r,
                    Some(Column::GuardianName),
                    ErrorKind::Missing,
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
        signer_rows.push(SignerRow {
            row: r,
            column: Column::GuardianId,
            wards: ward_rows,
            member_row,
        });
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
            // A signer's ID number first: a name missing because the ID
            // number matched no member follows from it.
            let mut violations = e.violations;
            violations.sort_by_key(|v| field_leaf(&v.field) != "id_number");
            for v in violations {
                let (row, column) = authorization_field(&v.field, first, &signer_rows, shared_row);
                let signer_row = matches!(column, Some(Column::SignedSelf | Column::GuardianId));
                if signer_row && (errors.row_has(row) || signer_failed(&v.field, &signer_rows, &errors)) {
                    continue;
                }
                let kind = match domain_kind(&v.description) {
                    ErrorKind::Invalid if signer_row => ErrorKind::Authorization,
                    k => k,
                };
                let description = name_rows(&v.description, &row_of_member, None);
                // A signer's name or ID number is a cell of its own row.
                let (column, reason) = match (column, field_leaf(&v.field)) {
                    (Some(Column::SignedSelf), "name") => (Some(Column::Name), description),
                    (Some(Column::SignedSelf), "id_number") => (Some(Column::IdNumber), description),
                    (Some(Column::GuardianId), "name") => (Some(Column::GuardianName), description),
                    (Some(Column::GuardianId), "id_number") => (Some(Column::GuardianId), description),
                    (Some(Column::SignedSelf), _) => (Some(Column::SignedSelf), format!("the signature {description}")),
                    (Some(Column::GuardianId), _) => (
                        Some(Column::GuardianId),
                        format!("the guardian's signature {description}"),
                    ),
                    (column, _) => (column, description),
                };
                errors.add(row, column, kind, reason);
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
                            if errors.row_has(row) {
                                continue;
                            }
                            let m = &h.members[i];
                            let dependant = m.lacks_capacity || m.id.age_on(today) < ADULT_AGE;
                            let column = if dependant {
                                Column::GuardianId
                            } else {
                                Column::SignedSelf
                            };
                            let reason = name_rows(&p.reason, &row_of_member, Some(i));
                            let hint = if dependant {
                                format!("; put the guardian's ID number in {}", header.name(Column::GuardianId))
                            } else {
                                format!(
                                    "; put 是 in {} once the member has signed",
                                    header.name(Column::SignedSelf)
                                )
                            };
                            errors.add(row, Some(column), ErrorKind::Authorization, format!("{reason}{hint}"));
                        }
                        None => {
                            let (row, column) = authorization_field(&p.field, first, &signer_rows, shared_row);
                            if errors.row_has(row) && matches!(column, Some(Column::SignedSelf | Column::GuardianId)) {
                                continue;
                            }
                            let reason = name_rows(&p.reason, &row_of_member, None);
                            errors.add(row, column, ErrorKind::Authorization, reason);
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
            first_row: first,
            last_row,
            rows: row_of_member,
            household: h.to_proto(),
            authorization: normalise_ids(authorization, today),
            notes,
        });
    }
    let mut list = errors.list;
    list.sort_by_key(|e| e.row);
    Err(list)
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

/// True when the field is about a signer whose member row already has an
/// error: what the authorization check says of it follows from that error.
fn signer_failed(field: &str, signer_rows: &[SignerRow], errors: &Errors<'_>) -> bool {
    field
        .strip_prefix("authorization.signers[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(k, _)| k.parse::<usize>().ok())
        .and_then(|k| signer_rows.get(k))
        .and_then(|s| s.member_row)
        .is_some_and(|r| errors.row_has(r))
}

/// Where a signer of the authorization comes from in the roster.
struct SignerRow {
    /// The row that names the signer: the member's own row (本人签字) or the
    /// first row naming the guardian (监护人身份证号).
    row: usize,
    column: Column,
    /// For a guardian, the rows of the members they signed for.
    wards: Vec<usize>,
    /// The member's row that gives the signer's name and ID number, when
    /// the signer is a member.
    member_row: Option<usize>,
}

/// The row and column of an `authorization.…` field path. A guardian's
/// `on_behalf_of[j]` is the row of the member it names.
fn authorization_field(
    field: &str,
    first: usize,
    signer_rows: &[SignerRow],
    shared_row: impl Fn(Column) -> usize,
) -> (usize, Option<Column>) {
    if let Some(rest) = field.strip_prefix("authorization.signers[")
        && let Some((k, sub)) = rest.split_once(']')
        && let Ok(k) = k.parse::<usize>()
        && let Some(signer) = signer_rows.get(k)
    {
        if let Some(j) = sub
            .strip_prefix(".on_behalf_of[")
            .and_then(|j| j.strip_suffix(']'))
            .and_then(|j| j.parse::<usize>().ok())
            && let Some(&row) = signer.wards.get(j)
        {
            return (row, Some(Column::GuardianId));
        }
        return (signer.row, Some(signer.column));
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

/// Whether two cells of a household-level column say the same: dates in
/// any of the accepted forms, anything else with spaces around ignored.
fn same_value(column: Column, a: &str, b: &str) -> bool {
    if a.trim() == b.trim() {
        return true;
    }
    matches!(column, Column::SignedDate | Column::ValidUntil)
        && matches!((parse_roster_date(a), parse_roster_date(b)), (Ok(x), Ok(y)) if x == y)
}

/// True for a number as Excel shortens it when it saves a CSV, such as
/// `5.20626E+17`.
fn looks_scientific(cell: &str) -> bool {
    let Some((mantissa, exponent)) = cell.split_once(['E', 'e']) else {
        return false;
    };
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().any(|b| b.is_ascii_digit())
        && !exponent.is_empty()
        && exponent.bytes().all(|b| b.is_ascii_digit())
}

/// The kind of a word that could not be read: missing when blank.
fn word_kind(cell: &str) -> ErrorKind {
    if cell.trim().is_empty() {
        ErrorKind::Missing
    } else {
        ErrorKind::Invalid
    }
}

/// The domain's words name members by their 0-based place in the household
/// (`member 2`, `members[2]`) and signers' lists by index
/// (`on_behalf_of[0]`); a caseworker knows rows. `own` is the member the
/// sentence is about, named "this member".
fn name_rows(text: &str, rows: &[usize], own: Option<usize>) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    loop {
        let hit = ["members[", "member ", "on_behalf_of["]
            .iter()
            .filter_map(|p| rest.find(p).map(|at| (at, *p)))
            .min_by_key(|(at, _)| *at);
        let Some((at, pattern)) = hit else {
            out.push_str(rest);
            return out;
        };
        let after = &rest[at + pattern.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let closes = !pattern.ends_with('[') || after[digits..].starts_with(']');
        let index = after[..digits].parse::<usize>().ok();
        out.push_str(&rest[..at]);
        match (index, closes) {
            (Some(i), true) if pattern != "on_behalf_of[" && rows.get(i).is_some() => {
                if own == Some(i) {
                    out.push_str("this member");
                } else if pattern == "member " {
                    out.push_str(&format!("the member in row {}", rows[i]));
                } else {
                    out.push_str(&format!("row {}", rows[i]));
                }
            }
            (Some(_), true) if pattern == "on_behalf_of[" => out.push_str("a member signed for"),
            _ => {
                out.push_str(&rest[at..at + pattern.len() + digits]);
                rest = &after[digits..];
                continue;
            }
        }
        rest = &after[digits + usize::from(pattern.ends_with('['))..];
    }
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

#[cfg(test)]
mod tests {
    use super::name_rows;

    #[test]
    fn excel_short_numbers_are_recognised() {
        use super::looks_scientific;
        assert!(looks_scientific("5.20626E+17"));
        assert!(looks_scientific("5.2E17"));
        assert!(!looks_scientific("520626194701205831"));
        assert!(!looks_scientific("E+17"));
        assert!(!looks_scientific("52062619470120583X"));
    }

    #[test]
    fn members_are_named_by_their_rows() {
        let rows = [4, 9, 12];
        assert_eq!(
            name_rows("member 1 is an adult and did not sign for themselves", &rows, Some(1)),
            "this member is an adult and did not sign for themselves"
        );
        assert_eq!(
            name_rows("is member 2, who lacks legal capacity", &rows, None),
            "is the member in row 12, who lacks legal capacity"
        );
        assert_eq!(
            name_rows("duplicate ID number; same as members[0]", &rows, None),
            "duplicate ID number; same as row 4"
        );
        assert_eq!(
            name_rows("duplicate ID number; same as on_behalf_of[0]", &rows, None),
            "duplicate ID number; same as a member signed for"
        );
        assert_eq!(
            name_rows("member 7 and members[x]", &rows, None),
            "member 7 and members[x]"
        );
    }
}
