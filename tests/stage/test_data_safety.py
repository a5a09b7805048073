"""A user's files are sacred: no command writes over an input, the project or a folder it did not
create, whatever paths it is given; nothing is written until the command succeeds; and what goes
wrong is one line, not a traceback.

Each case runs the real command (`lifecycle.cli.main`, in this process) in a copy of a trained
project that is a git repository with a DVC cache, and compares every file of the project, `.git`
and `.dvc/cache` included, before and after.
"""

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from lifecycle import cli
from lifecycle.commands import predict
from lifecycle.config import contract
from lifecycle.core import files
from lifecycle.core.errors import LifecycleError
from lifecycle.deployment import scoring
from lifecycle.modeling import artifacts

from ..conftest import bin_path, commit_all, environment, run

MONITOR_FILES = {"drift.json", "drift.md", "psi.json"}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (links as their target text) with a digest of its bytes;
    hypothesis's own cache, which it keeps in the working directory, is left out."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if name.startswith(".hypothesis/"):
            continue
        if path.is_symlink():
            found[name] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[name] = hashlib.md5(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def project(trained_project: Path, trained: Path, tmp_path: Path, monkeypatch) -> Path:
    """A trained project as a git repository with a DVC cache, and a batch of 200 test rows of
    which 50 break the contract (batch.csv, batch.parquet); the working directory."""
    folder = tmp_path / "project"
    shutil.copytree(trained, folder)
    for name in ("reports/evaluation/metrics.json",):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(trained_project / name, folder / name)
    cached = folder / ".dvc/cache/files/md5/ab/cdef0123"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"a cached model")
    rows = pd.read_parquet(folder / "data/prepared/test.parquet").drop(columns="late").head(200)
    rows.loc[rows.index[:50], "carrier"] = "ZZ"
    rows.to_csv(folder / "batch.csv", index=False)
    rows.to_parquet(folder / "batch.parquet", index=False)
    commit_all(folder, "project")
    monkeypatch.chdir(folder)
    return folder


