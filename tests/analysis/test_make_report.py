"""analysis/make_report.py on the stored tiny sweep: one HTML file with every section, its
figures embedded as PNG, Table 1 and the failed trial as the analysis functions give them; and
the page as headless Chromium (Debian's `chromium`) renders it: each section there, no broken
image."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from analysis import make_report
from analysis import table1 as t1
from analysis.results import load_sweeps

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The section ids and the image sources of a page."""

    def __init__(self):
        super().__init__()
        self.sections, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "img":
            self.images.append(attrs.get("src", ""))


@pytest.fixture(scope="module")
def report(stored_sweep, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert make_report.main(["--sweep", str(stored_sweep.path), "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_one_page_with_every_section_and_its_figures_inline(report, stored_sweep):
    text = report.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    assert page.sections == [sid for sid, _ in make_report.SECTIONS]
    # self-contained: every image is an inline PNG that decodes, nothing is fetched
    assert len(page.images) >= 2  # the curves and the pretraining loss (the stand-in has no masker)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert not re.search(r'(src|href)="(?!data:|#)', text)
    # Table 1's cells and notes as analysis/table1.py writes them
    trials = load_sweeps([stored_sweep.path])
    table = t1.build_table1(trials)
    column = table.columns[0]
    assert f"<td>{t1.cell_text(table.cell('peakmask', column))}</td>" in text.replace("<b>", "").replace("</b>", "")
    failures = text.split('<section id="failures">')[1].split("</section>")[0]
    assert "stand-in probe failed on purpose" in failures and "advmask" in failures
    masks = text.split('<section id="masks">')[1].split("</section>")[0]
    assert "Not available" in masks  # the stand-in's encoders have no masker: said, not hidden


def _frame(records):
    rows = []
    for i, (row, seed, acc, status) in enumerate(records):
        rows.append({"sweep": "s", "trial_id": f"t{i}", "row": row, "task": "sex", "fraction": 1.0, "seed": seed,
                     "mode": "linear", "augmentation": row, "status": status, "tune_status": "TERMINATED",
                     "error": None if status == "ok" else "ValueError: <bad> & worse", "test_accuracy": acc,
                     "test_balanced_accuracy": float("nan"), "test_auc": float("nan"), "val_accuracy": float("nan"),
                     "val_auc": float("nan"), "n_train": 10.0, "n_test": 5.0})
    return pd.DataFrame(rows)


def test_tables_and_notes_are_table1s_own_text_escaped():
    trials = _frame([("advmask", 0, 0.80, "ok"), ("advmask", 1, 0.90, "ok"), ("scratch", 0, 0.60, "ok"),
                     ("scratch", 1, 0.70, "failed")])
    table = t1.build_table1(trials)
    page = make_report.table1_html(table)
    assert "<td><b>85.0 ± 7.1</b></td>" in page and "<td>60.0 (n=1)</td>" in page
    assert "ValueError: &lt;bad&gt; &amp; worse" in page and "<bad>" not in page  # the error, escaped
    # a note's sub-items ("  - ...") are a nested list under their line
    assert re.search(r"<li>1 failed trial, not averaged in:</li>\n<ul>\n<li>scratch / sex 100% / seed 1: ", page)
    paired = make_report.paired_html(table, t1.paired_comparison(trials, table), "advmask")
    assert "<td>scratch</td><td>+20.0 (n=1, no CI)</td>" in paired
    assert "Not available" in make_report.paired_html(table, None, "advmask")


def test_a_path_that_is_no_sweep_is_refused_in_one_line(tmp_path, capsys):
    assert make_report.main(["--sweep", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("make_report: ") and "nowhere" in err and "\n" not in err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# marks the body with the number of images the browser could not decode
CHECK = ("<script>window.addEventListener('load', () => { document.body.dataset.broken = "
         "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length; "
         "document.body.dataset.images = document.images.length; });</script>")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless check needs Debian's chromium (apt-get install -y chromium)")
def test_chromium_renders_every_section_and_no_broken_image(report, tmp_path):
    page = tmp_path / "checked.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", CHECK + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    for sid, heading in make_report.SECTIONS:
        assert re.search(rf'<section id="{sid}">\s*<h2>{re.escape(heading)}</h2>', dom), sid
    images = re.search(r'data-broken="(\d+)" data-images="(\d+)"', dom)
    assert images, "the page's load event never ran"
    assert images.group(1) == "0" and int(images.group(2)) >= 2
