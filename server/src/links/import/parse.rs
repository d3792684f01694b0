//! The import's CSV, parsed as it arrives: bytes go in as they come off the wire, complete
//! rows come out, and nothing else is kept — memory does not grow with the file.
//!
//! A header row names the columns (`url` required; `slug`, `domain`, `title`, `tags` optional,
//! in any order, case-insensitive, a UTF-8 byte-order mark ignored); other columns are
//! ignored. Cells are trimmed; rows whose cells are all empty are skipped. Rows are numbered by
//! the line they start on, counting the header as line 1, as a spreadsheet shows them.

use csv_core::{ReadRecordResult, Reader};
use serde::{Deserialize, Serialize};

/// One row of an import: its line number and the cells that matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    #[serde(rename = "n")]
    pub number: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
}

/// Which [`ImportRow`] field a column fills.
#[derive(Debug, Clone, Copy)]
enum Column {
    Url,
    Slug,
    Domain,
    Title,
    Tags,
    Ignored,
}

/// A push parser over the CSV (`csv-core`, the `csv` crate's engine, with its defaults).
pub struct CsvRows {
    core: Reader,
    fields: Vec<u8>,
    ends: Vec<usize>,
    fields_len: usize,
    ends_len: usize,
    /// The line the record being read started on.
    record_line: u64,
    columns: Option<Vec<Column>>,
    /// Data rows produced so far (all-empty ones not counted).
    rows: u64,
}

impl Default for CsvRows {
    fn default() -> Self {
        Self {
            core: Reader::new(),
            fields: vec![0; 1024],
            ends: vec![0; 16],
            fields_len: 0,
            ends_len: 0,
            record_line: 1,
            columns: None,
            rows: 0,
        }
    }
}

impl CsvRows {
    /// Parses `input`, the next bytes of the file, appending each completed row to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<ImportRow>) -> Result<(), String> {
        self.parse(input, out, false)
    }

    /// The end of the file: completes a last row without a line break. Errors when the file
    /// had no header row with a `url` column.
    pub fn finish(&mut self, out: &mut Vec<ImportRow>) -> Result<(), String> {
        self.parse(&[], out, true)?;
        if self.columns.is_none() {
            return Err(no_url_column());
        }
        Ok(())
    }

    /// Data rows produced so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn parse(&mut self, mut input: &[u8], out: &mut Vec<ImportRow>, at_end: bool) -> Result<(), String> {
        loop {
            let (result, read, written, ended) = self.core.read_record(
                input,
                &mut self.fields[self.fields_len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[read..];
            self.fields_len += written;
            self.ends_len += ended;
            match result {
                ReadRecordResult::InputEmpty if !at_end => return Ok(()),
                // At the end, csv-core is fed empty input until it says `End`.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.fields.resize(self.fields.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => {
                    let line = std::mem::replace(&mut self.record_line, self.core.line());
                    let record = self.take_record(line);
                    self.record(line, record?, out)?;
                }
                ReadRecordResult::End => return Ok(()),
            }
        }
    }

    /// The cells of the record just read, trimmed; the buffers are ready for the next.
    fn take_record(&mut self, line: u64) -> Result<Vec<String>, String> {
        let mut cells = Vec::with_capacity(self.ends_len);
        let mut start = 0;
        for &end in &self.ends[..self.ends_len] {
            let cell = std::str::from_utf8(&self.fields[start..end]).map_err(|e| {
                let what =
                    if self.columns.is_none() { "the header row".to_owned() } else { format!("row {line}") };
                format!("{what} is not readable CSV: invalid UTF-8 ({e})")
            })?;
            cells.push(cell.trim().to_owned());
            start = end;
        }
        self.fields_len = 0;
        self.ends_len = 0;
        Ok(cells)
    }

    fn record(&mut self, line: u64, cells: Vec<String>, out: &mut Vec<ImportRow>) -> Result<(), String> {
        let Some(columns) = &self.columns else {
            let columns: Vec<Column> = cells
                .iter()
                .map(|h| match h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase().as_str() {
                    "url" => Column::Url,
                    "slug" => Column::Slug,
                    "domain" => Column::Domain,
                    "title" => Column::Title,
                    "tags" => Column::Tags,
                    _ => Column::Ignored,
                })
                .collect();
            if !columns.iter().any(|c| matches!(c, Column::Url)) {
                return Err(no_url_column());
            }
            self.columns = Some(columns);
            return Ok(());
        };
        if cells.iter().all(String::is_empty) {
            return Ok(());
        }
        let mut row = ImportRow { number: line, ..ImportRow::default() };
        for (column, cell) in columns.iter().zip(cells) {
            let slot = match column {
                Column::Url => &mut row.url,
                Column::Slug => &mut row.slug,
                Column::Domain => &mut row.domain,
                Column::Title => &mut row.title,
                Column::Tags => &mut row.tags,
                Column::Ignored => continue,
            };
            if !cell.is_empty() {
                *slot = Some(cell);
            }
        }
        self.rows += 1;
        out.push(row);
        Ok(())
    }
}

