//! The local alert list: documents reported lost, stolen, revoked or invalidated,
//! imported from a CSV file into the trust store (tables `alerts` and `alert_imports`,
//! schema version 2) and looked up by `emrtd verify` (check `alert_list`).
//!
//! The CSV format (`docs/alerts.md`): a header line naming the columns
//! `issuer,document_number,status,reason,since` (`reason` and `since` may be left out),
//! one document per line, `#` comment lines, blank lines, RFC 4180 quoting (`"a, b"`,
//! `""` for a quote inside a quoted field). The issuer is the issuing state as the MRZ
//! writes it (Doc 9303 Part 3 §5: ISO 3166-1 alpha-3, or `D` for Germany, which `DEU`
//! also means here); the document number is compared uppercase with the fillers `<`
//! removed. A file is imported whole or not at all: the first bad line refuses it.
//!
//! Document numbers are personal data: error messages name lines and columns, never
//! the number itself.

use std::collections::HashMap;
use std::fmt;

use rusqlite::{OptionalExtension, params};
use thiserror::Error;
use time::OffsetDateTime;

use super::store::{StoreError, TrustStore};

/// Longest document number accepted (TD1 long numbers run to about 20 characters).
pub const MAX_NUMBER_LEN: usize = 35;
/// Longest free-text reason accepted.
pub const MAX_REASON_LEN: usize = 500;

/// Why a document is on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Reported lost.
    Lost,
    /// Reported stolen.
    Stolen,
    /// Revoked by the issuer.
    Revoked,
    /// Invalidated (e.g. replaced, cancelled).
    Invalidated,
}

impl AlertStatus {
    /// Lowercase name as written in the CSV and stored.
    pub fn name(self) -> &'static str {
        match self {
            AlertStatus::Lost => "lost",
            AlertStatus::Stolen => "stolen",
            AlertStatus::Revoked => "revoked",
            AlertStatus::Invalidated => "invalidated",
        }
    }

    /// Parse a status (case-insensitive, surrounding space ignored).
    pub fn parse(s: &str) -> Option<AlertStatus> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "lost" => AlertStatus::Lost,
            "stolen" => AlertStatus::Stolen,
            "revoked" => AlertStatus::Revoked,
            "invalidated" => AlertStatus::Invalidated,
            _ => return None,
        })
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One listed document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    /// Issuing state, canonical ([`canonical_issuer`]).
    pub issuer: String,
    /// Document number, canonical ([`canonical_number`]).
    pub document_number: String,
    /// Why it is listed.
    pub status: AlertStatus,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Since when (YYYY-MM-DD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// A parsed CSV file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertList {
    /// The entries in file order.
    pub entries: Vec<Alert>,
}

/// What is wrong with one line of an alert list file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CsvProblem {
    /// The file has no header line.
    #[error("no header line (expected `issuer,document_number,status,reason,since`)")]
    NoHeader,
    /// A header column this format does not know.
    #[error("unknown column {name:?} in the header (known: issuer, document_number, status, reason, since)")]
    UnknownColumn {
        /// The column name.
        name: String,
    },
    /// A header column named twice.
    #[error("column {name:?} appears twice in the header")]
    DuplicateColumn {
        /// The column name.
        name: String,
    },
    /// A mandatory column is missing from the header.
    #[error("the header has no {name:?} column")]
    MissingColumn {
        /// The column name.
        name: &'static str,
    },
    /// A quoted field is not closed before the end of the file.
    #[error("a quoted field is not closed")]
    UnterminatedQuote,
    /// Something other than a separator after a closing quote.
    #[error("unexpected character after the closing quote of column {column}")]
    AfterQuote {
        /// Column number, from 1.
        column: usize,
    },
    /// A quote inside an unquoted field.
    #[error("a quote inside unquoted column {column} (quote the whole field and double the quote)")]
    StrayQuote {
        /// Column number, from 1.
        column: usize,
    },
    /// Not as many fields as the header names.
    #[error("{found} field(s), the header names {expected}")]
    FieldCount {
        /// Columns in the header.
        expected: usize,
        /// Fields on the line.
        found: usize,
    },
    /// The issuer is not an issuing-state code.
    #[error(
        "issuer {value:?} is not an issuing state code as in the MRZ (three letters such as NLD, or D for Germany)"
    )]
    Issuer {
        /// What was written.
        value: String,
    },
    /// The document number is empty, too long or has characters outside A-Z 0-9 `<`.
    #[error(
        "document number is empty, longer than {MAX_NUMBER_LEN} characters or not made of A-Z, 0-9 and <"
    )]
    DocumentNumber,
    /// The status is not one of the four.
    #[error("status {value:?} is not lost, stolen, revoked or invalidated")]
    Status {
        /// What was written.
        value: String,
    },
    /// The date is not YYYY-MM-DD.
    #[error("since {value:?} is not a date YYYY-MM-DD")]
    Since {
        /// What was written.
        value: String,
    },
    /// The reason is too long or holds control characters.
    #[error("reason longer than {MAX_REASON_LEN} characters or with control characters")]
    Reason,
    /// The same issuer and document number appear twice.
    #[error("the same issuer and document number as line {first}")]
    Duplicate {
        /// Line of the first occurrence.
        first: usize,
    },
}

