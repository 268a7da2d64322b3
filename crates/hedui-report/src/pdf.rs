//! The report as a PDF, made in-process: no browser on the server.
//!
//! The PDF is laid out from the report's own HTML ([`crate::render_html`]),
//! so the two never say different things: [`blocks`] reads the page's
//! headings, paragraphs, boxes and tables (the HTML is this crate's own,
//! with a small fixed set of elements), and [`layout`] places them on A4
//! pages with the CSS's margins. Table rows are never split across pages
//! (a row that does not fit starts a new page, under the table's header
//! again); a heading is never left alone at the bottom of a page; every page
//! carries the record id and "第 N 页，共 M 页" in its footer.
//!
//! krilla writes the PDF and embeds only the glyphs the report uses of the
//! CJK font (a subset), with a ToUnicode map, so the text can be searched
//! and extracted. The font is given by the caller as bytes ([`CjkFont`]):
//! this crate reads no file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use krilla::Document;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::raw::{FileRef, TableProvider};
use skrifa::{FontRef, MetadataProvider, string::StringId};

/// Where Debian's CJK font packages put their fonts, in the order a caller
/// should try them: `fonts-noto-cjk`, then `fonts-wqy-microhei`, then
/// `fonts-wqy-zenhei`, then Noto Serif CJK.
pub const DEBIAN_CJK_FONTS: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
];

/// Why no PDF could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdfError {
    /// The font file is not a font krilla can read.
    NotAFont,
    /// The font has no Chinese characters (no glyph for 核对报告).
    NoCjkGlyphs,
    /// krilla could not write the document.
    Write(String),
}

impl fmt::Display for PdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PdfError::NotAFont => write!(f, "not a TrueType/OpenType font or collection"),
            PdfError::NoCjkGlyphs => write!(f, "the font has no Chinese characters"),
            PdfError::Write(e) => write!(f, "cannot write the PDF: {e}"),
        }
    }
}

impl std::error::Error for PdfError {}

/// A CJK font to embed: the file's bytes and the face to use in it.
#[derive(Clone)]
pub struct CjkFont {
    data: Vec<u8>,
    index: u32,
}

impl fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CjkFont({} bytes, face {})", self.data.len(), self.index)
    }
}

impl CjkFont {
    /// Reads a font file's bytes (`.ttf`, `.otf`, `.ttc`). In a collection
    /// the Simplified Chinese face is chosen (its family name ends in
    /// "SC", as in Noto Sans CJK SC), else the first face that has the
    /// report's characters.
    pub fn from_bytes(data: Vec<u8>) -> Result<CjkFont, PdfError> {
        let count = match FileRef::new(&data).map_err(|_| PdfError::NotAFont)? {
            FileRef::Font(_) => 1,
            FileRef::Collection(c) => c.len(),
        };
        let mut usable = Vec::new();
        for index in 0..count {
            let Ok(font) = FontRef::from_index(&data, index) else {
                continue;
            };
            let charmap = font.charmap();
            if "核对报告第页".chars().all(|c| charmap.map(c).is_some()) {
                let family: String = font
                    .localized_strings(StringId::FAMILY_NAME)
                    .english_or_first()
                    .map(|s| s.chars().collect())
                    .unwrap_or_default();
                usable.push((index, family));
            }
        }
        if count == 0 {
            return Err(PdfError::NotAFont);
        }
        let (index, _) = usable
            .iter()
            .find(|(_, family)| family.ends_with(" SC") && !family.contains("Mono"))
            .or(usable.first())
            .cloned()
            .ok_or(PdfError::NoCjkGlyphs)?;
        Ok(CjkFont { data, index })
    }
}

/// The HTML report (as [`crate::render_html`] gives it) as an A4 PDF.
pub fn html_to_pdf(html: &str, record_id: &str, font: &CjkFont) -> Result<Vec<u8>, PdfError> {
    let metrics = Metrics::new(font)?;
    let pages = layout(&blocks(html), &metrics);
    write_pdf(&pages, record_id, font, &metrics)
}

