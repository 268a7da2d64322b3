#!/usr/bin/env bash
# Prints the sample verification reports to A4 PDF with headless Chromium and
# turns every page into a PNG, so a person can look at what the printer will
# get. Installs Chromium, a CJK font and poppler-utils from Debian if missing
# (needs root or sudo for that).
#
#   crates/hedui-report/check-print.sh [OUTDIR]      # default /tmp
#
# Writes OUTDIR/report.{html,pdf} (complete record, DOES_NOT_MEET) and
# OUTDIR/report-incomplete.{html,pdf} (tax timed out, PBoC unreachable), and
# OUTDIR/report-N.png, OUTDIR/report-incomplete-N.png at 60 dpi.
set -euo pipefail

out=${1:-/tmp}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-report}

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
fc-list 2>/dev/null | grep -q "Noto Sans CJK SC" || need+=(fonts-noto-cjk)
if ((${#need[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing ${need[*]}" >&2
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${need[@]}"
fi

mkdir -p "$out"
cd "$root"
cargo run -q -p hedui-report --example sample -- "$out/report.html"
cargo run -q -p hedui-report --example sample -- --incomplete "$out/report-incomplete.html"

for name in report report-incomplete; do
    profile=$(mktemp -d)
    # --no-pdf-header-footer: the report prints its own page numbers and record
    # id in the page margins; Chromium's would add the file path and date.
    chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run \
        --user-data-dir="$profile" --no-pdf-header-footer \
        --print-to-pdf="$out/$name.pdf" "file://$out/$name.html" 2>/dev/null
    rm -rf "$profile"
    rm -f "$out/$name"-*.png
    pdftoppm -png -r 60 "$out/$name.pdf" "$out/$name"
    pages=$(pdfinfo "$out/$name.pdf" | awk '/^Pages:/ {print $2}')
    size=$(pdfinfo "$out/$name.pdf" | awk -F': *' '/^Page size:/ {print $2}')
    echo "$out/$name.pdf: $pages page(s), $size"
    # Every font must be embedded and CJK must come from a real CJK font.
    pdffonts "$out/$name.pdf" | tail -n +3 | awk '{print "  font: " $1}' | sort -u
done
ls "$out"/report*.png