/// Alert list failures.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AlertError {
    /// The file is not valid UTF-8.
    #[error("the alert list is not UTF-8 text")]
    NotUtf8,
    /// A line of the file is wrong; nothing was imported.
    #[error("line {line}: {problem}")]
    Csv {
        /// Line number, from 1 (the line a record starts on).
        line: usize,
        /// What is wrong.
        #[source]
        problem: CsvProblem,
    },
    /// The trust store failed.
    #[error("trust store")]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for AlertError {
    fn from(e: rusqlite::Error) -> Self {
        AlertError::Store(StoreError::Sqlite(e))
    }
}

fn csv_err(line: usize, problem: CsvProblem) -> AlertError {
    AlertError::Csv { line, problem }
}

/// The comparison form of an issuing state: uppercase, fillers `<` and spaces removed,
/// and `DEU` written as Doc 9303's `D`.
pub fn canonical_issuer(s: &str) -> String {
    let c: String = s
        .chars()
        .filter(|c| *c != '<' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if c == "DEU" { "D".to_owned() } else { c }
}

/// The comparison form of a document number: uppercase, fillers `<` and spaces removed.
pub fn canonical_number(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '<' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn valid_issuer(c: &str) -> bool {
    c == "D" || (c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
}

fn valid_number(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= MAX_NUMBER_LEN
        && c.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// One CSV record: the line it starts on and its fields.
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Split one record (possibly spanning lines inside quotes). `Ok(None)`: a quote is
/// still open at the end of `text`.
fn split_record(text: &str) -> Result<Option<Vec<String>>, CsvProblem> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let column = fields.len() + 1;
        // leading spaces before a field
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Ok(None),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(Some(fields));
                }
                Some(',') => fields.push(field),
                Some(_) => return Err(CsvProblem::AfterQuote { column }),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field.trim().to_owned());
                        return Ok(Some(fields));
                    }
                    Some(',') => break,
                    Some('"') => return Err(CsvProblem::StrayQuote { column }),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field.trim().to_owned());
        }
    }
}

/// The records of a CSV text: blank lines and `#` comment lines skipped, quoted fields
/// may span lines, `\r\n` accepted, a leading byte-order mark ignored.
fn records(text: &str) -> Result<Vec<Record>, AlertError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut out = Vec::new();
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let line_no = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut buf = line.to_owned();
        loop {
            match split_record(&buf).map_err(|p| csv_err(line_no, p))? {
                Some(fields) => {
                    out.push(Record {
                        line: line_no,
                        fields,
                    });
                    break;
                }
                None => match lines.next() {
                    Some((_, more)) => {
                        buf.push('\n');
                        buf.push_str(more.strip_suffix('\r').unwrap_or(more));
                    }
                    None => return Err(csv_err(line_no, CsvProblem::UnterminatedQuote)),
                },
            }
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Issuer,
    Number,
    Status,
    Reason,
    Since,
}