// ---------------------------------------------------------------------------
// The report's HTML as blocks
// ---------------------------------------------------------------------------

/// What kind of text a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// `<h1>`: the title.
    Title,
    /// `<div class="bureau">`: the bureau above the title.
    Bureau,
    /// `<h2>`: a section.
    Heading,
    /// `<h3>`: a member.
    Subheading,
    /// `<p>`.
    Para,
    /// `<p class="muted">`, the footer: smaller.
    Small,
    /// `<div class="verdict">`, `<div class="notice">`: text in a frame.
    Boxed,
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cell {
    /// Its text; `\n` where the HTML has `<br>` or a new item.
    pub text: String,
    /// How many columns it spans.
    pub span: usize,
    /// A `<th>`.
    pub head: bool,
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// The cells, left to right.
    pub cells: Vec<Cell>,
    /// In `<thead>`: repeated at the top of each page the table runs on.
    pub header: bool,
    /// `class="attention"`: shaded.
    pub attention: bool,
}

/// A part of the page, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A run of text.
    Text(TextKind, String),
    /// A table: column widths in per cent (0 when the HTML gives none), rows,
    /// and whether it is the signature table (no borders, tall rows).
    Table {
        /// Column widths in per cent.
        widths: Vec<f32>,
        /// The rows.
        rows: Vec<Row>,
        /// The signature table.
        sign: bool,
    },
}

enum Token<'a> {
    Text(&'a str),
    Tag {
        name: String,
        closing: bool,
        attrs: &'a str,
    },
}

fn tokens(html: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        match rest.find('<') {
            Some(0) => {
                let end = rest.find('>').unwrap_or(rest.len() - 1);
                let inner = &rest[1..end];
                let closing = inner.starts_with('/');
                let inner = inner.trim_start_matches('/');
                let name_end = inner
                    .find(|c: char| c.is_whitespace() || c == '/')
                    .unwrap_or(inner.len());
                out.push(Token::Tag {
                    name: inner[..name_end].to_ascii_lowercase(),
                    closing,
                    attrs: &inner[name_end..],
                });
                rest = &rest[end + 1..];
            }
            Some(at) => {
                out.push(Token::Text(&rest[..at]));
                rest = &rest[at..];
            }
            None => {
                out.push(Token::Text(rest));
                rest = "";
            }
        }
    }
    out
}

fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let at = attrs.find(&format!("{name}=\""))? + name.len() + 2;
    let end = attrs[at..].find('"')? + at;
    Some(&attrs[at..end])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Where `<br>` was, until whitespace has been collapsed.
const BREAK: char = '\u{2028}';

/// Collapses HTML whitespace (the source's own line breaks) and turns the
/// break marks into `\n`.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c == BREAK {
            while out.ends_with(' ') {
                out.pop();
            }
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            space = false;
        } else if c.is_ascii_whitespace() {
            space = !out.is_empty() && !out.ends_with('\n');
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out.trim_end().to_owned()
}

