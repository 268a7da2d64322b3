//! Reading a policy file: the TOML table, checked key by key, with errors
//! that name the full dotted key.

use super::words::*;
use super::*;

impl Policy {
    /// Reads and validates a policy file. Unknown keys are rejected anywhere
    /// in the file, every key except `description` and
    /// `description_zh` is required (so the file
    /// alone shows what is applied), money must not be negative, month counts
    /// must be 1 to 120, and every slug must be known.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let table: Table = text.parse().map_err(|e: toml::de::Error| syntax_error(text, &e))?;
        let root = Reader::new(String::new(), &table, ROOT_KEYS)?;

        let version = root.string("version")?;
        validate_version(&root.path("version"), version)?;
        let description = root.optional_string("description")?.unwrap_or_default().to_owned();
        let description_zh = root.optional_string("description_zh")?.unwrap_or_default().to_owned();

        let required_departments = root.slug_list(
            "required_departments",
            "department",
            |s| department::parse_slug(s).ok(),
            &department_slugs(),
        )?;
        if required_departments.is_empty() {
            return Err(invalid(
                root.path("required_departments"),
                "must name at least one department",
            ));
        }

        let s = root.section("standard", STANDARD_KEYS)?;
        let standard = Standard {
            urban_monthly_fen: s.positive_money("urban_monthly_fen")?,
            rural_monthly_fen: s.positive_money("rural_monthly_fen")?,
        };

        let s = root.section("income", INCOME_KEYS)?;
        let income = IncomeRule {
            meets_when_equal: s.boolean("meets_when_equal")?,
            outcome: s.outcome("outcome")?,
        };

        let s = root.section("assets", ASSETS_KEYS)?;
        let assets = AssetsRule {
            max_months_of_standard_per_capita: s.months("max_months_of_standard_per_capita")?,
            outcome: s.outcome("outcome")?,
        };

        let s = root.section("vehicles", VEHICLES_KEYS)?;
        let vehicles = VehiclesRule {
            exempt_types: s.slug_list(
                "exempt_types",
                "vehicle type",
                parse_vehicle_type,
                &slugs(VEHICLE_TYPES, vehicle_type_slug),
            )?,
            max_non_exempt: s.count("max_non_exempt")?,
            outcome: s.outcome("outcome")?,
        };

        let s = root.section("real_estate", REAL_ESTATE_KEYS)?;
        let real_estate = RealEstateRule {
            max_residential: s.count("max_residential")?,
            residential_outcome: s.outcome("residential_outcome")?,
            max_commercial: s.count("max_commercial")?,
            commercial_outcome: s.outcome("commercial_outcome")?,
        };

        let s = root.section("recent_purchase", RECENT_PURCHASE_KEYS)?;
        let recent_purchase = RecentPurchaseRule {
            months: s.months("months")?,
            property_uses: s.slug_list(
                "property_uses",
                "property use",
                parse_property_use,
                &slugs(PROPERTY_USES, property_use_slug),
            )?,
            outcome: s.outcome("outcome")?,
        };

        let s = root.section("business", BUSINESS_KEYS)?;
        let business = BusinessRule {
            roles: s.slug_list(
                "roles",
                "business role",
                parse_business_role,
                &slugs(BUSINESS_ROLES, business_role_slug),
            )?,
            outcome: s.outcome("outcome")?,
            individual_business_outcome: s.outcome("individual_business_outcome")?,
            max_subscribed_capital_fen: s.money("max_subscribed_capital_fen")?,
            subscribed_capital_outcome: s.outcome("subscribed_capital_outcome")?,
        };

        let s = root.section("flags", FLAGS_KEYS)?;
        let flags = FlagsRule {
            needs_review: s.slug_list(
                "needs_review",
                "flag kind",
                parse_flag_kind,
                &slugs(FLAG_KINDS, flag_kind_slug),
            )?,
        };

        Ok(Policy {
            version: version.to_owned(),
            description,
            description_zh,
            required_departments,
            standard,
            income,
            assets,
            vehicles,
            real_estate,
            recent_purchase,
            business,
            flags,
        })
    }
}

// The keys allowed in each table. The reader rejects anything else, which is
// what `deny_unknown_fields` does for serde, but with the full dotted key in
// the message.
pub(super) const ROOT_KEYS: &[&str] = &[
    "version",
    "description",
    "description_zh",
    "required_departments",
    "standard",
    "income",
    "assets",
    "vehicles",
    "real_estate",
    "recent_purchase",
    "business",
    "flags",
];
pub(super) const STANDARD_KEYS: &[&str] = &["urban_monthly_fen", "rural_monthly_fen"];
pub(super) const INCOME_KEYS: &[&str] = &["meets_when_equal", "outcome"];
pub(super) const ASSETS_KEYS: &[&str] = &["max_months_of_standard_per_capita", "outcome"];
pub(super) const VEHICLES_KEYS: &[&str] = &["exempt_types", "max_non_exempt", "outcome"];
pub(super) const REAL_ESTATE_KEYS: &[&str] = &[
    "max_residential",
    "residential_outcome",
    "max_commercial",
    "commercial_outcome",
];
pub(super) const RECENT_PURCHASE_KEYS: &[&str] = &["months", "property_uses", "outcome"];
pub(super) const BUSINESS_KEYS: &[&str] = &[
    "roles",
    "outcome",
    "individual_business_outcome",
    "max_subscribed_capital_fen",
    "subscribed_capital_outcome",
];
pub(super) const FLAGS_KEYS: &[&str] = &["needs_review"];

/// Turns a TOML syntax error into a one-line message with its position.
pub(super) fn syntax_error(text: &str, e: &toml::de::Error) -> PolicyError {
    let message = e.message().trim().to_owned();
    match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            PolicyError::Syntax(format!("line {line}, column {column}: {message}"))
        }
        None => PolicyError::Syntax(message),
    }
}