fn header(rec: &Record) -> Result<Vec<Column>, AlertError> {
    let mut cols = Vec::new();
    for name in &rec.fields {
        let n = name.trim().to_ascii_lowercase();
        let col = match n.as_str() {
            "issuer" => Column::Issuer,
            "document_number" => Column::Number,
            "status" => Column::Status,
            "reason" => Column::Reason,
            "since" => Column::Since,
            _ => {
                return Err(csv_err(
                    rec.line,
                    CsvProblem::UnknownColumn { name: name.clone() },
                ));
            }
        };
        if cols.contains(&col) {
            return Err(csv_err(rec.line, CsvProblem::DuplicateColumn { name: n }));
        }
        cols.push(col);
    }
    for (col, name) in [
        (Column::Issuer, "issuer"),
        (Column::Number, "document_number"),
        (Column::Status, "status"),
    ] {
        if !cols.contains(&col) {
            return Err(csv_err(rec.line, CsvProblem::MissingColumn { name }));
        }
    }
    Ok(cols)
}

fn parse_since(s: &str) -> Option<String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &fmt).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

impl AlertList {
    /// Parse an alert list file (see the module docs). Any bad line refuses the whole
    /// file, naming the line.
    pub fn parse_csv(bytes: &[u8]) -> Result<AlertList, AlertError> {
        let text = std::str::from_utf8(bytes).map_err(|_| AlertError::NotUtf8)?;
        let recs = records(text)?;
        let mut it = recs.iter();
        let head = it.next().ok_or(csv_err(1, CsvProblem::NoHeader))?;
        let cols = header(head)?;
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        let mut entries = Vec::new();
        for rec in it {
            let line = rec.line;
            if rec.fields.len() != cols.len() {
                return Err(csv_err(
                    line,
                    CsvProblem::FieldCount {
                        expected: cols.len(),
                        found: rec.fields.len(),
                    },
                ));
            }
            let mut issuer = String::new();
            let mut number = String::new();
            let mut status = None;
            let mut reason = None;
            let mut since = None;
            for (col, value) in cols.iter().zip(&rec.fields) {
                let v = value.trim();
                match col {
                    Column::Issuer => {
                        issuer = canonical_issuer(v);
                        if !valid_issuer(&issuer) {
                            return Err(csv_err(line, CsvProblem::Issuer { value: v.to_owned() }));
                        }
                    }
                    Column::Number => {
                        number = canonical_number(v);
                        if !valid_number(&number) {
                            return Err(csv_err(line, CsvProblem::DocumentNumber));
                        }
                    }
                    Column::Status => {
                        status = Some(
                            AlertStatus::parse(v)
                                .ok_or_else(|| csv_err(line, CsvProblem::Status { value: v.to_owned() }))?,
                        );
                    }
                    Column::Reason if !v.is_empty() => {
                        // line breaks inside a quoted reason become spaces
                        let r = v.split_whitespace().collect::<Vec<_>>().join(" ");
                        if r.chars().count() > MAX_REASON_LEN || r.chars().any(char::is_control) {
                            return Err(csv_err(line, CsvProblem::Reason));
                        }
                        reason = Some(r);
                    }
                    Column::Since if !v.is_empty() => {
                        since = Some(
                            parse_since(v)
                                .ok_or_else(|| csv_err(line, CsvProblem::Since { value: v.to_owned() }))?,
                        );
                    }
                    Column::Reason | Column::Since => {}
                }
            }
            let Some(status) = status else {
                return Err(csv_err(line, CsvProblem::MissingColumn { name: "status" }));
            };
            if let Some(first) = seen.insert((issuer.clone(), number.clone()), line) {
                return Err(csv_err(line, CsvProblem::Duplicate { first }));
            }
            entries.push(Alert {
                issuer,
                document_number: number,
                status,
                reason,
                since,
            });
        }
        Ok(AlertList { entries })
    }
}