def lifecycle(capsys: pytest.CaptureFixture, *arguments: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(list(arguments))
    return code, capsys.readouterr().err


def assert_refused(code: int, errors: str, command: str, *words: str) -> None:
    assert code == 1, errors
    assert errors.startswith(f"lifecycle {command}: error: "), errors
    assert "Traceback" not in errors and errors.count("\n") == 1, errors
    for word in words:
        assert word in errors


# --- monitor --output: never the project, never a folder holding anything else ---------------

@pytest.mark.parametrize("output, words", [
    (".", "it is the project folder or holds it"),
    ("{root}", "it is the project folder or holds it"),
    ("..", "it is the project folder or holds it"),
    ("root-link", "it is the project folder or holds it"),
    ("reports", "it holds reports/evaluation/metrics.json, an input of this command"),
    ("notes", "the folder holds files this command did not write there (mine.txt)"),
    ("data", "it holds data/contract.yaml, an input of this command"),
    ("models", "it holds models/model.skops, an input of this command"),
    (".git", "it is inside .git/"),
    (".dvc/cache", "it is inside .dvc/"),
    ("batch.csv", "it is batch.csv, an input of this command"),
])
def test_monitor_refuses_an_output_folder_that_would_destroy_data(project, capsys, output,
                                                                 words):
    (project / "root-link").symlink_to(project)
    (project / "notes").mkdir()
    (project / "notes/mine.txt").write_text("mine")
    before = snapshot(project)

    code, errors = lifecycle(capsys, "monitor", "--current", "batch.csv", "--output",
                             output.format(root=project))

    assert_refused(code, errors, "monitor", "refused:", words)
    assert snapshot(project) == before


def test_monitor_replaces_a_folder_only_while_it_holds_nothing_but_its_own_report(project,
                                                                                   capsys):
    report = project / "adhoc/drift"

    assert lifecycle(capsys, "monitor", "--current", "batch.csv", "--output", "adhoc/drift")[0] \
        == 0
    assert {path.name for path in report.iterdir()} == {*MONITOR_FILES, files.RECORD}
    first = (report / "drift.json").read_text()
    # Run again on another batch: the earlier report is replaced.
    pd.read_csv(project / "batch.csv").tail(120).to_csv(project / "later.csv", index=False)
    assert lifecycle(capsys, "monitor", "--current", "later.csv", "--output", "adhoc/drift")[0] \
        == 0
    assert (report / "drift.json").read_text() != first
    # A file of the user's in it: the folder is no longer the command's to replace.
    (report / "notes.txt").write_text("mine")
    before = snapshot(project)

    code, errors = lifecycle(capsys, "monitor", "--current", "batch.csv", "--output",
                             "adhoc/drift")

    assert_refused(code, errors, "monitor", "holds files this command did not write there "
                                            "(notes.txt)")
    assert snapshot(project) == before


def test_monitor_never_takes_a_users_files_for_its_own_by_their_names(project, capsys):
    """A folder of the user's that happens to hold files named as the report's is not the
    command's to replace: only what a run recorded writing is."""
    mine = project / "mine"
    mine.mkdir()
    for name in MONITOR_FILES:
        (mine / name).write_text("my own notes")
    before = snapshot(project)

    code, errors = lifecycle(capsys, "monitor", "--current", "batch.csv", "--output", "mine")

    assert_refused(code, errors, "monitor", "holds files this command did not write there")
    assert snapshot(project) == before


# --- predict: outputs never an input, each other, the project or an existing file ----------

PREDICT_CASES = {
    "output is the CSV input": (("--input", "batch.csv", "--output", "batch.csv"),
                                "--output batch.csv: refused: it is batch.csv, an input"),
    "output is the parquet input": (("--input", "batch.parquet", "--output", "batch.parquet"),
                                    "it is batch.parquet, an input"),
    "rejects file is the input": (("--input", "batch.csv", "--output", "out/scored.csv",
                                   "--rejects", "batch.csv"),
                                  "--rejects batch.csv: refused: it is batch.csv, an input"),
    "output and rejects are one file": (("--input", "batch.csv", "--output", "same.csv",
                                         "--rejects", "same.csv"),
                                        "--rejects same.csv: refused: it is the same file as "
                                        "--output"),
    "output links to the input": (("--input", "batch.csv", "--output", "link.csv"),
                                  "it is batch.csv, an input"),
    "output is an output of the pipeline": (
        ("--input", "batch.csv", "--output", "data/prepared/train.parquet"),
        "it is a file of the project"),
    "output is a file git tracks": (("--input", "batch.csv", "--output", "tracked.csv"),
                                    "it is a file of the project"),
    "output inside .git": (("--input", "batch.csv", "--output", ".git/scored.csv"),
                           "it is inside .git/"),
    "output is a folder": (("--input", "batch.csv", "--output", "folder.csv"),
                           "it is a folder; give the path of a file"),
    "output exists": (("--input", "batch.csv", "--output", "old.csv"),
                      "the file exists; pass --overwrite to replace it"),
    "default rejects file is the input": (
        ("--input", "scored.rejects.csv", "--output", "scored.csv"),
        "--rejects scored.rejects.csv: refused: it is scored.rejects.csv, an input"),
}


@pytest.mark.parametrize("name", PREDICT_CASES)
def test_predict_refuses_outputs_that_would_destroy_data(project, capsys, name):
    arguments, words = PREDICT_CASES[name]
    (project / "link.csv").symlink_to(project / "batch.csv")
    (project / "folder.csv").mkdir()
    (project / "folder.csv/keep.txt").write_text("mine")
    (project / "old.csv").write_text("a,b\n1,2\n")
    shutil.copy(project / "batch.csv", project / "scored.rejects.csv")
    (project / "tracked.csv").write_text("x\n1\n")
    run(["git", "add", "tracked.csv"], project)
    before = snapshot(project)

    code, errors = lifecycle(capsys, "predict", *arguments)

    assert_refused(code, errors, "predict", words)
    assert snapshot(project) == before


def test_fixing_rejected_rows_and_scoring_them_again_loses_nothing(project, capsys):
    """The everyday sequence: score, fix the rejects, score the fixed rows."""
    assert lifecycle(capsys, "predict", "--input", "batch.csv", "--output", "scored.csv")[0] == 0
    rejects = pd.read_csv(project / "scored.rejects.csv")
    assert len(rejects) == 50
    rejects.drop(columns=["row", "reason"]).assign(carrier="AA").to_csv(
        project / "scored.rejects.csv", index=False)
    before = snapshot(project)

    # Same output name: refused, the fixed rows and the first predictions are untouched;
    # --overwrite allows replacing scored.csv, never the input the default rejects path names.
    code, errors = lifecycle(capsys, "predict", "--input", "scored.rejects.csv", "--output",
                             "scored.csv")
    assert_refused(code, errors, "predict", "--output scored.csv: refused: the file exists")
    code, errors = lifecycle(capsys, "predict", "--input", "scored.rejects.csv", "--output",
                             "scored.csv", "--overwrite")
    assert_refused(code, errors, "predict", "--rejects scored.rejects.csv: refused: it is "
                                            "scored.rejects.csv, an input of this command")
    assert snapshot(project) == before

    # Named apart (or with --overwrite for the file that may go), it succeeds.
    code, _ = lifecycle(capsys, "predict", "--input", "scored.rejects.csv", "--output",
                        "fixed.csv")
    assert code == 0
    assert len(pd.read_csv(project / "fixed.csv")) == 50
    assert pd.read_csv(project / "fixed.rejects.csv").empty
    code, _ = lifecycle(capsys, "predict", "--input", "scored.rejects.csv", "--output",
                        "scored.csv", "--rejects", "fixed-again.rejects.csv", "--overwrite")
    assert code == 0
    assert len(pd.read_csv(project / "scored.csv")) == 50
    assert snapshot(project)["scored.rejects.csv"] == before["scored.rejects.csv"]


@pytest.mark.slow  # the installed command in a process of its own, with a file-size limit
def test_a_full_disk_is_one_line_and_leaves_nothing_behind(project):
    """The file-size limit makes every write past 64 KiB fail as a full disk would."""
    rows = pd.read_csv(project / "batch.csv")
    pd.concat([rows] * 20).to_csv(project / "large.csv", index=False)
    before = snapshot(project)

    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, do not kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = subprocess.run(
        [bin_path("lifecycle"), "predict", "--input", "large.csv", "--output", "scored.csv"],
        cwd=project, env=environment(PYTHONDONTWRITEBYTECODE="1"), capture_output=True,
        text=True, preexec_fn=limit_writes)

    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("lifecycle predict: error: scored"), result.stderr
    assert "could not write: File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(project) == before


def wait_for(found, processes: list[subprocess.Popen], what: str):
    """Poll `found()` until it gives something, failing if every process has ended first."""
    while not (result := found()):
        if all(process.poll() is not None for process in processes):
            pytest.fail(f"the commands ended before {what}")
        time.sleep(0.01)
    return result


@pytest.mark.slow  # two installed commands at once, in processes of their own
def test_two_predicts_writing_neighbouring_files_at_once_both_finish_whole(project):
    """One writes x.csv.part.csv while the other starts writing x.csv: neither touches the
    other's temporaries (an earlier version deleted `.x.csv.*.tmp` before writing x.csv)."""
    rows = pd.read_csv(project / "batch.csv")
    # 500,000 rows: the first writes for about three times as long as the second takes to
    # start writing.
    pd.concat([rows] * 2500).to_csv(project / "large.csv", index=False)
    command = [bin_path("lifecycle"), "predict", "--input", "large.csv", "--output"]
    first = subprocess.Popen([*command, "x.csv.part.csv"], cwd=project, env=environment(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: list(project.glob(".x.csv.part.csv.*.tmp")), [first], "a temporary")
    second = subprocess.Popen([*command, "x.csv"], cwd=project, env=environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: list(project.glob(".x.rejects.csv.*.tmp")), [second], "a temporary")
    both_writing = bool(list(project.glob(".x.csv.part.csv.*.tmp")))

    outputs = [process.communicate(timeout=600) for process in (first, second)]

    assert both_writing
    for process, (printed, errors) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, errors
        assert "375000 scored" in printed, printed
    for name, rejects in (("x.csv.part.csv", "x.csv.part.rejects.csv"),
                          ("x.csv", "x.rejects.csv")):
        scored = pd.read_csv(project / name)
        assert len(scored) == 375_000 and "prediction" in scored.columns
        assert len(pd.read_csv(project / rejects)) == 125_000
    assert list(project.glob("*.tmp")) == list(project.glob(".*.tmp")) == []


# --- predict: a user's column is never overwritten --------------------------------------------

def test_columns_named_like_outputs_are_kept_apart_and_do_not_change_predictions(project,
                                                                                  capsys):
    plain = pd.read_csv(project / "batch.csv")
    plain.assign(row=999, prediction="mine", reason="also mine").to_csv(
        project / "named.csv", index=False)

    assert lifecycle(capsys, "predict", "--input", "batch.csv", "--output", "plain.csv")[0] == 0
    assert lifecycle(capsys, "predict", "--input", "named.csv", "--output", "named-out.csv")[0] \
        == 0

    scored, named = (pd.read_csv(project / name) for name in ("plain.csv", "named-out.csv"))
    pd.testing.assert_frame_equal(scored, named)
    rejects = pd.read_csv(project / "named-out.rejects.csv")
    assert rejects["row"].tolist() == list(range(50))
    assert set(rejects["row_input"]) == {999} and set(rejects["reason_input"]) == {"also mine"}
    assert set(rejects["reason"]) == {"carrier: unknown category"}


def test_a_model_input_named_row_is_scored_with_its_own_values():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"row": rng.normal(size=400), "x": rng.normal(size=400)})
    labels = (frame["row"] > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(frame, labels)
    rules = contract.parse({"columns": {"row": {"type": "numeric", "role": "feature"},
                                        "x": {"type": "numeric", "role": "feature"}}})
    chunk = frame.head(50).copy()

    scored, rejected = scoring.score_chunk(model, chunk, rules, [], 0.5, "batch.csv")

    assert rejected.empty
    assert scored["row"].tolist() == list(range(50))
    np.testing.assert_allclose(scored["probability_1"], model.predict_proba(chunk)[:, 1])


# --- monitor: valid JSON and no verdict from a handful of rows ---------------------------------

def strict_json(path: Path) -> dict:
    def refuse(constant: str) -> None:
        raise ValueError(f"{path.name} holds {constant}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.mark.parametrize("rows, labelled", [(1, True), (0, False), (200, "single class")])
def test_monitor_on_a_tiny_or_single_class_batch_writes_valid_json_and_decides_nothing_rash(
        project, capsys, rows, labelled):
    batch = pd.read_parquet(project / "data/prepared/test.parquet").head(rows)
    if labelled == "single class":
        batch["late"] = 1
    elif not labelled:
        batch = batch.drop(columns="late")
    batch.to_csv(project / "small.csv", index=False)

    code, errors = lifecycle(capsys, "monitor", "--current", "small.csv", "--output", "small")

    assert code == 0, errors
    report = strict_json(project / "small/drift.json")
    strict_json(project / "small/psi.json")
    if rows < 30:
        assert report["decision"]["retrain"] is False
        assert f"the batch holds {rows} rows, fewer than 30" in report["decision"]["warnings"][0]
    else:
        assert report["performance"]["current"] is None  # ROC AUC of one class: undefined
        assert "n/a" in (project / "small/drift.md").read_text()


def test_monitor_reads_text_in_a_numeric_column_as_missing_and_says_so(project, capsys):
    batch = pd.read_csv(project / "batch.csv").assign(carrier="AA")
    batch["temp"] = batch["temp"].astype(object)
    batch.loc[batch.index[:40], "temp"] = "hot"
    batch.to_csv(project / "feed.csv", index=False)

    code, errors = lifecycle(capsys, "monitor", "--current", "feed.csv", "--output", "feed")

    assert code == 0, errors
    report = strict_json(project / "feed/drift.json")
    assert "column 'temp': wrong_type: 40 values are not numeric (e.g. 'hot')" in \
        " ".join(report["decision"]["warnings"])


def test_every_json_file_the_pipeline_writes_is_valid_json(trained_project):
    written = sorted((trained_project / "reports").rglob("*.json"))

    assert len(written) > 10
    for path in written:
        strict_json(path)


# --- model files: damaged or foreign files are one line naming the file and the fix ------------

def saved_model(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = Pipeline([("scale", StandardScaler()),
                      ("model", HistGradientBoostingClassifier(max_iter=5))])
    path = tmp_path / "model.skops"
    artifacts.save_model(model.fit(frame, (frame["a"] > 0).astype(int)), path)
    return path


def rewrite_entry(path: Path, change) -> None:
    """Rewrite the first .npy entry of a zip with `change(bytes) -> bytes`."""
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    name = next(name for name in entries if name.endswith(".npy"))
    entries[name] = change(entries[name])
    with zipfile.ZipFile(path, "w") as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)


def damage_compressed_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(".npy"))
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in range(start + 2, start + 40):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


MODEL_FILES = {
    "damaged zip entry": (damage_compressed_bytes, "not a readable skops model file"),
    "bad .npy header": (lambda path: rewrite_entry(path, lambda data: b"\x93NUMPY garbage"),
                        "damaged model file"),
    "a dict, not a model": (lambda path: path.write_bytes(skops.io.dumps({"a": 1})),
                            "holds a dict, not an estimator fitted by this project"),
    "an unfitted pipeline": (lambda path: path.write_bytes(skops.io.dumps(
        Pipeline([("scale", StandardScaler())]))), "holds a Pipeline, not an estimator fitted"),
}


@pytest.mark.parametrize("name", MODEL_FILES)
def test_a_damaged_or_foreign_model_file_is_a_clear_error(tmp_path, name):
    damage, words = MODEL_FILES[name]
    path = saved_model(tmp_path)
    damage(path)

    with pytest.raises(LifecycleError, match="run `dvc pull` to fetch it again") as error:
        artifacts.load_model(path)
    assert words in str(error.value)


def test_a_schema_over_the_bound_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    path = saved_model(tmp_path)
    size = zipfile.ZipFile(path).getinfo("schema.json").file_size
    monkeypatch.setattr(artifacts, "MAX_SCHEMA_BYTES", size - 1)

    with pytest.raises(LifecycleError, match=f"its schema is {size:,} bytes"):
        artifacts.load_model(path)


def test_predict_with_a_damaged_model_says_which_file_and_how_to_fix_it(project, capsys):
    rewrite_entry(project / "models/model.skops", lambda data: data[:20])
    before = snapshot(project)

    code, errors = lifecycle(capsys, "predict", "--input", "batch.csv", "--output", "s.csv")

    assert_refused(code, errors, "predict", "models/model.skops: damaged model file",
                   "dvc pull")
    assert snapshot(project) == before


# --- report: invalid files on either side, and its output -------------------------------------

def report_repo(folder: Path, params: str, metrics: str) -> Path:
    files = {"params.yaml": params, "reports/evaluation/metrics.json": metrics,
             "reports/gate.json": '{"verdict": "VALIDATED", "criteria": []}',
             "reports/data_quality.json": "{}", "dvc.yaml": "stages: {}\n"}
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    commit_all(folder, "base")
    return folder


GOOD_PARAMS = "seed: 1\nproblem: {task: binary, primary_metric: roc_auc}\n"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8))

