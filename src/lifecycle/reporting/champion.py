"""Champion and challenger: the production model (the revision the registry's latest promotion
tag names) and the workspace's candidate, scored on the same rows, with a recommendation.

Both models answer the workspace's test split and, when it holds the target, its current batch;
the verdict is the paired bootstrap the pull-request report uses (comparison.py), on the
primary metric. The champion's model file comes through DVC at its revision (cache, then
remote) and is loaded as deployment loads one: skops with trusted types only.

The registry is git tags in the GTO format: `<artifact>#<stage>#<n>` assigns the stage, the
n-th event of that artifact; `<artifact>#<stage>!#<n>` withdraws it. The event with the highest
n is the artifact's state, so a rollback is a new promotion tag and the history stays whole.
"""

import hashlib
import re
import subprocess
import tempfile
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lifecycle.config import Params
from lifecycle.core import paths
from lifecycle.core.errors import LifecycleError
from lifecycle.core.formatting import markdown_table, number, rounded, text_table
from lifecycle.evaluation import findings, metrics
from lifecycle.evaluation.gate import VALIDATED
from lifecycle.reporting.comparison import decision_threshold, verdict_from_interval
from lifecycle.reporting.revisions import Side

PRODUCTION = "production"
PROMOTE = "PROMOTE"
KEEP = "KEEP CHAMPION"
UNCLEAR = "NO CLEAR DIFFERENCE (keep the champion)"
STALE = "STALE (reports/gate.json judged another model file; run `dvc repro`)"
MARKER = "<!-- lifecycle-compare -->"
WIDTH = 120  # the terminal every table must fit
ROW_SETS = {"test": paths.PREPARED["test"], "current": paths.PREPARED["current"]}


@dataclass(frozen=True)
class Artifact:
    name: str
    path: str


@dataclass
class RowSet:
    """One set of labelled rows both models scored; `skipped` says why when it was not."""

    name: str
    path: str
    rows: int = 0
    champion: float | None = None
    candidate: float | None = None
    interval: list[float] | None = None
    disagreement: float | None = None
    skipped: str = ""

    @property
    def verdict(self) -> str:
        return verdict_from_interval(self.interval) if self.interval else "-"


@dataclass
class Comparison:
    champion: str  # the revision as named, with its commit
    candidate: str
    primary: str
    task: str
    gate: str
    resamples: int
    seed: int
    disagreement_measure: str
    row_sets: list[RowSet]
    models: dict[str, str]  # side -> SHA-256 of its model file
    thresholds: dict[str, float | None]  # side -> decision threshold (binary)
    champion_gate: str  # the champion's verdict at its revision, for context
    decision: str = ""
    reasons: list[str] = field(default_factory=list)


def model_artifact(pipeline: dict) -> Artifact:
    """The artifact dvc.yaml's `artifacts:` declares for the pipeline's model file (the one the
    comparison loads; an export of it, such as the ONNX file, is the same model), else the
    only model declared."""
    declared = pipeline.get("artifacts") if isinstance(pipeline, dict) else None
    if not isinstance(declared, dict) or not declared:
        raise LifecycleError("dvc.yaml declares no artifact under `artifacts:`; declare the model "
                             "there (docs/experiments.md), or pass --champion REV")
    specs = {str(name): spec for name, spec in declared.items() if isinstance(spec, dict)}
    models = [name for name, spec in specs.items() if spec.get("path") == paths.MODEL] or [
        name for name, spec in specs.items() if spec.get("type") == "model"]
    if len(models) != 1:
        raise LifecycleError(f"dvc.yaml: no single model artifact for {paths.MODEL} among "
                             f"{', '.join(map(str, declared))}; pass --champion REV to name the "
                             f"production model's revision")
    return Artifact(models[0], str(specs[models[0]].get("path") or paths.MODEL))


def latest_promotion(tags: Iterable[str], artifact: str, stage: str = PRODUCTION) -> str | None:
    """The tag of the artifact's latest event in `stage` when it is a promotion, else None
    (never promoted, or withdrawn since): GTO numbers events, and the highest number wins."""
    pattern = re.compile(rf"{re.escape(artifact)}#{re.escape(stage)}(!?)#(\d+)")
    events = [(int(found[2]), found[1] == "!", tag) for tag in tags
              if (found := pattern.fullmatch(tag))]
    if not events:
        return None
    _, withdrawn, tag = max(events)
    return None if withdrawn else tag


