"""Start a project from the template: what `copier copy` runs once in the new project (through
.ci/start_project.py), after copying the code.

It adopts the data (`lifecycle init`), versions the source where a clone finds it, writes the
project's own README and commits the first version, so `dvc repro` runs and a clone reproduces.
It refuses to run anywhere but a fresh copy: it writes README.md and creates the git repository.
"""

import argparse
import contextlib
import io
import subprocess
import sys
from pathlib import Path

from lifecycle import config
from lifecycle.commands import code_deps
from lifecycle.config import contract
from lifecycle.core import paths
from lifecycle.core.errors import LifecycleError
from lifecycle.data import quality, sources
from lifecycle.evaluation import metrics
from lifecycle.project import adopt as init

# A source up to this size is committed to git (GitHub warns above 50 MB); a larger one is
# versioned by DVC and reaches clones through a remote.
GIT_SOURCE_LIMIT = 50 * 1024 * 1024
ANSWERS = Path(".copier-answers.yml")
# The first branch, whatever git's init.defaultBranch says: the workflows run on pushes to it,
# and the README's commands compare with it.
BRANCH = "main"


def check_fresh_copy() -> None:
    if not ANSWERS.is_file() or Path(".git").exists() or Path("dvc.lock").exists():
        raise LifecycleError("start_project runs once, in a folder `copier copy` has just made "
                             "(with .copier-answers.yml, no .git, no dvc.lock); nothing was "
                             "written")


def check_data_outside(data: str) -> None:
    """The data comes from outside the new project: inside, it could only be one of the
    template's files, which the start writes over (README.md, params.yaml, ...)."""
    path = sources.sqlite_file(data) if "://" in data else data
    if path and Path(path).resolve().is_relative_to(Path.cwd().resolve()):
        raise LifecycleError(f"data {data}: a file inside the new project; give your table's "
                             f"own file, outside it; nothing was written")


def source_file(params: config.Params) -> Path | None:
    """The file in the project that ingest reads (a CSV, parquet or SQLite file), if any."""
    if params.source.path:
        return Path(params.source.path)
    database = sources.sqlite_file(params.source.url or "")
    return Path(database) if database else None


def version_source(source: Path | None) -> str:
    """Commit a small source to git; hand a large one to DVC. Says what was done."""
    if source is None:
        return "it stays in the database; ingest reads it with the query in params.yaml."
    size = source.stat().st_size
    if size <= GIT_SOURCE_LIMIT:
        return f"{size / 1e6:.1f} MB, committed to git, so a clone finds it."
    # This interpreter's DVC: the .venv copier's task may have made is not on PATH.
    run([sys.executable, "-m", "dvc", "add", "--quiet", source.as_posix()])
    return (f"{size / 1e6:.0f} MB, versioned by DVC (`{source.as_posix()}.dvc`); set a remote "
            f"every clone can reach and push it: `dvc remote add -d shared s3://bucket/path`, "
            f"`dvc push` (`.ci/run` pulls it).")


def split_sentence(split: config.Split, task: str) -> str:
    if split.method == "random":
        stratified = ", stratified by class" if task != "regression" else ""
        return f"random, {split.test_fraction:.0%} of the rows for test{stratified}"
    current = (f"; from {split.current_start} the \"current\" batch for monitoring"
               if split.current_start else "")
    return (f"out of time on `{split.time_column}`: train before {split.test_start}, test from "
            f"{split.test_start}{current}")