REPORT_CASES = {
    "base params.yaml not YAML": ("seed: [1\n", '{"roc_auc": 0.7}', None,
                                  "params.yaml in HEAD", "not valid YAML"),
    "base metric not a number": (GOOD_PARAMS, '{"roc_auc": "high"}', None,
                                 "'roc_auc' is not a number", "dvc repro"),
    "base metrics a list": (GOOD_PARAMS, "[0.7]", None, "metrics.json in HEAD",
                            "not a mapping"),
    "base params multiplied by aliases": (LAUGHS, '{"roc_auc": 0.7}', None,
                                          "params.yaml in HEAD", "once its aliases (*name) are "
                                          "expanded"),
    "workspace params.yaml with a tab": (GOOD_PARAMS, '{"roc_auc": 0.7}',
                                         "seed: 1\n\tproblem: x\n", "params.yaml in workspace",
                                         "not valid YAML"),
}


@pytest.mark.parametrize("name", REPORT_CASES)
def test_report_on_invalid_files_is_one_line_naming_the_file_and_side(tmp_path, monkeypatch,
                                                                      capsys, name):
    params, metrics, workspace, *words = REPORT_CASES[name]
    repo = report_repo(tmp_path, params, metrics)
    (repo / "params.yaml").write_text(workspace or GOOD_PARAMS)
    (repo / "reports/evaluation/metrics.json").write_text('{"roc_auc": 0.71}')
    monkeypatch.chdir(repo)
    before = snapshot(repo)

    code, errors = lifecycle(capsys, "report", "--base", "HEAD")

    assert_refused(code, errors, "report", *words)
    assert snapshot(repo) == before


