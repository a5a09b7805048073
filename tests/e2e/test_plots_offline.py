"""`dvc plots show` and `dvc plots diff` pages draw every chart in a real browser with no network.

The page DVC writes is opened in headless Chromium with every network request sent to a dead
proxy; a probe script appended to a copy of the page counts the rendered vega views and the
distinct colours on each canvas (a blank canvas has one).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ..conftest import ROOT, bin_path, run

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("google-chrome")
OFFLINE = ["--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=http://127.0.0.1:9",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=30000",
           "--dump-dom"]
PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const colours = canvas => {
    if (!canvas.width || !canvas.height) return 0;  // a chart that failed to lay out
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length && seen.size < 50; i += 28) {
      seen.add(data[i] << 16 | data[i + 1] << 8 | data[i + 2] | (data[i + 3] ? 1 << 24 : 0));
    }
    return seen.size;
  };
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    views: document.querySelectorAll(".vega-embed").length,
    colours: [...document.querySelectorAll(".vega-embed canvas")].map(colours),
    images: [...document.images].map(image => image.complete && image.naturalWidth > 0)});
  document.body.appendChild(probe);
}, 2000));
</script>
"""


def rendered(page: Path) -> dict:
    """What a browser with no network drew on the page."""
    probed = page.with_name("probe.html")
    probed.write_text(page.read_text() + PROBE)
    dom = subprocess.run([CHROMIUM, *OFFLINE, probed.as_uri()], capture_output=True, text=True,
                         timeout=300).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom)
    assert found, f"the probe never ran:\n{dom[-2000:]}"
    return json.loads(found.group(1))


def vega_plots(repo: Path) -> tuple[int, int]:
    """Charts dvc.yaml registers (every entry but the image folder), and how many of them have
    data: a run can leave one empty (no slice with enough rows writes no slices.json)."""
    charts = [entry for entry in yaml.safe_load((repo / "dvc.yaml").read_text())["plots"]
              if isinstance(entry, dict)]
    with_data = [chart for chart in charts
                 if all((repo / file).exists() for spec in chart.values() for file in spec["y"])]
    return len(charts), len(with_data)


def assert_every_chart_drew(result: dict, charts: tuple[int, int]) -> None:
    registered, with_data = charts
    assert result["views"] == len(result["colours"]) == registered
    assert sum(count > 10 for count in result["colours"]) == with_data, result["colours"]
    assert result["images"] and all(result["images"])


@pytest.fixture
def project(reproduced, tmp_path):
    """A private copy of the reproduced project with its results committed."""
    repo = shutil.copytree(reproduced["repo"], tmp_path / "project", symlinks=True)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "results"], repo)
    return repo


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_plots_show_draws_every_chart_with_no_network(project, reproduced, tmp_path):
    run([bin_path("dvc"), "plots", "show", "-o", str(tmp_path / "show")], project,
        reproduced["env"])

    assert "cdn.jsdelivr" not in (tmp_path / "show/index.html").read_text()
    assert_every_chart_drew(rendered(tmp_path / "show/index.html"), vega_plots(project))


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_plots_diff_of_two_revisions_draws_every_chart_with_no_network(project, reproduced,
                                                                       tmp_path):
    roc = project / "reports/evaluation/plots/sklearn/roc.json"
    points = json.loads(roc.read_text())
    for point in points["roc"]:
        point["tpr"] = point["tpr"] ** 2  # a different curve in the workspace
    roc.write_text(json.dumps(points))

    run([bin_path("dvc"), "plots", "diff", "HEAD", "-o", str(tmp_path / "diff")], project,
        reproduced["env"])

    assert_every_chart_drew(rendered(tmp_path / "diff/index.html"), vega_plots(project))


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_the_probe_sees_that_dvcs_default_page_draws_nothing_offline(project, reproduced,
                                                                     tmp_path):
    from dvc_render.html import PAGE_HTML  # DVC's page: its scripts come from a CDN

    (tmp_path / "cdn.html").write_text(PAGE_HTML)
    run([bin_path("dvc"), "plots", "show", "--html-template", str(tmp_path / "cdn.html"),
         "-o", str(tmp_path / "cdn")], project, reproduced["env"])

    assert rendered(tmp_path / "cdn/index.html")["views"] == 0


def test_the_committed_page_is_the_one_its_build_script_makes():
    page = (ROOT / ".dvc/plots_page.html").read_text()
    script = (ROOT / ".ci/plots_page.py").read_text()

    assert "{plot_divs}" in page and "{scripts}" not in page and "https://" not in page.split(
        "<script>")[0]
    for package, version in re.findall(r'\("(vega[\w-]*)", "([\d.]+)"', script):
        assert f"<!-- {package} {version} -->" in page
    assert "html_template = plots_page.html" in (ROOT / ".dvc/config").read_text()