/// The blocks of the report's HTML, in order.
pub fn blocks(html: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut skip = 0usize;
    let mut text: Option<(TextKind, String)> = None;
    // (div depth at which the text block opened, kind)
    let mut div_block: Option<usize> = None;
    let mut depth = 0usize;
    let mut table: Option<(Vec<f32>, Vec<Row>, bool)> = None;
    let mut row: Option<Row> = None;
    let mut cell: Option<Cell> = None;
    let mut in_head = false;
    let flush = |text: &mut Option<(TextKind, String)>, out: &mut Vec<Block>| {
        if let Some((kind, t)) = text.take() {
            let t = clean(&t);
            if !t.is_empty() {
                out.push(Block::Text(kind, t));
            }
        }
    };
    for tok in tokens(html) {
        match tok {
            Token::Text(t) => {
                if skip > 0 {
                    continue;
                }
                let t = unescape(t);
                if let Some(c) = cell.as_mut() {
                    c.text.push_str(&t);
                } else if let Some((_, buf)) = text.as_mut() {
                    buf.push_str(&t);
                }
            }
            Token::Tag { name, closing, attrs } => {
                let class = attr(attrs, "class").unwrap_or("");
                match (name.as_str(), closing) {
                    ("style" | "title", false) => skip += 1,
                    ("style" | "title", true) => skip = skip.saturating_sub(1),
                    ("h1" | "h2" | "h3" | "p" | "footer", false) => {
                        flush(&mut text, &mut out);
                        let kind = match name.as_str() {
                            "h1" => TextKind::Title,
                            "h2" => TextKind::Heading,
                            "h3" => TextKind::Subheading,
                            "footer" => TextKind::Small,
                            _ if class.contains("muted") => TextKind::Small,
                            _ => TextKind::Para,
                        };
                        text = Some((kind, String::new()));
                    }
                    ("h1" | "h2" | "h3" | "p" | "footer", true) if div_block.is_none() => {
                        flush(&mut text, &mut out);
                    }
                    ("div", false) if cell.is_some() => {
                        depth += 1;
                        if let Some(c) = cell.as_mut() {
                            c.text.push(BREAK);
                        }
                    }
                    ("div", true) if cell.is_some() => depth = depth.saturating_sub(1),
                    ("div", false) => {
                        depth += 1;
                        if div_block.is_some() {
                            if let Some((_, buf)) = text.as_mut() {
                                buf.push(BREAK);
                            }
                        } else if class.contains("verdict") || class.contains("notice") {
                            flush(&mut text, &mut out);
                            div_block = Some(depth);
                            text = Some((TextKind::Boxed, String::new()));
                        } else if class.contains("bureau") {
                            flush(&mut text, &mut out);
                            div_block = Some(depth);
                            text = Some((TextKind::Bureau, String::new()));
                        }
                    }
                    ("div", true) => {
                        if div_block == Some(depth) {
                            div_block = None;
                            flush(&mut text, &mut out);
                        }
                        depth = depth.saturating_sub(1);
                    }
                    ("br", _) => {
                        if let Some(c) = cell.as_mut() {
                            c.text.push(BREAK);
                        } else if let Some((_, buf)) = text.as_mut() {
                            buf.push(BREAK);
                        }
                    }
                    ("table", false) => {
                        flush(&mut text, &mut out);
                        table = Some((Vec::new(), Vec::new(), class.contains("sign")));
                    }
                    ("col", _) => {
                        let width = attr(attrs, "style")
                            .and_then(|s| s.strip_prefix("width:"))
                            .and_then(|s| s.trim_end_matches('%').parse::<f32>().ok())
                            .unwrap_or(0.0);
                        if let Some((widths, _, _)) = table.as_mut() {
                            widths.push(width);
                        }
                    }
                    ("thead", open) => in_head = !open,
                    ("tr", false) => {
                        row = Some(Row {
                            cells: Vec::new(),
                            header: in_head,
                            attention: class.contains("attention"),
                        });
                    }
                    ("th" | "td", false) => {
                        cell = Some(Cell {
                            text: String::new(),
                            span: attr(attrs, "colspan").and_then(|s| s.parse().ok()).unwrap_or(1).max(1),
                            head: name == "th",
                        });
                    }
                    ("th" | "td", true) => {
                        if let (Some(mut c), Some(r)) = (cell.take(), row.as_mut()) {
                            c.text = clean(&c.text);
                            r.cells.push(c);
                        }
                    }
                    ("tr", true) => {
                        if let (Some(r), Some((_, rows, _))) = (row.take(), table.as_mut()) {
                            rows.push(r);
                        }
                    }
                    ("table", true) => {
                        if let Some((widths, rows, sign)) = table.take() {
                            out.push(Block::Table { widths, rows, sign });
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    flush(&mut text, &mut out);
    out
}

// ---------------------------------------------------------------------------
// Layout on A4
// ---------------------------------------------------------------------------

/// A4 in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
/// 15 mm, as the CSS's `@page` margin.
const MARGIN: f32 = 42.52;
/// The content's bottom edge: the footer sits below it.
const BOTTOM: f32 = PAGE_H - MARGIN - 8.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const PAD: f32 = 2.6;

/// Advance widths of the font's glyphs, for line breaking.
struct Metrics<'a> {
    charmap: Charmap<'a>,
    glyphs: GlyphMetrics<'a>,
    upem: f32,
    cache: RefCell<HashMap<char, f32>>,
}

impl<'a> Metrics<'a> {
    fn new(font: &'a CjkFont) -> Result<Self, PdfError> {
        let f = FontRef::from_index(&font.data, font.index).map_err(|_| PdfError::NotAFont)?;
        let upem = f32::from(f.head().map_err(|_| PdfError::NotAFont)?.units_per_em()).max(1.0);
        Ok(Metrics {
            charmap: f.charmap(),
            glyphs: f.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem,
            cache: RefCell::new(HashMap::new()),
        })
    }

    /// The width of `c` at 1 pt.
    fn advance(&self, c: char) -> f32 {
        *self.cache.borrow_mut().entry(c).or_insert_with(|| {
            let gid = self.charmap.map(c).unwrap_or_default();
            self.glyphs
                .advance_width(gid)
                .map(|w| w / self.upem)
                .unwrap_or(if c.is_ascii() { 0.5 } else { 1.0 })
        })
    }

    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// `text` broken into lines no wider than `width`: at `\n`, at a space
    /// when the line would overflow, and between any two characters when a
    /// word is longer than the line (Chinese breaks anywhere).
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            let mut w = 0.0;
            let mut last_space: Option<usize> = None;
            for c in para.chars() {
                let cw = self.advance(c) * size;
                // Closing punctuation hangs at the end of the line rather
                // than start the next one (a light 避头尾).
                let closing = "）)，,。.、；;：:」』”’》!！?？".contains(c);
                if w + cw > width && !line.is_empty() && !closing {
                    match last_space {
                        Some(at) if c != ' ' && at > 0 => {
                            let rest = line.split_off(at);
                            lines.push(line.trim_end().to_owned());
                            line = rest.trim_start().to_owned();
                        }
                        _ => lines.push(std::mem::take(&mut line)),
                    }
                    w = self.width(&line, size);
                    last_space = None;
                    if c == ' ' {
                        continue;
                    }
                }
                if c == ' ' {
                    last_space = Some(line.len());
                } else if !c.is_ascii() {
                    // After a Chinese character any break is good.
                    last_space = None;
                }
                line.push(c);
                w += cw;
            }
            lines.push(line);
        }
        lines
    }
}

/// What is drawn on a page.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// Text with its baseline at `y`.
    Text { x: f32, y: f32, size: f32, text: String },
    /// A rectangle, filled with a grey (0 black … 255 white) and/or
    /// stroked.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<u8>,
        stroke: Option<f32>,
    },
}

struct Pages {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pages {
    fn new() -> Self {
        Pages {
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `h` more points fit on this one.
    fn need(&mut self, h: f32) {
        if self.y + h > BOTTOM && self.y > MARGIN {
            self.new_page();
        }
    }

    fn op(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn text(&mut self, x: f32, top: f32, size: f32, text: &str) {
        if !text.is_empty() {
            self.op(Op::Text {
                x,
                y: top + size * 1.05,
                size,
                text: text.to_owned(),
            });
        }
    }
}

fn line_h(size: f32) -> f32 {
    size * 1.42
}

fn layout(blocks: &[Block], m: &Metrics<'_>) -> Vec<Vec<Op>> {
    let mut p = Pages::new();
    for block in blocks {
        match block {
            Block::Text(kind, text) => {
                let (size, before, after) = match kind {
                    TextKind::Title => (16.0, 4.0, 8.0),
                    TextKind::Bureau => (11.0, 0.0, 2.0),
                    TextKind::Heading => (11.5, 10.0, 5.0),
                    TextKind::Subheading => (9.5, 6.0, 3.0),
                    TextKind::Para | TextKind::Boxed => (9.0, 2.0, 4.0),
                    TextKind::Small => (7.5, 2.0, 4.0),
                };
                let pad = if *kind == TextKind::Boxed { 5.0 } else { 0.0 };
                let lines = m.wrap(text, size, CONTENT_W - 2.0 * pad);
                let h = lines.len() as f32 * line_h(size) + 2.0 * pad;
                // A heading keeps its first following lines with it.
                let keep = match kind {
                    TextKind::Heading | TextKind::Subheading => 60.0,
                    _ => 0.0,
                };
                p.y += before;
                p.need(h + keep);
                if *kind == TextKind::Boxed {
                    p.op(Op::Rect {
                        x: MARGIN,
                        y: p.y,
                        w: CONTENT_W,
                        h,
                        fill: None,
                        stroke: Some(1.2),
                    });
                }
                let top = p.y + pad;
                for (n, line) in lines.iter().enumerate() {
                    let x = match kind {
                        TextKind::Title | TextKind::Bureau => MARGIN + (CONTENT_W - m.width(line, size)) / 2.0,
                        _ => MARGIN + pad,
                    };
                    p.text(x, top + n as f32 * line_h(size), size, line);
                }
                p.y += h;
                if *kind == TextKind::Heading {
                    p.op(Op::Rect {
                        x: MARGIN,
                        y: p.y + 0.5,
                        w: CONTENT_W,
                        h: 0.0,
                        fill: None,
                        stroke: Some(1.0),
                    });
                }
                p.y += after;
            }
            Block::Table { widths, rows, sign } => table(&mut p, m, widths, rows, *sign),
        }
    }
    p.pages
}

/// The x offsets and widths of a table's columns.
fn columns(widths: &[f32], rows: &[Row]) -> Vec<f32> {
    let n = rows
        .iter()
        .map(|r| r.cells.iter().map(|c| c.span).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(widths.len())
        .max(1);
    let given: f32 = widths.iter().sum();
    let unset = (0..n).filter(|i| widths.get(*i).copied().unwrap_or(0.0) <= 0.0).count();
    let share = if unset > 0 {
        (100.0 - given).max(0.0) / unset as f32
    } else {
        0.0
    };
    let pct: Vec<f32> = (0..n)
        .map(|i| match widths.get(i).copied().unwrap_or(0.0) {
            w if w > 0.0 => w,
            _ => share,
        })
        .collect();
    let total: f32 = pct.iter().sum::<f32>().max(1.0);
    pct.iter().map(|w| CONTENT_W * w / total).collect()
}

fn table(p: &mut Pages, m: &Metrics<'_>, widths: &[f32], rows: &[Row], sign: bool) {
    const SIZE: f32 = 8.0;
    let cols = columns(widths, rows);
    // Each row: its cells as (x, width, lines), and its height.
    let laid: Vec<LaidRow> = rows
        .iter()
        .map(|r| {
            let mut x = MARGIN;
            let mut col = 0;
            let mut cells = Vec::new();
            let mut lines_max = 1;
            for c in &r.cells {
                let w: f32 = cols.iter().skip(col).take(c.span).sum();
                let lines = m.wrap(&c.text, SIZE, (w - 2.0 * PAD).max(SIZE));
                lines_max = lines_max.max(lines.len());
                cells.push((x, w, lines));
                x += w;
                col += c.span;
            }
            let mut h = lines_max as f32 * line_h(SIZE) + 2.0 * PAD;
            if sign {
                h = h.max(30.0);
            }
            (cells, h)
        })
        .collect();
    let header: Vec<usize> = (0..rows.len()).filter(|i| rows[*i].header).collect();
    let header_h: f32 = header.iter().map(|i| laid[*i].1).sum();
    p.y += 1.0;
    for (i, row) in rows.iter().enumerate() {
        let h = laid[i].1;
        if p.y + h > BOTTOM && p.y > MARGIN {
            p.new_page();
            if !row.header {
                for &hi in &header {
                    draw_row(p, &rows[hi], &laid[hi], sign, SIZE);
                }
            }
        } else if row.header && i == 0 {
            // Do not leave the header alone at the bottom of a page.
            let first_body = laid.get(header.len()).map(|r| r.1).unwrap_or(0.0);
            p.need(header_h + first_body);
        }
        draw_row(p, row, &laid[i], sign, SIZE);
    }
    p.y += 4.0;
}

/// A row laid out: each cell's x, width and lines, and the row's height.
type LaidRow = (Vec<(f32, f32, Vec<String>)>, f32);

fn draw_row(p: &mut Pages, row: &Row, laid: &LaidRow, sign: bool, size: f32) {
    let (cells, h) = laid;
    for ((x, w, lines), cell) in cells.iter().zip(&row.cells) {
        let fill = if sign {
            None
        } else if row.header {
            Some(225)
        } else if row.attention {
            Some(240)
        } else if cell.head {
            Some(238)
        } else {
            None
        };
        p.op(Op::Rect {
            x: *x,
            y: p.y,
            w: *w,
            h: *h,
            fill,
            stroke: (!sign).then_some(0.6),
        });
        for (n, line) in lines.iter().enumerate() {
            p.text(x + PAD, p.y + PAD + n as f32 * line_h(size), size, line);
        }
    }
    p.y += h;
}

// ---------------------------------------------------------------------------
// Writing the PDF
// ---------------------------------------------------------------------------

fn write_pdf(pages: &[Vec<Op>], record_id: &str, font: &CjkFont, m: &Metrics<'_>) -> Result<Vec<u8>, PdfError> {
    let kfont = Font::new(font.data.clone().into(), font.index).ok_or(PdfError::NotAFont)?;
    let mut doc = Document::new();
    let total = pages.len();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Write("page size".into()))?;
    let id: String = record_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    for (n, ops) in pages.iter().enumerate() {
        let mut page = doc.start_page_with(settings.clone());
        let mut s = page.surface();
        let black = Fill::default();
        for op in ops {
            match op {
                Op::Text { x, y, size, text } => {
                    s.set_stroke(None);
                    s.set_fill(Some(black.clone()));
                    s.draw_text(
                        Point::from_xy(*x, *y),
                        kfont.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Rect {
                    x,
                    y,
                    w,
                    h,
                    fill,
                    stroke,
                } => {
                    let mut pb = PathBuilder::new();
                    if *h == 0.0 {
                        pb.move_to(*x, *y);
                        pb.line_to(x + w, *y);
                    } else if let Some(r) = Rect::from_xywh(*x, *y, *w, *h) {
                        pb.push_rect(r);
                    }
                    let Some(path) = pb.finish() else { continue };
                    s.set_fill(fill.map(|g| Fill {
                        paint: luma::Color::new(g).into(),
                        opacity: NormalizedF32::ONE,
                        rule: Default::default(),
                    }));
                    s.set_stroke(stroke.map(|width| Stroke {
                        paint: luma::Color::new(60).into(),
                        width,
                        ..Default::default()
                    }));
                    if fill.is_some() || stroke.is_some() {
                        s.draw_path(&path);
                    }
                }
            }
        }
        // The footer: the record, and the page of how many.
        s.set_stroke(None);
        s.set_fill(Some(black.clone()));
        let y = PAGE_H - MARGIN + 10.0;
        s.draw_text(
            Point::from_xy(MARGIN, y),
            kfont.clone(),
            7.5,
            &format!("居民家庭经济状况核对报告 · 记录编号 {id}"),
            false,
            TextDirection::Auto,
        );
        let number = format!("第 {} 页，共 {total} 页", n + 1);
        let width = m.width(&number, 7.5);
        s.draw_text(
            Point::from_xy(PAGE_W - MARGIN - width, y),
            kfont.clone(),
            7.5,
            &number,
            false,
            TextDirection::Auto,
        );
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

#[cfg(test)]
mod tests;
