//! A department's SQL query with named parameters (`:id_number`), parsed
//! once: [`Statement::parse`] rewrites the names to the driver's
//! placeholders (`$1` for PostgreSQL, `?` for MySQL and SQLite) and
//! remembers which value goes where, so values are always bound and never
//! spliced into the SQL text. Read by the configuration (to check a file)
//! and by the `sql` backend (to run it); it imports neither.

use sqlx::SqlSafeStr as _;

/// Why a `mysql://` URL is refused by a build without the `mysql` feature.
pub const NO_MYSQL: &str = "this hedui was built without MySQL/MariaDB support (it would link `rsa`, RUSTSEC-2023-0071); build the adapter with `cargo build --release --features adapter-mysql`";

/// The SQL dialect, chosen by the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `postgres://` or `postgresql://`: `$1` placeholders.
    Postgres,
    /// `mysql://` or `mariadb://`: `?` placeholders.
    MySql,
    /// `sqlite:`: `?` placeholders.
    Sqlite,
}

impl Dialect {
    /// The dialect of a connection URL.
    pub fn of_url(url: &str) -> Result<Dialect, String> {
        let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" if cfg!(feature = "mysql") => Ok(Dialect::MySql),
            "mysql" | "mariadb" => Err(NO_MYSQL.into()),
            "sqlite" => Ok(Dialect::Sqlite),
            _ => Err("must start with postgres://, mysql:// or sqlite:".into()),
        }
    }
}

/// A value a query may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `:id_number`, the 18-character resident ID (upper-case `X`), text.
    IdNumber,
    /// `:name`, the name the hub asked about, text.
    Name,
    /// `:window_start`, the first day of the income window, a date.
    WindowStart,
    /// `:window_end`, the last day of the income window, a date.
    WindowEnd,
    /// `:from_month`, the first month of the window, text `YYYY-MM`.
    FromMonth,
    /// `:to_month`, the last month of the window, text `YYYY-MM`.
    ToMonth,
    /// `:asset_reference_date`, the date for balances and holdings, a date.
    AssetReferenceDate,
}

/// Every parameter with its name.
pub const PARAMS: &[(&str, Param)] = &[
    ("id_number", Param::IdNumber),
    ("name", Param::Name),
    ("window_start", Param::WindowStart),
    ("window_end", Param::WindowEnd),
    ("from_month", Param::FromMonth),
    ("to_month", Param::ToMonth),
    ("asset_reference_date", Param::AssetReferenceDate),
];

/// A query with its named parameters rewritten for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL as sent to the driver (shared, so each run clones a
    /// pointer, not the text).
    pub sql: sqlx::SqlStr,
    /// The values to bind, in placeholder order.
    pub binds: Vec<Param>,
}

