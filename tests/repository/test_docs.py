"""The documentation a newcomer reads: the README stays short and points at pages that exist,
the site in docs/ builds offline with no warning, and every `lifecycle`, `dvc` or `copier`
command shown in a bash block is run by a test (or is in a short list, with the reason none
can run it)."""

import re
import subprocess
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

from ..conftest import ROOT, bin_path

README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250
PROGRAMS = ("lifecycle", "dvc", "copier")

# Each command of the docs, and the test that runs it: the file, and text of that file that
# shows the command being run. Placeholders (<exp>, <repo-url>, TEMPLATE) are run with real
# values; a note says where the test's form differs from the page's.
RUN_BY: dict[str, tuple[str, str]] = {
    "dvc repro": ("conftest.py", 'run([bin_path("dvc"), "repro"], repo, env)'),
    # The non-interactive form below, with the answers as --data.
    "copier copy --trust TEMPLATE my-project": (
        "e2e/test_template.py", '"copy", "--trust", "--defaults"'),
    "copier copy --trust --defaults --data project_name=churn-model --data data=customers.csv "
    "--data target=churned TEMPLATE my-project": (
        "e2e/test_template.py", '"copy", "--trust", "--defaults"'),
    "copier update --trust --defaults": (
        "e2e/test_template.py", '"update", "--trust", "--defaults"'),
    # In process: the command's own function, `lifecycle code-deps` without the argument parser.
    "lifecycle code-deps": ("unit/test_code_deps.py", "command.run() == 0"),
    "lifecycle init --data data/source/customers.csv --target churned": (
        "e2e/test_own_data.py", 'docs/own-data.md'),
    "dvc exp run -S cleaning.category_case=lower -S cleaning.outliers=clip": (
        "e2e/test_own_data.py", 'docs/own-data.md'),
    "dvc plots show": ("e2e/test_pipeline.py", '"plots", "show", "-o"'),
    "dvc plots show calibration": ("e2e/test_pipeline.py", '"plots", "show", name, "-o"'),
    # Against HEAD, in a browser with no network.
    "dvc plots diff main": ("e2e/test_plots_offline.py", '"plots", "diff", "HEAD"'),
    "dvc plots diff main <exp>": ("e2e/test_experiments.py", '"plots", "diff", "main", names'),
    "lifecycle gate": ("e2e/test_pipeline.py", '[bin_path("lifecycle"), "gate"]'),
    "dvc exp run -S train.hyperparameters.hist_gradient_boosting.learning_rate=0.1": (
        "e2e/test_pipeline.py",
        '"train.hyperparameters.hist_gradient_boosting.learning_rate=0.1"]'),
    "dvc exp run --queue -S 'train.hyperparameters.hist_gradient_boosting.learning_rate="
    "0.02,0.05,0.1'": ("e2e/test_experiments.py", '"exp", "run", "--queue", "-S"'),
    "dvc queue start -j 2": ("e2e/test_experiments.py", '"queue", "start", "-j", "2"'),
    "dvc queue status": ("e2e/test_experiments.py", '"queue", "status"'),
    "dvc exp show --only-changed --sort-by roc_auc --drop 'Created|State|Executor|.*/.*|"
    "params.yaml|average_precision|log_loss|brier|f1|precision|recall|cv_.*|lift_.*|"
    "worst_.*'": ("e2e/test_experiments.py", "docs_compare_command()"),
    "dvc exp show --csv > experiments.csv": ("e2e/test_experiments.py", '"exp", "show", "--csv"'),
    "dvc exp diff <exp-a> <exp-b>": ("e2e/test_experiments.py", '"exp", "diff", names[0.03]'),
    "dvc metrics diff main": ("e2e/test_experiments.py", '"metrics", "diff", "main"'),
    "dvc exp apply <exp>": ("e2e/test_experiments.py", '"exp", "apply", names[0.1]'),
    "dvc exp branch <exp> better-lr": (
        "e2e/test_experiments.py", '"exp", "branch", names[0.1], "better-lr"'),
    "dvc push": ("e2e/test_pipeline.py", '[bin_path("dvc"), "push"]'),
    # The repository is ".", the local clone.
    "dvc artifacts get <repo-url> flight-delay-model --rev v1.1.0 -o model.skops": (
        "e2e/test_experiments.py", '(["--rev", "v1.0.0"], ["--stage", "production"])'),
    "dvc artifacts get <repo-url> flight-delay-model --stage production -o model.skops": (
        "e2e/test_experiments.py", '(["--rev", "v1.0.0"], ["--stage", "production"])'),
    "lifecycle compare": ("e2e/test_experiments.py", "kept = compare(repo, env)"),
    # With the test's own tag of the other version.
    "lifecycle compare --champion flight-delay-model@v1.1.0": (
        "e2e/test_experiments.py", '"--champion", f"{artifact}@v2.0.0"'),
    # The repository is ".", the local clone.
    "dvc artifacts get <repo-url> flight-delay-model --stage production -o models/model.skops "
    "--force": ("e2e/test_experiments.py", '"-o", "models/model.skops", "--force"'),
    "lifecycle predict --input new_flights.csv --output scored.parquet": (
        "stage/test_deployment.py", '"--output", str(tmp_path / "scored.parquet")'),
    "lifecycle predict --runtime onnx --input new_flights.csv --output scored.csv": (
        "stage/test_extras.py", '"--runtime", runtime]) == 0'),
    "lifecycle serve --port 8000": ("e2e/test_load.py", "with lifecycle_server(trained, log)"),
    # The command line with each runtime (test_deployment.py: it loads the model before any
    # worker starts); the ONNX runtime's app answering requests is test_extras.py's.
    "lifecycle serve --runtime onnx": ("stage/test_deployment.py", '"--runtime", runtime]'),
    # With two workers, as a process.
    "lifecycle serve --log-predictions logs/ --log-max-megabytes 100 --log-files 5": (
        "stage/test_prediction_log.py", '"--log-predictions", "served", "--log-max-megabytes"'),
    "lifecycle monitor --current logs/": (
        "stage/test_prediction_log.py", 'lifecycle(capsys, "monitor", "--current", folder)'),
    "lifecycle monitor --current new_flights.csv": (
        "e2e/test_pipeline.py", '[bin_path("lifecycle"), "monitor", "--current"'),
    # As the default remote, the bucket on moto's S3 server.
    "dvc remote add -d shared s3://my-bucket/lifecycle": (
        "conftest.py", 'where = "--default" if committed else "--local"'),
    "dvc remote modify --local shared endpointurl https://s3.example.com": (
        "conftest.py", '"remote", "modify", "--local", "shared", "endpointurl"'),
    "dvc pull": ("e2e/test_shared_sweeps.py", 'run([dvc, "pull"], machine, env)'),
    "dvc exp run -n learning_rate-0.1 -S train.hyperparameters.hist_gradient_boosting."
    "learning_rate=0.1": ("e2e/test_shared_sweeps.py", '"exp", "run", "-n", name, "-S"'),
    "dvc exp push origin learning_rate-0.1": (
        "e2e/test_shared_sweeps.py", '"exp", "push", "origin", name'),
    "dvc exp pull origin": ("e2e/test_shared_sweeps.py", 'run([dvc, "exp", "pull", "origin"]'),
    # As Markdown, the table the sweep workflow writes.
    "dvc exp show --only-changed": (
        "e2e/test_shared_sweeps.py", '"exp", "show", "--md", "--only-changed"'),
    "lifecycle report --base learning_rate-0.03 --head learning_rate-0.1": (
        "e2e/test_shared_sweeps.py", '"report", "--base", "learning_rate-0.03", "--head"'),
    "dvc exp apply learning_rate-0.1": (
        "e2e/test_shared_sweeps.py", '"exp", "apply", "learning_rate-0.1"'),
}