/// How an import treats the list already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// The file is the whole list: entries stored before are removed.
    Replace,
    /// Add to the stored list; an entry for the same document is updated.
    Append,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Entries in the file.
    pub imported: usize,
    /// Entries removed before (replace mode).
    pub removed: usize,
    /// Entries on the list afterwards.
    pub total: i64,
}

/// The stored list: how many entries and where the last import came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListInfo {
    /// Entries on the list.
    pub entries: i64,
    /// When the last import happened.
    #[serde(serialize_with = "super::ser_time")]
    pub imported_at: OffsetDateTime,
    /// The file of the last import.
    pub source: String,
    /// SHA-256 of that file, hex.
    pub sha256: String,
}

/// Store `list` in one transaction (all or nothing). `source` names the file and
/// `file_sha256` is the hash of its bytes.
pub fn import(
    store: &mut TrustStore,
    list: &AlertList,
    source: &str,
    file_sha256: &[u8; 32],
    mode: ImportMode,
) -> Result<ImportSummary, AlertError> {
    let w = store.transaction()?;
    let c = w.connection();
    let removed = match mode {
        ImportMode::Replace => c.execute("DELETE FROM alerts", [])?,
        ImportMode::Append => 0,
    };
    c.execute(
        "INSERT INTO alert_imports (path, file_sha256, entries, mode, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            source,
            file_sha256.as_slice(),
            i64::try_from(list.entries.len()).unwrap_or(i64::MAX),
            match mode {
                ImportMode::Replace => "replace",
                ImportMode::Append => "append",
            },
            OffsetDateTime::now_utc().unix_timestamp()
        ],
    )?;
    let import_id = c.last_insert_rowid();
    {
        let mut st = c.prepare_cached(
            "INSERT OR REPLACE INTO alerts (issuer, document_number, status, reason, since, import_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for a in &list.entries {
            st.execute(params![
                a.issuer,
                a.document_number,
                a.status.name(),
                a.reason,
                a.since,
                import_id
            ])?;
        }
    }
    let total: i64 = c.query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get(0))?;
    w.commit()?;
    Ok(ImportSummary {
        imported: list.entries.len(),
        removed,
        total,
    })
}

/// The stored list, `None` when no list was ever imported (or it was cleared).
pub fn info(store: &TrustStore) -> Result<Option<ListInfo>, AlertError> {
    let c = store.connection();
    let last = c
        .query_row(
            "SELECT path, file_sha256, imported_at FROM alert_imports ORDER BY imported_at DESC, id DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?)),
        )
        .optional()?;
    let Some((source, sha, at)) = last else {
        return Ok(None);
    };
    let entries: i64 = c.query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get(0))?;
    Ok(Some(ListInfo {
        entries,
        imported_at: OffsetDateTime::from_unix_timestamp(at).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        source,
        sha256: hex::encode(sha),
    }))
}