pub(super) fn invalid(key: String, message: impl fmt::Display) -> PolicyError {
    PolicyError::InvalidValue {
        key,
        message: message.to_string(),
    }
}

pub(super) fn validate_version(key: &str, v: &str) -> Result<(), PolicyError> {
    if v.is_empty() || v.len() > MAX_VERSION_LEN {
        return Err(invalid(
            key.to_owned(),
            format!("must be 1 to {MAX_VERSION_LEN} characters"),
        ));
    }
    // The version is stored in records, logs and file names, so it is kept
    // to printable ASCII without spaces.
    if !v.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid(key.to_owned(), "must be printable ascii without spaces"));
    }
    Ok(())
}

/// One TOML table with its dotted path, checked for unknown keys.
pub(super) struct Reader<'a> {
    prefix: String,
    table: &'a Table,
}

impl<'a> Reader<'a> {
    fn new(prefix: String, table: &'a Table, allowed: &[&str]) -> Result<Self, PolicyError> {
        let reader = Reader { prefix, table };
        // The table iterates in key order, so the first unknown key reported
        // is the same on every run.
        if let Some(unknown) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(PolicyError::UnknownKey {
                key: reader.path(unknown),
                expected: allowed.join(", "),
            });
        }
        Ok(reader)
    }

    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn value(&self, key: &str) -> Result<&'a Value, PolicyError> {
        self.table
            .get(key)
            .ok_or_else(|| PolicyError::MissingKey { key: self.path(key) })
    }

    fn wrong_type(&self, key: &str, expected: &'static str, found: &Value) -> PolicyError {
        PolicyError::WrongType {
            key: self.path(key),
            expected,
            found: found.type_str(),
        }
    }

    fn section(&self, key: &str, allowed: &[&str]) -> Result<Reader<'a>, PolicyError> {
        match self.value(key)? {
            Value::Table(t) => Reader::new(self.path(key), t, allowed),
            other => Err(self.wrong_type(key, "table", other)),
        }
    }

    fn string(&self, key: &str) -> Result<&'a str, PolicyError> {
        match self.value(key)? {
            Value::String(s) => Ok(s),
            other => Err(self.wrong_type(key, "string", other)),
        }
    }

    fn optional_string(&self, key: &str) -> Result<Option<&'a str>, PolicyError> {
        if self.table.contains_key(key) {
            self.string(key).map(Some)
        } else {
            Ok(None)
        }
    }

    fn boolean(&self, key: &str) -> Result<bool, PolicyError> {
        match self.value(key)? {
            Value::Boolean(b) => Ok(*b),
            other => Err(self.wrong_type(key, "boolean", other)),
        }
    }

    fn integer(&self, key: &str) -> Result<i64, PolicyError> {
        match self.value(key)? {
            Value::Integer(i) => Ok(*i),
            other => Err(self.wrong_type(key, "integer", other)),
        }
    }

    /// An amount in fen, from zero to [`crate::money::MAX_PLAUSIBLE_FEN`],
    /// checked the same way as amounts from departments.
    fn money(&self, key: &str) -> Result<i64, PolicyError> {
        let v = self.integer(key)?;
        check_fen(&self.path(key), v).map_err(|violation| PolicyError::InvalidValue {
            key: violation.field,
            message: violation.description,
        })
    }

    /// An amount in fen that must be above zero; a zero standard would make
    /// every household fail and is certainly a mistake.
    fn positive_money(&self, key: &str) -> Result<i64, PolicyError> {
        let v = self.money(key)?;
        if v == 0 {
            return Err(invalid(self.path(key), "must be positive, got 0"));
        }
        Ok(v)
    }

    /// A count of things, zero or more.
    fn count(&self, key: &str) -> Result<u32, PolicyError> {
        let v = self.integer(key)?;
        u32::try_from(v).map_err(|_| invalid(self.path(key), format!("must be 0 to {}, got {v}", u32::MAX)))
    }

    /// A number of months, 1 to 120.
    fn months(&self, key: &str) -> Result<u32, PolicyError> {
        let v = self.integer(key)?;
        if !(1..=MAX_MONTHS).contains(&v) {
            return Err(invalid(
                self.path(key),
                format!("must be 1 to {MAX_MONTHS} months, got {v}"),
            ));
        }
        Ok(u32::try_from(v).expect("checked to be 1 to 120"))
    }

    fn outcome(&self, key: &str) -> Result<Outcome, PolicyError> {
        let s = self.string(key)?;
        Outcome::parse(s).ok_or_else(|| {
            invalid(
                self.path(key),
                format!("unknown outcome {s:?}; expected \"does-not-meet\" or \"needs-review\""),
            )
        })
    }

    /// A list of slugs, each known and none repeated.
    fn slug_list<T: PartialEq>(
        &self,
        key: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
        known: &[&str],
    ) -> Result<Vec<T>, PolicyError> {
        let items = match self.value(key)? {
            Value::Array(a) => a,
            other => return Err(self.wrong_type(key, "array of strings", other)),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_key = format!("{}[{i}]", self.path(key));
            let Value::String(s) = item else {
                return Err(PolicyError::WrongType {
                    key: item_key,
                    expected: "string",
                    found: item.type_str(),
                });
            };
            let Some(parsed) = parse(s) else {
                return Err(invalid(
                    item_key,
                    format!("unknown {what} {s:?}; expected one of {}", known.join(", ")),
                ));
            };
            if out.contains(&parsed) {
                return Err(invalid(item_key, format!("duplicate {what} {s:?}")));
            }
            out.push(parsed);
        }
        Ok(out)
    }
}