# Commands of the docs no test runs, and why.
NOT_RUN: dict[str, str] = {
    "dvc remote modify --local shared access_key_id ...":
        "credentials: the S3 tests pass dummy ones in AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, the environment variables the page gives as the alternative",
    'dvc remote modify --local shared access_key_id "$KEY_ID"':
        "credentials: as above, the S3 tests use the environment variables",
    'dvc remote modify --local shared secret_access_key "$SECRET"':
        "credentials: as above, the S3 tests use the environment variables",
    "dvc exp run -S engine=dask -S train.model=xgboost":
        "a Dask cluster of worker processes on the full data: the benchmark's (`python -m "
        "benchmarks --only engine`); test_engine.py runs `dvc repro` with `engine: dask` and "
        "test_xgboost.py trains XGBoost on Dask, each on a sample",
}


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def shown_commands(text: str) -> list[str]:
    """The `lifecycle`, `dvc` and `copier` commands of a page's bash blocks: each line (joined
    across trailing backslashes, its comment cut off) split at `&&`, with single spaces and
    without leading variable assignments (`NAME=value dvc repro`)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"\s+#", line)[0].split("&&"):
                command = re.sub(r"^(\w+=\S*\s+)+", "", " ".join(part.split()))
                if command.split(" ", 1)[0] in PROGRAMS:
                    commands.append(command)
    return commands


def test_the_site_builds_offline_with_no_warning(tmp_path):
    result = subprocess.run([bin_path("mkdocs"), "build", "--strict", "--config-file",
                             str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                            capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    built = {path.stem for path in (tmp_path / "site").glob("*.html")}
    assert {path.stem for path in DOCS.glob("*.md")} <= built
    # Every page reads from the file system: no script, style or font fetched from elsewhere.
    for page in (tmp_path / "site").glob("*.html"):
        fetched = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?:)?//', page.read_text())
        assert not fetched, page.name


def test_the_readme_is_short_and_links_only_to_pages_that_exist():
    text = README.read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)

    assert len(text.splitlines()) <= MAX_README_LINES
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if link.startswith(("https://", "http://")):
            continue
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else README
        assert not path or (path.startswith("docs/") and path.endswith(".md")), link
        assert target.is_file(), link
        if anchor:
            assert anchor in heading_slugs(target), link


def heading_slugs(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slugify(title.strip(), "-") for title in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_every_command_of_the_docs_is_run_by_a_test_or_listed_with_the_reason():
    shown = {command for page in pages() for command in shown_commands(page.read_text())}

    assert shown - RUN_BY.keys() - NOT_RUN.keys() == set(), "commands no test runs"
    assert (RUN_BY.keys() | NOT_RUN.keys()) - shown == set(), "listed, no longer in the docs"
    assert not RUN_BY.keys() & NOT_RUN.keys()
    for command, (test_file, evidence) in RUN_BY.items():
        assert evidence in (ROOT / "tests" / test_file).read_text(), (command, test_file,
                                                                    evidence)


@pytest.mark.parametrize(("text", "commands"), [
    ("```bash\ndvc repro   # all of it\n```", ["dvc repro"]),
    ("```bash\npython3 -m venv .venv && . .venv/bin/activate && dvc repro\n```", ["dvc repro"]),
    ("```bash\nDASK_SCHEDULER_ADDRESS=tcp://s:8786 dvc repro\n```", ["dvc repro"]),
    ("```bash\nlifecycle serve \\\n  --port 8000\n```", ["lifecycle serve --port 8000"]),
    ("```bash\ngit tag -a 'model#production#1'\ncurl -s localhost\n```", []),
    ("```python\ndvc = 1\n```\n\ndvc repro outside a block", []),
])
def test_the_commands_of_a_page_are_found_in_its_bash_blocks(text, commands):
    assert shown_commands(text) == commands
