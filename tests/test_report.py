"""The report a reader opens: `snakemake --report` on a real tiny run, each figure once with its caption,
experiment, scale and parameters, and, in headless Chromium, every figure's image actually shown."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from types import SimpleNamespace

import pytest
import yaml

from einet.experiment import Experiment
from einet.figures import experiment_caption
from einet.network.presets import balanced_ei

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)

BALANCED = {
    "name": "tiny",
    "description": "a balanced network small enough for a test",
    "model": balanced_ei(200, 200, 10),
    "simulation": {"dt": 0.5, "duration": 100.0, "record": {"every": 2.0, "neurons": 3, "average_from": 60.0}},
    "figures": ["rates_vs_K"],
    "sweep": {"grid": {"model.K": [10, 40]}, "batch": {"model.external.M0": [1.0, 2.0]}},
    "scales": {"quick": {"simulation": {"duration": 80.0}}},
}


def ring() -> dict:
    """The shipped stp_memory experiment shrunk to seconds, drawing two figures (one category, two rows)."""
    raw = yaml.safe_load((REPO / "config" / "experiments" / "stp_memory.yaml").read_text())
    raw.update(name="tiny_ring", description="a facilitating ring small enough for a test",
               figures=["stp_memory", "ring_attractor"], scales={"quick": {}},
               sweep={"batch": {"tau_fac": {"path": "model.projections.EE.stp.tau_fac", "values": [1.0, 1000.0]}}})
    raw["model"]["populations"]["E"]["size"], raw["model"]["populations"]["I"]["size"] = 64, 16
    raw["task"].update(trials=4, epochs={"fixation": 50.0, "cue": 100.0, "delay": 300.0, "erase": 0.0})
    raw["simulation"].update(dt=2.0, record={**raw["simulation"]["record"], "average_from": 400.0, "neurons": 4})
    return raw


FIGURES = {"results/figures/tiny-rates_vs_K.png": ("rates_vs_K", "tiny"),
           "results/figures/tiny_ring-stp_memory.png": ("stp_memory", "tiny_ring"),
           "results/figures/tiny_ring-ring_attractor.png": ("ring_attractor", "tiny_ring")}


def test_every_caption_of_every_shipped_experiment_renders_without_a_markup_error():
    """Snakemake renders a caption with Jinja, then docutils; a slip such as a bare ``|x|`` (a substitution)
    would show in the report as an error block instead of failing the run, so it fails here."""
    from docutils.core import publish_parts
    from docutils.writers import html4css1  # Snakemake's writer ("html")
    from jinja2 import Environment

    template = Environment(trim_blocks=True, lstrip_blocks=True).from_string(
        (REPO / "workflow" / "report" / "figure.rst").read_text())
    for path in sorted((REPO / "config" / "experiments").glob("*.yaml")):
        experiment = Experiment(path, "quick")
        for figure in experiment.spec.figures:
            snake = SimpleNamespace(wildcards=SimpleNamespace(exp=experiment.name, figure=figure),
                                    params=SimpleNamespace(experiment=experiment_caption(experiment)))
            body = publish_parts(template.render(snakemake=snake), writer=html4css1.Writer(),
                                 settings_overrides={"halt_level": 2, "report_level": 5})["body"]
            assert "Scale</strong> <tt class=\"docutils literal\">quick</tt>" in body, (path.stem, figure)


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(workdir),
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The report of a real run; config.yaml names no scale, so the schema's default (quick) applies."""
    work = tmp_path_factory.mktemp("report")
    (work / "config" / "experiments").mkdir(parents=True)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump({"experiments": ["tiny", "tiny_ring"]}))
    for raw in (BALANCED, ring()):
        (work / "config" / "experiments" / f"{raw['name']}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    result = snakemake(work, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    result = snakemake(work, "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-4000:]
    return work / "results" / "report.html"