impl Statement {
    /// Rewrites `:name` parameters for `dialect`. Refuses anything but one
    /// `SELECT` (or `WITH … SELECT`), positional placeholders, and unknown
    /// parameter names. String literals, quoted identifiers, comments and
    /// PostgreSQL's `::type` casts are left alone.
    pub fn parse(query: &str, dialect: Dialect) -> Result<Statement, String> {
        let q = query.trim();
        let q = q.strip_suffix(';').unwrap_or(q).trim_end();
        let first = skip_leading_comments(q)
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if first != "SELECT" && first != "WITH" {
            return Err("must be one SELECT statement (the adapter only reads)".into());
        }
        let chars: Vec<char> = q.chars().collect();
        let mut out = String::with_capacity(q.len());
        let mut binds: Vec<Param> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\'' | '"' | '`' => {
                    // A quoted literal or identifier; a doubled quote escapes
                    // it, and MySQL also allows a backslash in strings.
                    let start = i;
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err(format!("unterminated {c} quote")),
                            Some('\\') if dialect == Dialect::MySql && c == '\'' => i += 2,
                            Some(&q) if q == c && chars.get(i + 1) == Some(&c) => i += 2,
                            Some(&q) if q == c => {
                                i += 1;
                                break;
                            }
                            Some(_) => i += 1,
                        }
                    }
                    out.extend(&chars[start..i.min(chars.len())]);
                    continue;
                }
                '-' if chars.get(i + 1) == Some(&'-') => {
                    while i < chars.len() && chars[i] != '\n' {
                        out.push(chars[i]);
                        i += 1;
                    }
                    continue;
                }
                '/' if chars.get(i + 1) == Some(&'*') => {
                    let start = i;
                    i += 2;
                    while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                        i += 1;
                    }
                    if i >= chars.len() {
                        return Err("unterminated /* comment".into());
                    }
                    i += 2;
                    out.extend(&chars[start..i]);
                    continue;
                }
                ';' => return Err("must be one statement; remove the ';' inside it".into()),
                '?' => return Err("uses a positional '?' parameter; use named ones such as :id_number".into()),
                '$' if chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                    return Err("uses a positional '$n' parameter; use named ones such as :id_number".into());
                }
                ':' if chars.get(i + 1) == Some(&':') => {
                    out.push_str("::");
                    i += 2;
                    continue;
                }
                ':' if chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == '_') => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    let Some(&(_, p)) = PARAMS.iter().find(|(n, _)| *n == name) else {
                        let known: Vec<String> = PARAMS.iter().map(|(n, _)| format!(":{n}")).collect();
                        return Err(format!("unknown parameter :{name}; use {}", known.join(", ")));
                    };
                    match dialect {
                        Dialect::Postgres => {
                            let n = match binds.iter().position(|b| *b == p) {
                                Some(n) => n,
                                None => {
                                    binds.push(p);
                                    binds.len() - 1
                                }
                            };
                            out.push_str(&format!("${}", n + 1));
                        }
                        Dialect::MySql | Dialect::Sqlite => {
                            binds.push(p);
                            out.push('?');
                        }
                    }
                    i = end;
                    continue;
                }
                _ => out.push(c),
            }
            i += 1;
        }
        if !binds.contains(&Param::IdNumber) {
            return Err("must use :id_number, so it answers about the person asked and nobody else".into());
        }
        // sqlx runs SQL that is not a `&'static str` only when asserted
        // safe, and this is where the adapter's is made: the department's
        // own query from its configuration file (written by its
        // administrator, never by a request), with every parameter made a
        // placeholder above, so each value is bound and none is spliced in.
        let sql = sqlx::AssertSqlSafe(std::sync::Arc::<str>::from(out)).into_sql_str();
        Ok(Statement { sql, binds })
    }
}

/// `q` without the whitespace and comments before its first keyword.
fn skip_leading_comments(mut q: &str) -> &str {
    loop {
        q = q.trim_start();
        if let Some(rest) = q.strip_prefix("--") {
            q = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = q.strip_prefix("/*") {
            q = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return q;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes_choose_the_dialect() {
        assert_eq!(Dialect::of_url("postgres://h/db"), Ok(Dialect::Postgres));
        assert_eq!(Dialect::of_url("PostgreSQL://h/db"), Ok(Dialect::Postgres));
        assert_eq!(Dialect::of_url("sqlite:///var/lib/x.db"), Ok(Dialect::Sqlite));
        assert!(Dialect::of_url("oracle://h/db").unwrap_err().contains("postgres://"));
    }

    /// With the `mysql` feature (this crate's default) MySQL URLs are taken.
    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_urls_are_taken_when_built_with_mysql() {
        assert_eq!(Dialect::of_url("mysql://h/db"), Ok(Dialect::MySql));
        assert_eq!(Dialect::of_url("mariadb://h/db"), Ok(Dialect::MySql));
    }

    /// The `hedui` binary's default build has no MySQL driver: a MySQL URL
    /// is refused when the configuration is read, saying how to build one
    /// that has it (CI runs this with `--no-default-features`).
    #[cfg(not(feature = "mysql"))]
    #[test]
    fn mysql_urls_are_refused_when_built_without_mysql() {
        for url in ["mysql://h/db", "mariadb://h/db"] {
            let e = Dialect::of_url(url).unwrap_err();
            assert!(e.contains("--features adapter-mysql"), "{e}");
        }
    }
}