fn row_to_alert(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alert> {
    let status: String = r.get(2)?;
    Ok(Alert {
        issuer: r.get(0)?,
        document_number: r.get(1)?,
        // the column is only written from AlertStatus::name; an edited value reads as revoked
        status: AlertStatus::parse(&status).unwrap_or(AlertStatus::Revoked),
        reason: r.get(3)?,
        since: r.get(4)?,
    })
}

/// The entry for a document (issuer and number as in the MRZ; compared in their
/// canonical forms), if it is listed.
pub fn lookup(store: &TrustStore, issuer: &str, document_number: &str) -> Result<Option<Alert>, AlertError> {
    Ok(store
        .connection()
        .query_row(
            "SELECT issuer, document_number, status, reason, since FROM alerts WHERE issuer = ?1 AND document_number = ?2",
            params![canonical_issuer(issuer), canonical_number(document_number)],
            row_to_alert,
        )
        .optional()?)
}

/// Every stored entry (of one issuer when given), ordered by issuer and number.
pub fn entries(store: &TrustStore, issuer: Option<&str>) -> Result<Vec<Alert>, AlertError> {
    let mut st = store.connection().prepare(
        "SELECT issuer, document_number, status, reason, since FROM alerts
         WHERE (?1 IS NULL OR issuer = ?1) ORDER BY issuer, document_number",
    )?;
    let rows = st.query_map(params![issuer.map(canonical_issuer)], row_to_alert)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Remove the list and its import history; returns how many entries were removed.
pub fn clear(store: &mut TrustStore) -> Result<usize, AlertError> {
    let w = store.transaction()?;
    let n = w.connection().execute("DELETE FROM alerts", [])?;
    w.connection().execute("DELETE FROM alert_imports", [])?;
    w.commit()?;
    Ok(n)
}

/// What the list says about one document, for `emrtd verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// No list was imported.
    NoList,
    /// A list exists and does not name the document.
    NotListed(ListInfo),
    /// The document is listed.
    Listed(Alert, ListInfo),
}

/// Look a document up, telling "no list" apart from "not listed".
pub fn check_document(store: &TrustStore, issuer: &str, document_number: &str) -> Result<Lookup, AlertError> {
    let Some(info) = info(store)? else {
        return Ok(Lookup::NoList);
    };
    Ok(match lookup(store, issuer, document_number)? {
        Some(a) => Lookup::Listed(a, info),
        None => Lookup::NotListed(info),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<AlertList, AlertError> {
        AlertList::parse_csv(s.as_bytes())
    }

    fn line_of(e: AlertError) -> (usize, CsvProblem) {
        match e {
            AlertError::Csv { line, problem } => (line, problem),
            other => panic!("not a csv error: {other}"),
        }
    }

    #[test]
    fn full_format_with_comments_quotes_and_crlf() {
        let l = parse(
            "\u{FEFF}# exported 2024-05-01\r\nissuer,document_number,status,reason,since\r\n\r\n\
             NLD,XX0001328,stolen,\"car break-in, Utrecht\",2024-03-01\r\n\
             D,c11t002jm,LOST,,\n  # indented comment\nDEU,\"C11T00<<3\",revoked,\"said \"\"void\"\"\",\n",
        )
        .unwrap();
        assert_eq!(l.entries.len(), 3);
        let a = &l.entries[0];
        assert_eq!(
            (a.issuer.as_str(), a.document_number.as_str()),
            ("NLD", "XX0001328")
        );
        assert_eq!(a.status, AlertStatus::Stolen);
        assert_eq!(a.reason.as_deref(), Some("car break-in, Utrecht"));
        assert_eq!(a.since.as_deref(), Some("2024-03-01"));
        let b = &l.entries[1];
        assert_eq!(
            (b.issuer.as_str(), b.document_number.as_str()),
            ("D", "C11T002JM")
        );
        assert_eq!(
            (b.status, b.reason.as_deref(), b.since.as_deref()),
            (AlertStatus::Lost, None, None)
        );
        let c = &l.entries[2];
        assert_eq!((c.issuer.as_str(), c.document_number.as_str()), ("D", "C11T003"));
        assert_eq!(c.reason.as_deref(), Some("said \"void\""));
    }

    #[test]
    fn columns_by_name_and_optional_ones() {
        let l = parse("status,issuer,document_number\nstolen,UTO,A1\n").unwrap();
        assert_eq!(l.entries[0].issuer, "UTO");
        assert_eq!(l.entries[0].status, AlertStatus::Stolen);
        // a quoted field may span lines
        let l = parse("issuer,document_number,status,reason\nUTO,A1,lost,\"two\nlines\"\nUTO,A2,lost,\n")
            .unwrap();
        assert_eq!(l.entries[0].reason.as_deref(), Some("two lines"));
        assert_eq!(l.entries.len(), 2);
        // header only: an empty list
        assert!(
            parse("issuer,document_number,status\n")
                .unwrap()
                .entries
                .is_empty()
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let cases: &[(&str, usize)] = &[
            ("", 1),
            ("# only a comment\n", 1),
            ("issuer,number,status\n", 1),
            ("issuer,document_number\n", 1),
            ("issuer,document_number,status,issuer\n", 1),
            ("issuer,document_number,status\nNLD,X1,stolen\nNLD,X2\n", 3),
            ("issuer,document_number,status\nNL,X1,stolen\n", 2),
            ("issuer,document_number,status\nN1D,X1,stolen\n", 2),
            ("issuer,document_number,status\nNLD,X-1,stolen\n", 2),
            ("issuer,document_number,status\nNLD,,stolen\n", 2),
            ("issuer,document_number,status\nNLD,X1,missing\n", 2),
            (
                "issuer,document_number,status,since\n# c\nNLD,X1,lost,2024-13-01\n",
                3,
            ),
            ("issuer,document_number,status,since\nNLD,X1,lost,01.02.2024\n", 2),
            ("issuer,document_number,status\nNLD,X1,lost\nNLD,x<1,stolen\n", 3),
            ("issuer,document_number,status\nNLD,X\"1,lost\n", 2),
            ("issuer,document_number,status\nNLD,\"X1\"x,lost\n", 2),
            ("issuer,document_number,status\nNLD,\"X1,lost\n", 2),
            ("issuer,document_number,status,reason\nNLD,X1,lost,a\u{7}b\n", 2),
        ];
        for (text, line) in cases {
            let e = parse(text).expect_err(text);
            assert_eq!(line_of(e).0, *line, "{text:?}");
        }
        assert!(matches!(
            line_of(
                parse("issuer,document_number,status\nNLD,X1,lost\nDEU,Y,lost\nD,Y,stolen\n").unwrap_err()
            ),
            (4, CsvProblem::Duplicate { first: 3 })
        ));
        assert!(matches!(
            AlertList::parse_csv(b"issuer,document_number,status\n\xFF,X,lost\n"),
            Err(AlertError::NotUtf8)
        ));
    }

    #[test]
    fn errors_never_echo_the_document_number() {
        let e = parse("issuer,document_number,status\nNLD,SECRET-9,stolen\n").unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
        assert_eq!(e.to_string(), format!("line 2: {}", CsvProblem::DocumentNumber));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = AlertList::parse_csv(&bytes);
        }

        #[test]
        fn parse_never_panics_on_csv_like_text(s in "[a-zA-Z0-9,\"#<\r\n -]{0,200}") {
            let _ = AlertList::parse_csv(format!("issuer,document_number,status,reason,since\n{s}").as_bytes());
        }
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_issuer("d<<"), "D");
        assert_eq!(canonical_issuer("DEU"), "D");
        assert_eq!(canonical_issuer(" nld "), "NLD");
        assert_eq!(canonical_number("xx00013<<"), "XX00013");
        assert_eq!(canonical_number("C11T 002JM"), "C11T002JM");
    }

    fn store_with(csv: &str, mode: ImportMode) -> (TrustStore, ImportSummary) {
        let mut s = TrustStore::open_in_memory().unwrap();
        let l = parse(csv).unwrap();
        let sum = import(&mut s, &l, "list.csv", &[7; 32], mode).unwrap();
        (s, sum)
    }

    #[test]
    fn import_lookup_replace_append_clear() {
        let mut s = TrustStore::open_in_memory().unwrap();
        assert_eq!(check_document(&s, "NLD", "XX0001328").unwrap(), Lookup::NoList);
        let l = parse(
            "issuer,document_number,status,since\nNLD,XX0001328,stolen,2024-03-01\nD,C11T002JM,lost,\n",
        )
        .unwrap();
        let sum = import(&mut s, &l, "a.csv", &[1; 32], ImportMode::Replace).unwrap();
        assert_eq!((sum.imported, sum.removed, sum.total), (2, 0, 2));
        match check_document(&s, "NLD", "XX0001328<").unwrap() {
            Lookup::Listed(a, info) => {
                assert_eq!(a.status, AlertStatus::Stolen);
                assert_eq!(info.entries, 2);
                assert_eq!(info.source, "a.csv");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check_document(&s, "D<<", "c11t002jm").unwrap(),
            Lookup::Listed(..)
        ));
        assert!(matches!(
            check_document(&s, "DEU", "C11T002JM").unwrap(),
            Lookup::Listed(..)
        ));
        // another issuer with the same number is not listed
        assert!(matches!(
            check_document(&s, "BEL", "XX0001328").unwrap(),
            Lookup::NotListed(_)
        ));

        let l2 = parse("issuer,document_number,status\nUTO,A1,revoked\n").unwrap();
        let sum = import(&mut s, &l2, "b.csv", &[2; 32], ImportMode::Append).unwrap();
        assert_eq!((sum.removed, sum.total), (0, 3));
        let sum = import(&mut s, &l2, "b.csv", &[2; 32], ImportMode::Replace).unwrap();
        assert_eq!((sum.removed, sum.total), (3, 1));
        assert!(matches!(
            check_document(&s, "NLD", "XX0001328").unwrap(),
            Lookup::NotListed(_)
        ));
        assert_eq!(entries(&s, Some("uto")).unwrap().len(), 1);
        assert_eq!(entries(&s, Some("NLD")).unwrap().len(), 0);
        assert_eq!(clear(&mut s).unwrap(), 1);
        assert_eq!(check_document(&s, "UTO", "A1").unwrap(), Lookup::NoList);
    }

    #[test]
    fn append_updates_an_entry_for_the_same_document() {
        let (mut s, _) = store_with(
            "issuer,document_number,status\nUTO,A1,lost\n",
            ImportMode::Replace,
        );
        let l = parse("issuer,document_number,status\nUTO,A1,stolen\n").unwrap();
        let sum = import(&mut s, &l, "c.csv", &[3; 32], ImportMode::Append).unwrap();
        assert_eq!(sum.total, 1);
        assert_eq!(
            lookup(&s, "UTO", "A1").unwrap().unwrap().status,
            AlertStatus::Stolen
        );
    }

    #[test]
    fn v1_store_is_migrated_keeping_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trust.db");
        {
            let s = TrustStore::open(&p).unwrap();
            // make it exactly a version-1 store with some content
            s.connection()
                .execute_batch(
                    "DROP TABLE alerts; DROP TABLE alert_imports; PRAGMA user_version = 1;
                     DROP TABLE dir_sync;
                     DROP TABLE provenance_dns; ALTER TABLE provenance DROP COLUMN dn_id;
                     ALTER TABLE provenance ADD COLUMN detail TEXT;
                     DROP TABLE dir_entry_objects; DROP TABLE dir_entries; DROP TABLE dir_origins;
                     ALTER TABLE certificates DROP COLUMN withdrawn;
                     ALTER TABLE crls DROP COLUMN withdrawn;
                     ALTER TABLE master_lists DROP COLUMN withdrawn;
                     ALTER TABLE deviation_lists DROP COLUMN withdrawn;
                     DROP INDEX crls_verified_by;
                     ALTER TABLE certificates DROP COLUMN trust;
                     ALTER TABLE certificates DROP COLUMN anchor_sha256;
                     ALTER TABLE certificates DROP COLUMN verified_by;
                     ALTER TABLE master_lists DROP COLUMN anchored;
                     ALTER TABLE master_lists DROP COLUMN anchor_sha256;
                     ALTER TABLE crls DROP COLUMN verified_by;
                     ALTER TABLE certificates DROP COLUMN source_id;
                     CREATE INDEX provenance_object ON provenance(object_sha256);
                     INSERT INTO sources (path, kind, imported_at) VALUES ('x.ml', 'master_list', 1);",
                )
                .unwrap();
        }
        let mut s = TrustStore::open(&p).unwrap();
        let v: i64 = s
            .connection()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, crate::pki::store::SCHEMA_VERSION);
        let n: i64 = s
            .connection()
            .query_row("SELECT COUNT(*) FROM sources", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(info(&s).unwrap(), None);
        let l = parse("issuer,document_number,status\nUTO,A1,lost\n").unwrap();
        import(&mut s, &l, "d.csv", &[4; 32], ImportMode::Replace).unwrap();
        drop(s);
        let s = TrustStore::open(&p).unwrap();
        assert_eq!(info(&s).unwrap().unwrap().entries, 1);
    }
}
