#!/usr/bin/env python3
"""Writes the .xls and .ods fixtures of tests/formats.rs from the first
three households of deploy/examples/roster.csv, rows in a shuffled order
(members of a household not adjacent), dates as Excel shows them.

    pip install xlwt
    python3 crates/hedui-roster/tests/data/make_workbooks.py

rust_xlsxwriter writes only .xlsx, so these two are committed; this script
is how they were made.
"""
import csv
import os
import random
import zipfile
from xml.sax.saxutils import escape

import xlwt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..", "..")

with open(os.path.join(ROOT, "deploy/examples/roster.csv"), encoding="utf-8-sig") as f:
    rows = list(csv.reader(f))
header, body = rows[0], [r for r in rows[1:] if r[0] in ("DJ-0001", "DJ-0002", "DJ-0003")]
random.Random(7).shuffle(body)
for r in body:
    for i in (10, 11):
        if r[i]:
            y, m, d = r[i].split("-")
            r[i] = f"{int(y)}/{int(m)}/{int(d)}"
rows = [header] + body

with open(os.path.join(HERE, "shuffled.csv"), "w", encoding="utf-8", newline="") as f:
    csv.writer(f).writerows(rows)

book = xlwt.Workbook(encoding="utf-8")
sheet = book.add_sheet("花名册")
for r, row in enumerate(rows):
    for c, cell in enumerate(row):
        if cell:
            sheet.write(r, c, cell)
book.save(os.path.join(HERE, "shuffled.xls"))

cells = []
for row in rows:
    tds = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p></table:table-cell>'
        if c
        else "<table:table-cell/>"
        for c in row
    )
    cells.append(f"<table:table-row>{tds}</table:table-row>")
content = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:body><office:spreadsheet><table:table table:name="花名册">'
    + "".join(cells)
    + "</table:table></office:spreadsheet></office:body></office:document-content>"
)
manifest = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
with zipfile.ZipFile(os.path.join(HERE, "shuffled.ods"), "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
    z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