def embedded(report_html: str, name: str):
    """One of the JSON values the report's app reads (``<script id="results"> var results = {...};``)."""
    script = name.replace("_", "-")
    match = re.search(rf'<script id="{script}">\s*var {name} = (.*?);\s*</script>', report_html, re.S)
    return json.loads(match.group(1))


@pytest.mark.slow
def test_every_figure_is_in_the_report_once_with_its_caption_labels_and_parameters(report):
    text = report.read_text()
    results = embedded(text, "results")
    assert set(results) == set(FIGURES)  # PNG only: the PDF is an output, not a second entry
    assert embedded(text, "categories") == {
        "tiny": {"Other": ["results/figures/tiny-rates_vs_K.png"]},
        "tiny_ring": {"Other": ["results/figures/tiny_ring-ring_attractor.png",
                                "results/figures/tiny_ring-stp_memory.png"]}}
    for path, (figure, exp) in FIGURES.items():
        entry = results[path]
        assert entry["labels"] == {"figure": figure, "experiment": exp, "scale": "quick"}
        assert entry["mime_type"] == "image/png" and entry["data_uri"].startswith("data:image/png;")
        assert f"Experiment</strong> <tt class=\"docutils literal\">{exp}</tt>" in entry["caption"]
        assert "Scale</strong> <tt class=\"docutils literal\">quick</tt>" in entry["caption"]
    balanced = results["results/figures/tiny-rates_vs_K.png"]["caption"]
    assert "Balanced E/I network" in balanced  # the figure's own caption, then the experiment block
    for line in ("2 jobs", "K (model.K) = 10, 40", "M0 (model.external.M0) = 1, 2",
                 "populations E 200 exc, I 200 inh", "dt 0.5 ms; duration 80 ms"):
        assert line in balanced, line
    stp = results["results/figures/tiny_ring-stp_memory.png"]["caption"]
    assert "tau_fac (model.projections.EE.stp.tau_fac) = 1, 1000" in stp and "1 job<" in stp
    assert "delay 300" in stp and "duration" not in stp  # the task, not simulation.duration, sets the length
    description = embedded(text, "workflow_desc")
    for words in ("Config expansion", "Simulation or training", "Analysis", "Collection", "Figures</strong>: 3",
                  "<tt class=\"docutils literal\">tiny</tt>, <tt class=\"docutils literal\">tiny_ring</tt>",
                  "Scale</strong>: <tt class=\"docutils literal\">quick</tt>"):
        assert words in description, words
    assert not re.search(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=[\"']?(?:https?:)?//", text)


# Loads the report in an iframe and drives it as a reader does: each category's table, each row's view
# button (the image must decode: naturalWidth > 0), then its info button (the caption must be on the page).
HARNESS = """<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<pre id="out">pending</pre>
<iframe id="report" src="REPORT" style="width:1600px;height:1000px"></iframe>
<script>
const frame = document.getElementById("report");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(test, ms) {
  for (let t = 0; t < ms; t += 25) { const value = test(); if (value) return value; await sleep(25); }
  return null;
}
// an image's load or error event, not a timer: Chromium's virtual time runs on while images decode
const loaded = (img) => img.complete ? Promise.resolve() : new Promise((resolve) => {
  img.addEventListener("load", resolve, {once: true});
  img.addEventListener("error", resolve, {once: true});
});
const words = (s) => s.replace(/\\s+/g, " ").trim();
function text(html) { const div = document.createElement("div"); div.innerHTML = html; return words(div.textContent); }
async function check() {
  const w = frame.contentWindow, d = frame.contentDocument;
  // the report keeps its App in a script-level `let app`: reachable by eval, not as a window property
  const app = await until(() => w.eval("typeof app === 'undefined' ? null : app"), 20000);
  if (!app) throw new Error("the report's app did not start");
  const page = () => words(d.getElementById("app").innerText);
  const found = {front: (await until(() => d.querySelector(".prose") && page(), 5000)) || "", rows: [], figures: {}};
  for (const category of Object.keys(w.categories).sort()) {
    for (const sub of Object.keys(w.categories[category]).sort()) {
      const view = {navbarMode: "subcategory", category: category, subcategory: sub};
      app.setView(view);
      const rows = () => app.state.navbarMode === "subcategory" && d.querySelectorAll("#app tbody tr");
      const n = (await until(() => rows() && rows().length, 5000)) || 0;
      for (let i = 0; i < n; i++) {
        app.setView(view);
        const row = await until(() => rows() && rows().length === n && rows()[i], 5000);
        found.rows.push(Array.from(row.querySelectorAll("td")).map((td) => td.innerText.trim()).filter(Boolean));
        const [show, info] = row.querySelectorAll("a");
        const before = app.state.resultPath;
        show.click();
        const path = await until(() => app.state.content === "img" && app.state.resultPath !== before
                                       && app.state.resultPath, 5000);
        const uri = w.results[path].data_uri;
        const img = await until(() => Array.from(d.querySelectorAll("#app img"))
                                           .find((im) => im.getAttribute("src") === uri), 5000);
        let width = -1;
        if (img) { await loaded(img); width = img.naturalWidth; }  // a broken image: 0
        info.click();
        const caption = text(w.results[path].caption);
        const shown = await until(() => app.state.navbarMode === "resultinfo" && page().includes(caption), 5000);
        found.figures[path] = {width: width, caption: !!shown};
      }
    }
  }
  found.external = w.performance.getEntriesByType("resource").map((e) => e.name).filter((n) => !n.startsWith("data:"));
  return found;
}
frame.addEventListener("load", () => check().then(
  (found) => { document.getElementById("out").textContent = JSON.stringify(found); },
  (err) => { document.getElementById("out").textContent = JSON.stringify({error: String(err)}); }));
</script></body></html>
"""


def open_in_chromium(report_file: Path, tmp_path: Path) -> dict:
    """What the harness found in ``report_file``: Chromium prints the page after its scripts ran (--dump-dom
    once the virtual time budget is spent); file access between the two local pages is allowed explicitly."""
    harness = report_file.with_name(f"open-{report_file.stem}.html")
    harness.write_text(HARNESS.replace("REPORT", report_file.name))
    profile = tmp_path / f"profile-{report_file.stem}"
    profile.mkdir()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--allow-file-access-from-files", "--virtual-time-budget=60000",
           "--dump-dom", harness.as_uri()]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="out">(.*?)</pre>', result.stdout, re.S)
    assert match, f"chromium printed no page (rc {result.returncode}): {result.stderr[-2000:]}"
    assert match.group(1) != "pending", "the harness did not finish within chromium's virtual time budget"
    found = json.loads(html.unescape(match.group(1)))
    assert "error" not in found, found["error"]
    return found


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_chromium_shows_every_figure_and_a_broken_image_is_caught(report, tmp_path):
    shutil.copy(report, tmp_path / "report.html")
    found = open_in_chromium(tmp_path / "report.html", tmp_path)
    assert "Config expansion" in found["front"] and "Figures: 3" in found["front"]
    assert sorted(found["rows"]) == sorted([figure, exp, "quick"] for figure, exp in FIGURES.values())
    assert set(found["figures"]) == set(FIGURES)
    for path, seen in found["figures"].items():
        assert seen["width"] > 0 and seen["caption"], (path, seen)
    assert found["external"] == []  # nothing fetched: the report is self-contained

    # the same report with one image's bytes corrupted: the check must see that figure broken
    text = report.read_text()
    broken = "results/figures/tiny_ring-stp_memory.png"
    uri = embedded(text, "results")[broken]["data_uri"]
    head, data = uri.split(";base64,")
    assert text.count(uri) == 1
    (tmp_path / "broken.html").write_text(text.replace(uri, f"{head};base64,{'A' * 64}{data[64:]}"))
    found = open_in_chromium(tmp_path / "broken.html", tmp_path)
    assert found["figures"][broken]["width"] == 0
    assert all(seen["width"] > 0 for path, seen in found["figures"].items() if path != broken)