def test_report_output_is_never_a_folder_or_an_existing_file_unless_asked(tmp_path, monkeypatch,
                                                                         capsys):
    repo = report_repo(tmp_path, GOOD_PARAMS, '{"roc_auc": 0.7}')
    monkeypatch.chdir(repo)
    (repo / "notes").mkdir()
    (repo / "notes/mine.md").write_text("mine")

    code, errors = lifecycle(capsys, "report", "--base", "HEAD", "--output", "notes")
    assert_refused(code, errors, "report", "it is a folder; give the path of a file")
    code, errors = lifecycle(capsys, "report", "--base", "HEAD", "--output", "params.yaml")
    assert_refused(code, errors, "report", "it is a file of the project")

    assert lifecycle(capsys, "report", "--base", "HEAD", "--output", "report.md")[0] == 0
    code, errors = lifecycle(capsys, "report", "--base", "HEAD", "--output", "report.md")
    assert_refused(code, errors, "report", "the file exists; pass --overwrite")
    assert lifecycle(capsys, "report", "--base", "HEAD", "--output", "report.md",
                     "--overwrite")[0] == 0
    assert (repo / "notes/mine.md").read_text() == "mine"


def test_compare_output_is_never_a_folder_a_project_file_or_an_existing_file(
        tmp_path, monkeypatch, capsys):
    """Refused before any model is read, with exit 2 (0 is a completed comparison), and
    nothing written."""
    repo = report_repo(tmp_path, GOOD_PARAMS, '{"roc_auc": 0.7}')
    monkeypatch.chdir(repo)
    (repo / "notes.md").mkdir()
    (repo / "mine.md").write_text("mine")
    (repo / "reports/gate.md").write_text("tracked")
    run(["git", "add", "reports/gate.md"], repo)
    cases = {"notes.md": "it is a folder; give the path of a file",
             "reports/gate.md": "it is a file of the project",
             "params.yaml": "give a .md path",
             "mine.md": "the file exists; pass --overwrite"}
    before = snapshot(repo)

    for output, words in cases.items():
        code, errors = lifecycle(capsys, "compare", "--output", output)
        assert code == 2, errors
        assert errors.startswith("lifecycle compare: error: --output ") and words in errors
    assert snapshot(repo) == before