def stage_tags(root: Path, artifact: str, stage: str = PRODUCTION) -> list[str]:
    listed = subprocess.run(["git", "tag", "--list", f"{artifact}#{stage}*"], cwd=root,
                            capture_output=True, text=True)
    return listed.stdout.split()


def production_revision(root: Path, artifact: str) -> str:
    """The tag of the artifact's current production promotion, or an error saying how to
    promote one."""
    tag = latest_promotion(stage_tags(root, artifact), artifact)
    if tag is None:
        raise LifecycleError(
            f"no model is in production: no tag {artifact}#{PRODUCTION}#<n> (or the latest one "
            f"was withdrawn); promote one with `git tag -a \"{artifact}#{PRODUCTION}#1\" -m "
            f"\"promote\" <commit>` (docs/experiments.md), or pass --champion REV")
    return tag


def recommend(test: list[float], gate: str, current: list[float] | None = None
              ) -> tuple[str, list[str]]:
    """The recommendation from the intervals of candidate minus champion (oriented: positive
    is better) on the test rows and the current batch, and the candidate's gate verdict.

    Only a candidate the gate VALIDATED and that is better beyond the noise on the test rows
    is promoted; one worse beyond the noise on either row set is not, nor one the gate did
    not validate. Anything else keeps the champion, since a change must earn its risk."""
    reasons = []
    if gate != VALIDATED:
        reasons.append(f"the candidate's gate is {gate}, not {VALIDATED}")
    for name, interval in (("test rows", test), ("current batch", current)):
        if interval is not None and interval[1] < 0:
            reasons.append(f"the candidate is worse beyond the noise on the {name}")
    if reasons:
        return KEEP, reasons
    if test[0] > 0:
        return PROMOTE, ["the candidate is better beyond the noise on the test rows, and its "
                         f"gate is {VALIDATED}"]
    return UNCLEAR, ["the interval of the difference on the test rows includes zero"]


def disagreement(task: str, champion: np.ndarray, candidate: np.ndarray,
                 thresholds: tuple[float | None, float | None] = (None, None)) -> float:
    """How differently the two models decide: the share of rows whose decision differs
    (binary: each at its decision threshold; multiclass: the likeliest class), or for a
    regression the mean absolute difference of the predictions."""
    if task == "regression":
        return float(np.mean(np.abs(np.asarray(candidate) - np.asarray(champion))))
    if task == "binary":
        return float(np.mean((champion >= thresholds[0]) != (candidate >= thresholds[1])))
    return float(np.mean(champion.argmax(axis=1) != candidate.argmax(axis=1)))


def disagreement_measure(task: str) -> str:
    if task == "regression":
        return "mean absolute difference of the predictions"
    if task == "binary":
        return "share of rows decided differently, each model at its decision threshold"
    return "share of rows given a different class"


def load_champion(side: Side, artifact: Artifact, packages: tuple[str, ...]) -> tuple[Any, str]:
    """The champion's model and the SHA-256 of its file, read through DVC at its revision and
    loaded with the trusted types only, as deployment loads a model."""
    from lifecycle.modeling import artifacts

    data = side.tracked_blob(artifact.path)
    if data is None:
        raise LifecycleError(f"{artifact.path} at {side.label}: in neither the DVC cache nor the "
                             f"remote; `dvc push` it from where it was trained, or `dvc pull` "
                             f"with access to the remote")
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / Path(artifact.path).name
        file.write_bytes(data)
        return artifacts.load_model(file, packages, project=side.root), digest(data)


def load_candidate(path: str, packages: tuple[str, ...]) -> tuple[Any, str, str]:
    """The workspace's model, and the SHA-256 and MD5 (DVC's hash) of its file."""
    from lifecycle.modeling import artifacts

    data = Path(path).read_bytes()
    return (artifacts.load_model(path, packages), digest(data),
            hashlib.md5(data, usedforsecurity=False).hexdigest())


def gate_verdict(side: Side, model_path: str, model_md5: str) -> str:
    """The verdict of reports/gate.json, or STALE when dvc.lock records that `evaluate` judged
    another model file than the one compared: that verdict is not this model's."""
    verdict = str((side.data(paths.GATE) or {}).get("verdict", "unknown"))
    judged = judged_model(side.data("dvc.lock") or {}, model_path)
    if judged is not None and judged != model_md5:
        return STALE
    return verdict