def readme(params: config.Params, rules: contract.Contract, data_note: str, found: str,
           answers: str, decisions: dict) -> str:
    problem = params.problem
    where = (f"`{params.source.path}`" if params.source.path
             else f"`{params.source.query}` on `{params.source.url}`")
    listed = {role: ", ".join(f"`{name}`" for name in rules.with_role(role)) or "none"
              for role in ("feature", "identifier", "leakage", "excluded", "timestamp")}
    return "\n".join([
        f"# {problem.name}", "",
        problem.description, "",
        "## The problem", "",
        f"- Task: {problem.task}; target `{problem.target}`; primary metric "
        f"`{problem.primary_metric}`.",
        f"- Data: {where}; {data_note}",
        f"- Split: {split_sentence(params.split, problem.task)}.",
        f"- Features: {listed['feature']}. Identifiers: {listed['identifier']}; leakage: "
        f"{listed['leakage']}; excluded: {listed['excluded']}.",
        "- The data contract, `data/contract.yaml`, says which column plays which role; "
        "`params.yaml` holds the problem, the knobs and the success criteria. Review both.", "",
        "What `lifecycle init` found in the table and decided for it (each decision is a key "
        "of `params.yaml` or `data/contract.yaml`, to change where it is wrong):", "",
        "```text", *(line for line in found.strip().splitlines()
                     if not line.startswith(("copied ", "wrote "))), "```", "",
        "## Data decisions", "",
        "What `prepare` does with the rows and which columns the model never sees (change them "
        "under `validation:` in `params.yaml` and in `data/contract.yaml`); after `dvc repro`, "
        "`reports/data_quality.md` and the model card show them with the counts prepare "
        "measured.", "",
        *quality.decision_lines(decisions, {}), "",
        "## Run it", "",
        "```bash",
        "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt "
        "&& dvc repro",
        "pytest                 # the tests; bash .ci/run is what CI runs",
        "```", "",
        "`dvc repro` writes the data-quality report (`reports/data_quality.md`), the model card "
        "(`reports/model_card.md`) and the gate's verdict on the criteria (`reports/gate.json`). "
        "Commit `dvc.lock` and `reports/` after it: CI checks that a clone reproduces them.", "",
        "Then vary the knobs and review a change:", "",
        "```bash", *experiment_commands(problem.primary_metric), "```", "",
        "## Deploy and watch", "",
        "```bash",
        "lifecycle gate                       # exit 1 unless VALIDATED",
        "lifecycle compare                    # this model against the one in production",
        "lifecycle serve --runtime onnx --log-predictions logs/   # the API, answers logged",
        "lifecycle monitor --current logs/    # drift of what the API saw: retrain or not",
        "```", "",
        "`criteria.deployment` in `params.yaml` sets the most megabytes and milliseconds the "
        "served model may take (`lifecycle gate` measures them); columns marked `sensitive: "
        "true` in `data/contract.yaml` get a fairness report, judged by `criteria.fairness`.", "",
        f"The repository's branch is `{BRANCH}` (the start names it so whatever git's "
        f"`init.defaultBranch` says: the workflows test pushes to it). `lifecycle --help` "
        f"lists every command; the lifecycle library's documentation (its docs/ folder) is "
        f"the guide to every command and stage. This project's own code goes in `src/`, its "
        f"tests in `tests/`; a model, a feature transformer or a metric of its own is named in "
        f"`params.yaml` under `extensions:` (the library's `docs/extensions.md`).", "",
        "## Template updates", "",
        f"The project was made with `copier copy` from the lifecycle template; "
        f"`{answers}` records the answers and the template version, and `requirements.txt` "
        f"pins the lifecycle library at that version. `code_versions.yaml` records a hash of "
        f"the library code each stage runs (`lifecycle code-deps` writes it), so a library "
        f"upgrade reruns exactly the stages whose code changed. To bring a later version's "
        f"pipeline, CI, workflows and library pin (your params, contract, data, README, src/ "
        f"and results are left alone; lines you edited that the template also changed show as "
        f"conflicts):",
        "",
        "```bash",
        "copier update --trust --defaults",
        "pip install -r requirements.txt && lifecycle code-deps && dvc repro",
        "```", "",
        "The scheduled workflow `.github/workflows/template-update.yml` does the first two every "
        "week and opens a pull request when there is something new.", "",
    ])


def experiment_commands(primary: str) -> list[str]:
    """An experiment, the table of experiments best first on the project's primary metric,
    and the review of the workspace against the first branch. The experiment swaps the model
    family: a project searches its model's hyperparameters (tuning.enabled), so setting one
    of them by hand would change nothing the search does not choose again."""
    order = "asc" if primary in metrics.LOWER_IS_BETTER else "desc"
    return [
        "dvc exp run -S train.model=random_forest",
        # As a Markdown table: dvc's own table is cut to the terminal's width, and an
        # experiment's changed params and metrics are wider than 120 columns.
        f"dvc exp show --only-changed --sort-by {primary} --sort-order {order} --md   # best "
        f"first",
        f"lifecycle report --base {BRANCH}   # metrics, gate, data and charts against {BRANCH}",
    ]


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise LifecycleError(f"{' '.join(command)} failed: {result.stderr.strip()}")


def commit_first_version(name: str) -> str:
    """The first commit; without a git identity the files stay staged."""
    run(["git", "add", "--all"])
    committed = subprocess.run(["git", "commit", "--quiet", "-m",
                                f"Start {name} from the lifecycle template"],
                               capture_output=True, text=True)
    if committed.returncode:
        return ("git has no identity here: the files are staged; set `git config user.name` "
                "and `user.email`, then `git commit`")
    return "committed the first version"


def start(name: str, data: str, query: str, target: str, task: str, time_column: str) -> None:
    check_fresh_copy()
    check_data_outside(data)
    url = data if "://" in data else None
    found = io.StringIO()
    with contextlib.redirect_stdout(found):
        duplicates = init.adopt(None if url else data, target, task or None,
                                time_column or None, sql_url=url, query=query or None,
                                project_name=name)
    print(found.getvalue(), end="")
    code_deps.run()  # code_versions.yaml: the installed library's code, per stage
    run(["git", "init", "--quiet"])  # before `dvc add`, which needs the repository
    run(["git", "symbolic-ref", "HEAD", f"refs/heads/{BRANCH}"])  # any git, unlike init -b
    params = config.load()
    data_note = version_source(source_file(params))
    rules = contract.load(paths.CONTRACT)
    decisions = {"duplicate_row": duplicates, **quality.contract_decisions(
        rules, contract.column_reasons(rules, paths.CONTRACT))}
    text = readme(params, rules, data_note, found.getvalue(), ANSWERS.name, decisions)
    Path("README.md").write_text(text)
    print(f"the data: {data_note}")
    print(f"wrote README.md; {commit_first_version(name)}")
    print("next: `dvc repro`, then commit dvc.lock and reports/")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for option in ("name", "data", "query", "target", "task", "time-column"):
        parser.add_argument(f"--{option}", default="")
    args = parser.parse_args(argv)
    try:
        start(args.name, args.data, args.query, args.target, args.task, args.time_column)
    except LifecycleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