fn no_url_column() -> String {
    "the CSV has no `url` column (expected a header row: url,slug,domain,title,tags)".to_owned()
}

/// Parses a whole file at once (jobs stored before imports were streamed).
pub fn parse_all(input: &[u8]) -> Result<Vec<ImportRow>, String> {
    let mut parser = CsvRows::default();
    let mut rows = Vec::new();
    parser.feed(input, &mut rows)?;
    parser.finish(&mut rows)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &[u8] =
        b"\xef\xbb\xbfURL,Slug,tags,Extra\nhttps://a.example,a,x;y,z\n\n,,\n\"https://b.example\",\"b, with\nbreak\"\nhttps://c.example";

    #[test]
    fn csv_rows_are_numbered_like_a_spreadsheet_and_blank_rows_skipped() {
        let rows = parse_all(FILE).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].number, 2);
        assert_eq!(rows[0].slug.as_deref(), Some("a"));
        assert_eq!(rows[0].tags.as_deref(), Some("x;y"));
        assert_eq!(rows[1].number, 5);
        assert_eq!(rows[1].url.as_deref(), Some("https://b.example"));
        assert_eq!(rows[1].slug.as_deref(), Some("b, with\nbreak"));
        assert_eq!(rows[2].number, 7, "a quoted line break moves the next row down");
        assert_eq!(rows[2].url.as_deref(), Some("https://c.example"), "no final line break");
        assert!(parse_all(b"link,slug\nx,y\n").unwrap_err().contains("no `url` column"));
        assert!(parse_all(b"").unwrap_err().contains("no `url` column"));
        assert!(parse_all(b"url\n\xff\xfe\n").unwrap_err().contains("row 2 is not readable CSV"));
    }

    #[test]
    fn rows_come_out_the_same_however_the_bytes_are_cut() {
        let whole = parse_all(FILE).unwrap();
        for size in [1, 2, 3, 7, 64] {
            let mut parser = CsvRows::default();
            let mut rows = Vec::new();
            for piece in FILE.chunks(size) {
                parser.feed(piece, &mut rows).unwrap();
            }
            parser.finish(&mut rows).unwrap();
            assert_eq!(rows, whole, "pieces of {size} bytes");
            assert_eq!(parser.rows(), 3);
        }
    }

    #[test]
    fn the_parser_holds_one_row_not_the_file() {
        let mut parser = CsvRows::default();
        let mut rows = Vec::new();
        parser.feed(b"url\n", &mut rows).unwrap();
        for n in 0..10_000 {
            parser.feed(format!("https://example.com/{n}\n").as_bytes(), &mut rows).unwrap();
            assert_eq!(rows.len(), 1);
            rows.clear();
        }
        assert!(parser.fields.len() <= 1024 && parser.ends.len() <= 16);
    }
}
