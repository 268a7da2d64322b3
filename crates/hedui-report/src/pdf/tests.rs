//! The tests of `pdf`.

use super::*;
use crate::fixture;
use crate::tests::context;

/// The first Debian CJK font installed; `None` (with a notice) when there
/// is none and CI is not set. In CI a missing font fails the test.
fn font() -> Option<CjkFont> {
    for path in DEBIAN_CJK_FONTS {
        if let Ok(data) = std::fs::read(path) {
            return Some(CjkFont::from_bytes(data).expect("a Debian CJK font"));
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "no CJK font installed (apt-get install fonts-noto-cjk); CI must have one"
    );
    eprintln!("NOTICE: skipped, no CJK font installed (apt-get install fonts-noto-cjk)");
    None
}

/// The PDF's text as `pdftotext -layout` extracts it.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("hedui-pdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.pdf", pdf.len()));
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&file)
        .arg("-")
        .output();
    let _ = std::fs::remove_file(&file);
    match out {
        Ok(out) => {
            assert!(
                out.status.success(),
                "pdftotext: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "pdftotext is missing (apt-get install poppler-utils); CI must have it"
            );
            eprintln!("NOTICE: skipped, pdftotext is not installed (apt-get install poppler-utils)");
            None
        }
    }
}

#[test]
fn the_pdf_is_a4_and_its_text_has_the_household_the_verdict_and_every_department() {
    let Some(font) = font() else { return };
    for record in [fixture::rich_record(), fixture::incomplete_record()] {
        let pdf = crate::render_pdf(&record, &context(), Some(&crate::tests::reviews()), &font).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        if let Some(path) = std::env::var_os("HEDUI_KEEP_PDF") {
            std::fs::write(path, &pdf).unwrap();
        }
        let raw = String::from_utf8_lossy(&pdf);
        let media = raw.split("/MediaBox").nth(1).unwrap_or_default();
        assert!(
            media.trim_start().starts_with("[0 0 595.28 841.89]"),
            "A4: {}",
            &media[..40.min(media.len())]
        );
        // Only a subset of the font is embedded: far less than the file.
        assert!(pdf.len() < 1_000_000, "{} bytes", pdf.len());
        let Some(text) = pdftotext(&pdf) else { return };
        let household = record.household.as_ref().unwrap().household_ref.clone();
        assert!(text.contains(&household), "household number {household}:\n{text}");
        let verdict = hedui_i18n::verdict(hedui_i18n::Lang::Zh, record.verdict);
        assert!(text.contains(&format!("核对结论：{verdict}")), "{verdict}:\n{text}");
        for s in &record.sources {
            let name = hedui_i18n::department(hedui_i18n::Lang::Zh, s.department);
            let outcome = hedui_i18n::outcome(hedui_i18n::Lang::Zh, s.outcome);
            assert!(
                text.lines().any(|l| l.contains(&name) && l.contains(&outcome)),
                "no row {name} {outcome}:\n{text}"
            );
        }
        let pages = text.matches('\u{c}').count() + 1;
        assert!(
            text.contains(&format!("第 1 页，共 {pages} 页")) || text.contains("第 1 页，共"),
            "{text}"
        );
        for line in text.lines() {
            assert!(
                !hedui_i18n::has_english_sentence(line) || line.contains("hedui record"),
                "{line}"
            );
        }
    }
}

#[test]
fn no_table_row_is_split_across_pages() {
    let Some(font) = font() else { return };
    let metrics = Metrics::new(&font).unwrap();
    let mut record = fixture::rich_record();
    // Enough reasons to run the table over several pages.
    let more = record.reasons.clone();
    for _ in 0..6 {
        record.reasons.extend(more.clone());
    }
    let html = crate::html::render(&record, &context(), None);
    let pages = layout(&blocks(&html), &metrics);
    assert!(pages.len() >= 3);
    for page in &pages {
        for op in page {
            if let Op::Rect { y, h, .. } = op {
                assert!(
                    *y >= MARGIN - 0.01 && y + h <= BOTTOM + 0.01,
                    "a box crosses the page edge: {op:?}"
                );
            }
        }
    }
    // The reasons table's header is repeated on the pages it runs on.
    let headers = pages
        .iter()
        .filter(|p| {
            p.iter()
                .any(|op| matches!(op, Op::Text { text, .. } if text == "依据说明"))
        })
        .count();
    assert!(headers >= 2, "{headers}");
}

#[test]
fn the_html_becomes_blocks_with_tables_and_breaks() {
    let html = "<h2>一、授权书</h2>\n<p class=\"muted\">a &amp; b<br>c</p><table><colgroup><col style=\"width:30%\"><col></colgroup><thead><tr><th>部门</th><th>结果</th></tr></thead><tbody><tr class=\"attention\"><td>税务局</td><td><div class=\"item\">超时</div><div class=\"item\">x</div></td></tr></tbody></table>";
    let b = blocks(html);
    assert_eq!(b[0], Block::Text(TextKind::Heading, "一、授权书".into()));
    assert_eq!(b[1], Block::Text(TextKind::Small, "a & b\nc".into()));
    let Block::Table { widths, rows, sign } = &b[2] else {
        panic!("{b:?}")
    };
    assert_eq!(widths, &[30.0, 0.0]);
    assert!(!sign && rows[0].header && rows[1].attention);
    assert_eq!(rows[1].cells[1].text, "超时\nx");
}

#[test]
fn a_file_that_is_not_a_font_or_has_no_chinese_is_refused() {
    assert_eq!(
        CjkFont::from_bytes(b"not a font".to_vec()).unwrap_err(),
        PdfError::NotAFont
    );
    if let Ok(data) = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") {
        assert_eq!(CjkFont::from_bytes(data).unwrap_err(), PdfError::NoCjkGlyphs);
    }
}
