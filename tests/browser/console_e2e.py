"""The caseworkers' console end to end, in a real Chromium, signed in by a
client certificate. Driven by tests/console_browser.rs, which starts
`hedui demo --console` and passes what this script needs as JSON:

    python3 console_e2e.py CASE.json

CASE.json: {"url", "ca", "pki", "household", "roster", "screenshots", "out"}.
Prints one line per step; exits non-zero with the failing step on error.
"""

import json
import re
import subprocess
import sys
import urllib.parse

from playwright.sync_api import sync_playwright

VERDICTS = ["符合条件", "不符合条件", "需人工复核", "核对不完整"]


def step(name):
    print(f"step: {name}", flush=True)


def main():
    case = json.load(open(sys.argv[1], encoding="utf-8"))
    url = case["url"].rstrip("/")
    pki = case["pki"]
    shots = case["screenshots"]
    out = case["out"]
    h = case["household"]

    def cert(role):
        return [{"origin": url, "certPath": f"{pki}/{role}.crt", "keyPath": f"{pki}/{role}.key"}]

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        viewport = {"width": 1366, "height": 768}
        cw = browser.new_context(client_certificates=cert("caseworker"), ignore_https_errors=True, viewport=viewport)
        page = cw.new_page()

        step("home")
        page.goto(url + "/")
        assert "工作台" in page.title(), page.title()
        page.screenshot(path=f"{shots}/home.png")

        step("new verification: an empty form names every missing field in Chinese")
        page.goto(url + "/verify/new")
        assert page.title().startswith("新建核对"), page.title()
        page.click("button[type=submit]")
        page.wait_for_load_state()
        errors = page.locator(".errors-summary").inner_text()
        assert "户编号" in errors and "请选择" in errors, errors
        assert not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,} [A-Za-z]{3,}", errors), f"English in errors: {errors}"

        step("new verification: a whole household")
        page.goto(url + "/verify/new")
        page.fill("#f-household_ref", h["household_ref"])
        page.select_option("#f-residence", str(h["residence"]))
        page.select_option("#f-purpose", "1")
        page.fill("#f-authorization_ref", h["form_number"])
        page.fill("#f-valid_until", h["valid_until"])
        page.fill("#f-scan_sha256", h["scan_sha256"])
        members = h["members"]
        while page.locator("tr.member").count() < len(members):
            page.click("#add-member")
        for i, m in enumerate(members):
            row = page.locator("tr.member").nth(i)
            row.locator("input[name=m_name]").fill(m["name"])
            row.locator("input[name=m_id]").fill(m["id_number"])
            row.locator("select[name=m_relation]").select_option(str(m["relation"]))
            row.locator("select[name=m_incapable]").select_option("1" if m["lacks_capacity"] else "0")
            row.locator("select[name=m_signs]").select_option("1" if m["signs"] else "0")
        guardians = h["guardians"]
        while page.locator("tr.guardian").count() < max(1, len(guardians)):
            page.click("#add-guardian")
        for j, g in enumerate(guardians):
            row = page.locator("tr.guardian").nth(j)
            row.locator("input[name=g_name]").fill(g["name"])
            row.locator("input[name=g_id]").fill(g["id_number"])
            row.locator("input[name=g_for]").fill(",".join(str(x) for x in g["positions"]))
        page.screenshot(path=f"{shots}/verify.png", full_page=False)
        # A double click submits once (the script disables the button).
        page.dblclick("button[type=submit]")
        page.wait_for_url(re.compile(r".*/records/[0-9a-f-]{36}$"), timeout=60000)
        record_url = page.url
        record_id = record_url.rsplit("/", 1)[1]
        body = page.locator("main").inner_text()
        verdict = next((v for v in VERDICTS if v in page.locator(".verdict .badge").inner_text()), None)
        assert verdict, body[:400]
        assert h["household_ref"] in body
        page.screenshot(path=f"{shots}/record.png")
        print(f"record {record_id}: {verdict}", flush=True)

        step("the report, printed to PDF by the browser")
        rep = cw.new_page()
        rep.goto(f"{url}/records/{record_id}/report")
        assert "核对报告" in rep.title() or "核对报告" in rep.content()
        rep.pdf(path=f"{out}/report-browser.pdf", format="A4", print_background=True)
        text = subprocess.run(["pdftotext", "-layout", f"{out}/report-browser.pdf", "-"], capture_output=True, text=True, check=True).stdout
        assert h["household_ref"] in text, text[:500]
        assert verdict in text, text[:500]
        rep.close()

        step("download the PDF made by the hub")
        with page.expect_download() as d:
            page.click("text=下载 PDF")
        d.value.save_as(f"{out}/report-hub.pdf")
        text = subprocess.run(["pdftotext", f"{out}/report-hub.pdf", "-"], capture_output=True, text=True, check=True).stdout
        assert h["household_ref"] in text and verdict in text, text[:500]

        step("review")
        page.select_option("#f-outcome", "1")
        page.click("form.review button[type=submit]")
        page.wait_for_url(record_url)
        assert "确认" in page.locator("main").inner_text()

        step("a review without its note is refused next to the field")
        page.select_option("#f-outcome", "3")
        page.click("form.review button[type=submit]")
        page.wait_for_load_state()
        assert "备注" in page.locator(".errors-summary").inner_text()
        page.goto(record_url)

        step("re-check")
        page.locator("form.recheck input[type=checkbox]").first.check()
        page.click("form.recheck button[type=submit]")
        page.wait_for_url(re.compile(r".*/records/[0-9a-f-]{36}$"), timeout=60000)
        assert page.url != record_url, "a re-check gives a new version"
        assert "第 2 版" in page.locator("main").inner_text()

        step("batch: upload a roster and watch it reach 100 %")
        page.goto(url + "/batches")
        page.set_input_files("#f-roster", case["roster"])
        page.select_option("#f-purpose", "1")
        page.fill("#f-label", "浏览器测试批次")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/batches/[0-9a-f-]{36}$"), timeout=60000)
        # (No wait_for_function: the page's CSP forbids evaluating strings.)
        page.wait_for_selector("#p-percent:text-is('100')", timeout=120000)
        page.wait_for_selector("#progress[data-running='0']", timeout=120000)
        page.wait_for_load_state()
        page.screenshot(path=f"{shots}/batch.png")
        with page.expect_download() as d:
            page.click("text=下载结果（Excel）")
        d.value.save_as(f"{out}/results.xlsx")
        with page.expect_download() as d:
            page.click("text=下载结果（CSV）")
        d.value.save_as(f"{out}/results.csv")
        csv = open(f"{out}/results.csv", encoding="utf-8-sig").read()
        assert "DJ-0001" in csv and "未完成" not in csv, csv[:400]

        step("records list masks ID numbers")
        page.goto(url + "/records")
        page.screenshot(path=f"{shots}/records.png")
        applicant = members[0]["id_number"]
        assert applicant not in page.content()

        step("refusals: a caseworker is refused the auditor pages")
        r = page.goto(url + "/audit")
        assert r.status == 403 and "无权访问" in page.content()

        step("refusals: a POST without a token")
        r = cw.request.post(url + "/verify", form={"household_ref": "X"})
        assert r.status == 403, r.status

        step("refusals: a POST from another site")
        r = cw.request.post(url + "/verify", form={"household_ref": "X"}, headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status == 403, r.status

        step("refusals: a browser without a certificate")
        nocert = browser.new_context(ignore_https_errors=True)
        try:
            nocert.new_page().goto(url + "/", timeout=15000)
            raise AssertionError("a browser without a certificate was served")
        except AssertionError:
            raise
        except Exception as e:  # the handshake is refused
            print(f"  refused: {str(e).splitlines()[0]}", flush=True)
        nocert.close()

        step("auditor: the caseworker's reads in 个人查询记录")
        # The auditor signs in with the .p12 the demo wrote, as a person
        # would import it into a browser.
        au = browser.new_context(
            client_certificates=[{"origin": url, "pfxPath": f"{pki}/auditor.p12", "passphrase": case["p12_password"]}],
            ignore_https_errors=True,
            viewport=viewport,
        )
        ap = au.new_page()
        ap.goto(url + "/audit/who?id_number=" + urllib.parse.quote(applicant))
        text = ap.locator("main").inner_text()
        assert "查看核对记录" in text and "caseworker" in text, text[:600]
        assert "提交核对" in text and "复核" in text and "重新核对" in text, text[:600]
        ap.screenshot(path=f"{shots}/audit-who.png")
        ap.goto(url + "/audit")
        assert "检查点" in ap.locator("main").inner_text()
        ap.screenshot(path=f"{shots}/audit-log.png")
        with ap.expect_download() as d:
            ap.click("text=导出")
        d.value.save_as(f"{out}/audit-export.json")

        step("admin: department state")
        ad = browser.new_context(client_certificates=cert("admin"), ignore_https_errors=True, viewport=viewport)
        dp = ad.new_page()
        dp.goto(url + "/admin/departments")
        assert dp.locator("svg.chart").count() >= 2
        dp.screenshot(path=f"{shots}/departments.png")

        browser.close()
    print("ok", flush=True)


if __name__ == "__main__":
    main()