def judged_model(lock: dict, model_path: str) -> str | None:
    """The MD5 of the model file `evaluate` read, as dvc.lock records it; None if it does not."""
    stage = lock.get("stages", {}).get("evaluate") if isinstance(lock, dict) else None
    deps = stage.get("deps", []) if isinstance(stage, dict) else []
    return next((dep.get("md5") for dep in deps
                 if isinstance(dep, dict) and dep.get("path") == model_path), None)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compare(params: Params, champion_side: Side, candidate_side: Side,
            artifact: Artifact) -> Comparison:
    """Both models on the same rows, each row set's paired interval, and the recommendation."""
    packages = params.extensions.model_packages()
    champion, champion_sha = load_champion(champion_side, artifact, packages)
    candidate, candidate_sha, candidate_md5 = load_candidate(artifact.path, packages)
    task, primary = params.problem.task, params.problem.primary_metric
    classes = check_classes(champion, candidate)
    thresholds = (decision_threshold(champion_side, task) or params.evaluate.decision_threshold,
                  params.evaluate.decision_threshold) if task == "binary" else (None, None)
    gate = gate_verdict(candidate_side, artifact.path, candidate_md5)
    result = Comparison(
        champion=champion_side.label, candidate=candidate_side.label, primary=primary,
        task=task, gate=str(gate), resamples=params.evaluate.bootstrap_resamples,
        seed=params.seed, disagreement_measure=disagreement_measure(task),
        row_sets=[score_rows(name, path, params, (champion, candidate), classes, thresholds)
                  for name, path in ROW_SETS.items()],
        models={"champion": champion_sha, "candidate": candidate_sha},
        thresholds=dict(zip(("champion", "candidate"), thresholds, strict=True)),
        champion_gate=str((champion_side.data(paths.GATE) or {}).get("verdict", "unknown")))
    test, current = result.row_sets
    if test.interval is None:
        raise LifecycleError(f"{test.path}: {test.skipped}; run `dvc repro` first")
    result.decision, result.reasons = recommend(test.interval, result.gate, current.interval)
    if champion_sha == candidate_sha:
        result.reasons.append("the candidate's model file is the champion's")
    return result


def check_classes(champion: Any, candidate: Any) -> np.ndarray | None:
    """The classes both models know (None for a regression); different classes cannot be
    compared on one metric."""
    known = [getattr(model, "classes_", None) for model in (champion, candidate)]
    if known[0] is None and known[1] is None:
        return None
    if known[0] is None or known[1] is None or not np.array_equal(known[0], known[1]):
        raise LifecycleError(f"the champion knows the classes {listed(known[0])} and the "
                             f"candidate {listed(known[1])}: they cannot be compared on one "
                             f"metric")
    return known[1]


def listed(classes: Any) -> str:
    return "(none: a regressor)" if classes is None else str(list(np.asarray(classes).tolist()))


def score_rows(name: str, path: str, params: Params, models: tuple[Any, Any],
               classes: np.ndarray | None, thresholds: tuple[float | None, float | None]
               ) -> RowSet:
    """Both models' primary metric on the rows of `path`, the paired interval of the
    difference and the disagreement; skipped (with why) where the rows are absent or
    unlabelled."""
    from lifecycle.core import tables

    found = RowSet(name, path)
    target, task = params.problem.target, params.problem.task
    if not Path(path).is_file():
        found.skipped = "not found"
        return found
    frame = tables.read_parquet(path)
    if target not in frame or frame[target].notna().sum() == 0:
        found.skipped = f"no labels (column {target!r})"
        return found
    labels = frame.pop(target)
    labelled = labels.notna()  # a batch whose outcomes are still arriving
    frame = frame[labelled]
    y = findings.labels(labels[labelled], task, classes, path).to_numpy()
    scores = [model_scores(model, frame, task, role, path)
              for model, role in zip(models, ("champion", "candidate"), strict=True)]
    primary = params.problem.primary_metric
    values = [metrics.task_metrics(task, y, score, threshold, classes)[primary]
              for score, threshold in zip(scores, thresholds, strict=True)]
    intervals = metrics.paired_bootstrap_deltas(
        task, y, *scores, base_threshold=thresholds[0], head_threshold=thresholds[1],
        classes=classes, resamples=params.evaluate.bootstrap_resamples, seed=params.seed)
    found.rows, (found.champion, found.candidate) = len(y), values
    found.interval = intervals[primary]
    found.disagreement = rounded(disagreement(task, *scores, thresholds))
    return found