def test_an_unforeseen_file_system_error_is_still_one_line(tmp_path, monkeypatch, capsys):
    """The command line's last net: an OSError no check foresaw (the gate file is a folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports/gate.json").mkdir(parents=True)

    code, errors = lifecycle(capsys, "gate")

    assert_refused(code, errors, "gate", "reports/gate.json: Is a directory")


# --- the rule as a property: whatever the paths, nothing but the outputs changes ----------------

# Ways to spell an output path, relative to the project folder (the working directory).
PATH_KINDS = {
    "new file": "out/new.csv",
    "new parquet": "out/new.parquet",
    "another new file": "out/other.csv",
    "the input": "{input}",
    "the input through ..": "sub/../{input}",
    "the input, absolute": "{root}/{input}",
    "a link to the input": "link.csv",
    "the input through a link to the root": "root-link/{input}",
    "a file of the user's": "old.csv",
    "a file git tracks": "tracked.csv",
    "an output of the pipeline": "data/prepared/test.parquet",
    "the project folder": ".",
    "inside .git": ".git/x.csv",
    "inside the DVC cache": ".dvc/cache/x.csv",
    "a folder": "folder.csv",
    "the parent folder": "..",
}


def prepare_paths(project: Path) -> None:
    (project / "link.csv").symlink_to(project / "batch.csv")
    (project / "root-link").symlink_to(project)
    (project / "sub").mkdir()
    (project / "folder.csv").mkdir()
    (project / "folder.csv/keep.txt").write_text("mine")
    (project / "old.csv").write_text("a,b\n1,2\n")
    (project / "tracked.csv").write_text("x\n1\n")
    run(["git", "add", "tracked.csv"], project)


@pytest.mark.slow  # 80 generated commands, each scoring a batch
def test_no_combination_of_paths_changes_anything_but_the_outputs(project, capsys,
                                                                  monkeypatch):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    prepare_paths(project)
    model = artifacts.load_model(project / "models/model.skops")
    monkeypatch.setattr(artifacts, "load_model", lambda *_: model)  # the real model, loaded once
    original = snapshot(project)
    saved = {name: (project / name).read_bytes() for name in original
             if not name.startswith(".git/") and not (project / name).is_symlink()}
    outcomes = set()
    # Half the draws from paths that may be written, so both answers occur often.
    safe = ["new file", "new parquet", "another new file", "a file of the user's"]

    @settings(max_examples=80, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(source=st.sampled_from(["batch.csv", "batch.parquet"]),
           output=st.sampled_from(safe) | st.sampled_from(sorted(PATH_KINDS)),
           rejects=st.sampled_from([None, "another new file"])
           | st.sampled_from(["same as the output", *sorted(PATH_KINDS)]),
           overwrite=st.booleans())
    def check(source: str, output: str, rejects: str | None, overwrite: bool) -> None:
        spell = {"input": source, "root": project}
        output_path = PATH_KINDS[output].format(**spell)
        arguments = ["predict", "--input", source, "--output", output_path]
        if rejects is not None:
            arguments += ["--rejects", output_path if rejects == "same as the output"
                          else PATH_KINDS[rejects].format(**spell)]
        code, errors = lifecycle(capsys, *(arguments + ["--overwrite"] * overwrite))
        outcomes.add(code)
        after = snapshot(project)
        try:
            assert "Traceback" not in errors
            written = {name for name in after if after[name] != original.get(name)}
            if code != 0:
                assert code == 1 and errors.count("\n") == 1, errors
                assert written == set(), errors
                return
            # Success: only the two outputs are new or changed, each a user file or a new one.
            outputs = {Path(os.path.realpath(arguments[i + 1])).relative_to(project).as_posix()
                       for i, part in enumerate(arguments) if part in ("--output", "--rejects")}
            if rejects is None:
                outputs.add(predict.default_rejects(Path(outputs.copy().pop())).as_posix())
            assert written <= outputs, (arguments, written)
            assert not any(original.get(name) for name in written) or overwrite
            assert all(name in ("old.csv",) or name not in original for name in written)
        finally:
            for name in set(after) - set(original):
                (project / name).unlink()
            for name in set(original) & set(after):
                if after[name] != original[name] and name in saved:
                    (project / name).write_bytes(saved[name])
            shutil.rmtree(project / "out", ignore_errors=True)
            assert snapshot(project) == original

    check()
    assert outcomes == {0, 1}, outcomes  # both scored and refused combinations were reached