def model_scores(model: Any, frame: Any, task: str, role: str, path: str) -> np.ndarray:
    inputs = list(model.feature_names_in_)
    missing = [name for name in inputs if name not in frame]
    if missing:
        raise LifecycleError(f"{path}: the {role} needs columns it does not hold: "
                             f"{', '.join(missing)}; compare with a champion trained on the "
                             f"same features")
    return metrics.predict_scores(model, frame[inputs], task)


def as_data(result: Comparison) -> dict:
    """The comparison as the JSON report holds it."""
    return {
        "champion": result.champion, "candidate": result.candidate, "task": result.task,
        "primary_metric": result.primary, "gate": result.gate,
        "champion_gate": result.champion_gate, "decision_thresholds": result.thresholds,
        "recommendation": result.decision, "reasons": result.reasons,
        "models_sha256": result.models,
        "method": {"test": "paired bootstrap of candidate minus champion, oriented so that "
                           "positive is better", "level": 0.95, "resamples": result.resamples,
                   "seed": result.seed, "disagreement": result.disagreement_measure},
        "rows": {row.name: {"path": row.path, "rows": row.rows, "champion": row.champion,
                            "candidate": row.candidate, "interval": row.interval,
                            "verdict": row.verdict, "disagreement": row.disagreement,
                            "skipped": row.skipped or None}
                 for row in result.row_sets},
    }


def table_rows(result: Comparison) -> list[tuple]:
    rows = []
    for row in result.row_sets:
        if row.skipped:
            rows.append((row.name, "-", "-", "-", "-", f"skipped: {row.skipped}", "-"))
            continue
        low, high = row.interval
        share = result.task != "regression"
        rows.append((row.name, number(row.rows), number(row.champion), number(row.candidate),
                     f"[{number(low, sign=True)}, {number(high, sign=True)}]", row.verdict,
                     f"{row.disagreement:.1%}" if share else number(row.disagreement)))
    return rows


HEADER = ("rows", "n", "champion", "candidate", "difference, 95%", "verdict", "disagreement")


def terminal_text(result: Comparison) -> str:
    """The comparison for a terminal, 120 columns at most."""
    lines = [*sides_lines(result), "",
             text_table((*HEADER[:2], f"champion {result.primary}",
                         f"candidate {result.primary}", *HEADER[4:]), table_rows(result)),
             "", f"Recommendation: {result.decision}"]
    lines += [f"- {reason}" for reason in result.reasons]
    lines += ["", f"Difference: candidate minus champion ({result.primary}, positive is "
                  f"better), paired bootstrap, {result.resamples} resamples, seed "
                  f"{result.seed}. Disagreement: {result.disagreement_measure}."]
    return "\n".join(wrapped for line in lines for wrapped in
                     (textwrap.wrap(line, WIDTH, subsequent_indent="  ") or [""]))


def sides_lines(result: Comparison) -> list[str]:
    """Which two models were compared: revision, model file digest, gate, threshold."""
    lines = []
    for side, name, gate in (("champion", result.champion, result.champion_gate),
                             ("candidate", result.candidate, result.gate)):
        threshold = result.thresholds.get(side)
        lines.append(f"{side.capitalize()}: {name}, model SHA-256 {result.models[side][:12]}, "
                     f"gate {gate}" + (f", decision threshold {threshold}"
                                       if threshold is not None else ""))
    return lines


def markdown(result: Comparison) -> str:
    """The comparison as Markdown, for the pull request's comment and the run's summary."""
    lines = [MARKER, "## Champion and challenger", "",
             f"**Recommendation: {result.decision}** · gate of the candidate: {result.gate}", "",
             *(f"- {reason}" for reason in result.reasons), "",
             *(part for line in sides_lines(result) for part in (line, "")),
             *markdown_table((*HEADER[:2], f"champion {result.primary}",
                              f"candidate {result.primary}", *HEADER[4:]),
                             table_rows(result), "lrrrrlr"), "",
             f"Difference: candidate minus champion on {result.primary} (positive is better), "
             f"95% interval of a paired bootstrap: both models on the same resampled rows, "
             f"{result.resamples} resamples, seed {result.seed}. Disagreement: "
             f"{result.disagreement_measure}."]
    return "\n".join(lines) + "\n"
