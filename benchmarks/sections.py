"""The benchmark's sections. Each returns table rows; the scale and engine sections also a detail
table."""

import dataclasses
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks import CHOSEN_THREADS
from benchmarks.measure import (
    TreeRun,
    alternate,
    measured,
    measured_tree,
    phase_seconds,
    stages_run,
    timed,
)
from lifecycle.core.engine import SCHEDULER_ENV
from tests.conftest import copy_project, environment, set_param

STAGES = ["ingest", "prepare", "featurize", "train", "evaluate", "monitor"]
AFTER_TRAIN = STAGES[3:]  # what a train parameter change reruns
# The reference: the same stage code, in one Python process, with no DVC around it.
SINGLE_PROCESS = (
    "import importlib\n"
    f"for name in {STAGES!r}:\n"
    "    importlib.import_module(f'lifecycle.stages.{name}').run()\n"
)
# What the evidence is priced against: the core of the lifecycle in one process, the feature
# transformer and the candidate fitted on the training split and the test split scored, with
# the stages' own builders and settings and no cross-validation, baselines or report.
CORE = """
from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import paths, tables
from lifecycle.modeling import features, models
from lifecycle.stages import featurize
params = config.load()
rules = contract.load(paths.CONTRACT)
transformer = featurize.unfitted_transformer(params, featurize.feature_columns(params, rules))
target, model = params.problem.target, params.train.model
train = tables.read_parquet(paths.PREPARED["train"])
encoded = transformer.fit_transform(train.drop(columns=target))
estimator = models.build_estimator(
    model, models.hyperparameters_of(model, params.train.hyperparameters_for(model)),
    params.seed, features.categorical_output_columns(transformer), params.problem.task)
estimator.fit(encoded, train[target])
test = tables.read_parquet(paths.PREPARED["test"])
estimator.predict_proba(transformer.transform(test.drop(columns=target)))
"""


def user_environment() -> dict:
    """The stages' environment with OpenMP's threads as the user chose (unset: every core), not
    the test suite's one thread."""
    env = {key: value for key, value in environment().items() if key != "OMP_NUM_THREADS"}
    return env if CHOSEN_THREADS is None else {**env, "OMP_NUM_THREADS": CHOSEN_THREADS}


EVIDENCE_TARGET = 6.0  # a full repro at most this many times the core
SWEEP_PARAM = "train.hyperparameters.hist_gradient_boosting.learning_rate"
# Eight values around the default (0.05); both sweeps run the same values.
SWEEP_VALUES = [0.02, 0.03, 0.04, 0.045, 0.055, 0.06, 0.07, 0.08]
CHANGED_PARAM = ("train.hyperparameters.hist_gradient_boosting.l2_regularization", 2.0)
GiB = 2**30
MiB = 2**20
# The engine section runs export too: every stage of the pipeline, on the engine's model.
ENGINE_STAGES = [*STAGES, "export"]


@dataclasses.dataclass
class Row:
    comparison: str
    measured: str
    reference: str
    ratio: str
    target: str


@dataclasses.dataclass
class Context:
    folder: Path
    rounds: int
    fraction: float
    scales: list[float]
    jobs: int
    sweep_size: int = 8
    engine_scales: list[float] = dataclasses.field(default_factory=lambda: [1.0, 10.0, 30.0])
    env: dict = dataclasses.field(default_factory=user_environment)
    details: list[str] = dataclasses.field(default_factory=list)
    _repo: Path | None = None
    _train_evaluate: float | None = None

    def dvc(self, *arguments: str) -> list[str]:
        return [str(Path(sys.executable).parent / "dvc"), *arguments]

    @property
    def repo(self) -> Path:
        """A copy of the project, reproduced and committed, shared by the DVC sections."""
        if self._repo is None:
            repo = copy_project(self.folder / "project")
            set_param(repo, "source.sample_fraction", self.fraction)
            self.git(repo, "commit", "-qam", "benchmark sample")
            self.run(self.dvc("repro"), repo)
            self.git(repo, "add", "-A")
            self.git(repo, "commit", "-qm", "reproduced")
            self._repo = repo
        return self._repo

    @property
    def train_evaluate(self) -> float:
        """Median time of the stages a train change reruns, run directly in the workspace."""
        if self._train_evaluate is None:
            command = ["sh", "-c", " && ".join(f"lifecycle {stage}" for stage in AFTER_TRAIN)]
            self._train_evaluate = statistics.median(
                timed(command, self.repo, self.env) for _ in range(self.rounds)
            )
        return self._train_evaluate

    def run(self, command: list[str], cwd: Path) -> str:
        return measured(command, cwd, self.env).output

    def git(self, repo: Path, *arguments: str) -> None:
        subprocess.run(["git", *arguments], cwd=repo, check=True, capture_output=True)


def verdict(ok: bool) -> str:
    return "ok" if ok else "missed"


def ratio_row(comparison: str, value: float, reference: float, target: float) -> Row:
    ratio = value / reference
    return Row(comparison, f"{value:.2f} s", f"{reference:.2f} s", f"{ratio:.2f}",
               f"<= {target} ({verdict(ratio <= target)})")


def pipeline(context: Context) -> list[Row]:
    forced, single = alternate(
        context.dvc("repro", "--force"), [sys.executable, "-c", SINGLE_PROCESS],
        context.rounds, context.repo, context.env,
    )
    return [ratio_row("full `dvc repro --force` vs one Python process running the same stages",
                      forced, single, 1.3)]


def evidence(context: Context) -> list[Row]:
    """A full `dvc repro --force` against the core alone, run alternately; the detail table says
    where the repro's time went, phase by phase, from the stages' own phase logs."""
    forced, core, output = [], [], ""
    for _ in range(context.rounds):
        run = measured(context.dvc("repro", "--force"), context.repo, context.env)
        forced.append(run.seconds)
        output = run.output
        core.append(timed([sys.executable, "-c", CORE], context.repo, context.env))
    repro_seconds = statistics.median(forced)
    context.details.append(rounds_line(forced, core))
    context.details.append(phase_table(phase_seconds(output), forced[-1]))
    return [ratio_row("full `dvc repro --force` vs one process fitting the transformer and the "
                      "candidate on the training split and scoring the test split",
                      repro_seconds, statistics.median(core), EVIDENCE_TARGET)]


def rounds_line(forced: list[float], core: list[float]) -> str:
    """Each round's repro and core, measured one after the other, and their ratio: the spread
    says how far the machine moves the medians."""
    rounds = ", ".join(f"{repro:.1f} / {alone:.1f} = {repro / alone:.2f}"
                       for repro, alone in zip(forced, core, strict=True))
    return (f"Rounds, in order (repro / core = ratio): {rounds}. Repro {min(forced):.1f} to "
            f"{max(forced):.1f} s, core {min(core):.1f} to {max(core):.1f} s.\n")


def phase_table(phases: list[tuple[str, str, float]], total: float) -> str:
    """The phases, longest first, each with its share of the repro's wall time; the rest is
    what no phase measures (starting Python and DVC, reading and writing files, hashing)."""
    lines = [f"Where a full `dvc repro --force` ({total:.1f} s) spent its time, from the stages' "
             "phase logs:", "", "| stage | phase | seconds | share |",
             "| --- | --- | ---: | ---: |"]
    for stage, what, seconds in sorted(phases, key=lambda phase: -phase[2]):
        lines.append(f"| {stage} | {what} | {seconds:.1f} | {seconds / total:.0%} |")
    rest = total - sum(seconds for _, _, seconds in phases)
    lines.append(f"| | outside the phases | {rest:.1f} | {rest / total:.0%} |")
    return "\n".join(lines) + "\n"


def noop(context: Context) -> list[Row]:
    repro, status = alternate(context.dvc("repro"), context.dvc("status"),
                              max(context.rounds, 5), context.repo, context.env)
    return [ratio_row("no-op `dvc repro` vs bare `dvc status`", repro, status, 1.5)]


def change(context: Context) -> list[Row]:
    repo, (key, value) = context.repo, CHANGED_PARAM
    reference = context.train_evaluate
    set_param(repo, key, value)
    result = measured(context.dvc("repro"), repo, context.env)
    ran = stages_run(result.output)
    # Back to the committed state; the run cache restores the outputs without training.
    context.git(repo, "checkout", "--", ".")
    context.run(context.dvc("checkout"), repo)
    expected = AFTER_TRAIN
    return [Row(f"`{key}` change: `dvc repro` reran {', '.join(ran) or 'nothing'} "
                f"vs running those stages directly",
                f"{result.seconds:.2f} s", f"{reference:.2f} s",
                f"{result.seconds / reference:.2f}",
                f"reruns only {', '.join(expected)} ({verdict(ran == expected)})")]


def sweep(context: Context) -> list[Row]:
    reference = context.train_evaluate
    values = sweep_values(context.sweep_size)
    sequential = sweep_one_after_another(context, values) / len(values)
    queued = sweep_queued(context, values) / len(values)
    best = min(sequential, queued)
    return [
        ratio_row(f"sweep of {len(values)} `{SWEEP_PARAM}` values, `dvc exp run` one after "
                  f"another: wall time per experiment vs one workspace train + evaluate",
                  sequential, reference, 1.25),
        ratio_row(f"the same sweep queued, `dvc queue start -j {context.jobs}`: wall time per "
                  f"experiment vs one workspace train + evaluate", queued, reference, 1.25),
        Row("sweep: the better of the two", f"{best:.2f} s", f"{reference:.2f} s",
            f"{best / reference:.2f}", f"<= 1.25 ({verdict(best / reference <= 1.25)})"),
    ]


def sweep_values(size: int) -> list[float]:
    """`size` of the sweep's values, spread over its range (all eight by default)."""
    if size >= len(SWEEP_VALUES):
        return SWEEP_VALUES
    step = (len(SWEEP_VALUES) - 1) / max(size - 1, 1)
    return [SWEEP_VALUES[round(index * step)] for index in range(size)]


def _fresh_sweep_start(context: Context) -> None:
    """Back to the committed workspace, with no run cache to restore a sweep value from."""
    context.git(context.repo, "checkout", "--", ".")
    context.run(context.dvc("checkout"), context.repo)
    shutil.rmtree(context.repo / ".dvc/cache/runs", ignore_errors=True)


def sweep_one_after_another(context: Context, values: list[float]) -> float:
    _fresh_sweep_start(context)
    total = 0.0
    for value in values:
        result = measured(context.dvc("exp", "run", "-S", f"{SWEEP_PARAM}={value}"),
                          context.repo, context.env)
        if stages_run(result.output) != AFTER_TRAIN:
            raise RuntimeError(f"the experiment {value} ran {stages_run(result.output)}")
        total += result.seconds
    return total


def sweep_queued(context: Context, values: list[float], poll_seconds: float = 2.0) -> float:
    _fresh_sweep_start(context)
    repo = context.repo
    start = time.perf_counter()
    for value in values:
        context.run(context.dvc("exp", "run", "--queue", "-S", f"{SWEEP_PARAM}={value}"), repo)
    context.run(context.dvc("queue", "start", "-j", str(context.jobs)), repo)
    try:
        while True:
            time.sleep(poll_seconds)
            status = context.run(context.dvc("queue", "status"), repo)
            if "Queued" not in status and "Running" not in status:
                break
        seconds = time.perf_counter() - start
    finally:
        subprocess.run(context.dvc("queue", "stop"), cwd=repo, env=context.env,
                       capture_output=True)
    succeeded = status.count("Success")
    if succeeded != len(values):
        raise RuntimeError(f"{succeeded} of {len(values)} queued experiments succeeded:\n"
                           f"{status}")
    return seconds


def scale(context: Context) -> list[Row]:
    """Each stage as its own process on 1x, 3x, ... the rows: wall time and peak memory."""
    results: dict[float, dict[str, tuple[float, int]]] = {}
    for factor in context.scales:
        repo = copy_project(context.folder / f"scale-{factor:g}")
        set_param(repo, "source.sample_fraction", context.fraction * factor)
        results[factor] = {}
        for stage in STAGES:
            run = measured([str(Path(sys.executable).parent / "lifecycle"), stage], repo,
                           context.env)
            results[factor][stage] = (run.seconds, run.peak_bytes)
            print(f"  scale {factor:g}x {stage}: {run.seconds:.1f} s, "
                  f"{run.peak_bytes / 2**20:.0f} MiB", file=sys.stderr, flush=True)
        shutil.rmtree(repo)
    context.details.append(scale_table(results))
    return scale_rows(results)


def scale_rows(results: dict[float, dict[str, tuple[float, int]]]) -> list[Row]:
    base, *larger = sorted(results)
    base_total = sum(seconds for seconds, _ in results[base].values())
    rows = []
    for factor in larger:
        total = sum(seconds for seconds, _ in results[factor].values())
        linear = base_total * factor / base
        rows.append(ratio_row(f"scale {factor / base:g}x the rows: time of all stages vs "
                              f"{factor / base:g} x the time at {base:g}x (linear growth)",
                              total, linear, 1.0))
    top = max(results)
    peak = max(memory for _, memory in results[top].values())
    rows.append(Row(f"scale {top:g}x: peak memory of the largest stage", f"{peak / GiB:.2f} GiB",
                    "", "", f"< 6 GiB ({verdict(peak < 6 * GiB)})"))
    return rows


def scale_table(results: dict[float, dict[str, tuple[float, int]]]) -> str:
    factors = sorted(results)
    lines = [
        "Scale: each stage as its own `lifecycle <stage>` process; wall time and peak resident "
        "memory (wait4 `ru_maxrss`).",
        "",
        "| stage | " + " | ".join(f"{factor:g}x" for factor in factors) + " |",
        "| --- |" + " ---: |" * len(factors),
    ]
    for stage in STAGES:
        cells = [f"{results[f][stage][0]:.1f} s, {results[f][stage][1] / 2**20:.0f} MiB"
                 for f in factors]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    totals = [f"{sum(s for s, _ in results[f].values()):.1f} s" for f in factors]
    lines.append("| all stages | " + " | ".join(totals) + " |")
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class FactorRun:
    rows: int  # rows of the ingested snapshot
    stages: dict[str, TreeRun]

    @property
    def seconds(self) -> float:
        return sum(run.seconds for run in self.stages.values())

    @property
    def load(self) -> tuple[float, float]:
        """Load average at the start of the first stage and at the end of the last."""
        runs = list(self.stages.values())
        return runs[0].load[0], runs[-1].load[1]


def engine(context: Context) -> list[Row]:
    """`engine: dask` on a local 2-worker cluster with `train.model: xgboost`, on 1x, 10x, 30x
    the rows: each stage as its own process, its time and the peak memory of every process in its
    tree (the stage, its Dask workers)."""
    lifecycle = str(Path(sys.executable).parent / "lifecycle")
    # No external scheduler: each stage starts its local cluster, whose workers are its children.
    env = {key: value for key, value in context.env.items() if key != SCHEDULER_ENV}
    results: dict[float, FactorRun] = {}
    for factor in context.engine_scales:
        repo = copy_project(context.folder / f"engine-{factor:g}")
        set_param(repo, "source.sample_fraction", context.fraction * factor)
        set_param(repo, "engine", "dask")
        set_param(repo, "train.model", "xgboost")
        runs: dict[str, TreeRun] = {}
        for stage in ENGINE_STAGES:
            runs[stage] = run = measured_tree([lifecycle, stage], repo, env)
            print(f"  engine {factor:g}x {stage}: {engine_cell(run)}", file=sys.stderr,
                  flush=True)
        rows = pq.read_metadata(repo / "data/raw/dataset.parquet").num_rows
        results[factor] = FactorRun(rows, runs)
        shutil.rmtree(repo)
    context.details.append(engine_table(results))
    return engine_rows(results)


def load_text(load: tuple[float, float]) -> str:
    return f"load {load[0]:.1f}->{load[1]:.1f}"


def engine_cell(run: TreeRun) -> str:
    label, peak = run.largest
    return (f"{run.seconds:.1f} s, {peak / MiB:.0f} MiB {label} (tree {run.tree_peak / MiB:.0f}), "
            f"{load_text(run.load)}")


def engine_rows(results: dict[float, FactorRun]) -> list[Row]:
    factors = sorted(results)
    rows = [Row(f"engine dask + xgboost {factor:g}x ({results[factor].rows:,} rows): all "
                f"{len(results[factor].stages)} stages", f"{results[factor].seconds:.2f} s "
                f"({load_text(results[factor].load)})", "", "", "")
            for factor in factors]
    if len(factors) > 1:
        lower, top = results[factors[-2]], results[factors[-1]]
        per_row = [run.seconds / run.rows * 1e6 for run in (top, lower)]
        ratio = per_row[0] / per_row[1]
        rows.append(Row(f"engine {factors[-1]:g}x vs {factors[-2]:g}x: time per row",
                        f"{per_row[0]:.2f} µs ({load_text(top.load)})",
                        f"{per_row[1]:.2f} µs ({load_text(lower.load)})", f"{ratio:.2f}",
                        f"<= 1.2 ({verdict(ratio <= 1.2)})"))
    stage, run = max(results[factors[-1]].stages.items(), key=lambda item: item[1].largest[1])
    label, peak = run.largest
    tree = max(each.tree_peak for each in results[factors[-1]].stages.values())
    rows.append(Row(f"engine {factors[-1]:g}x: largest single process ({label} of {stage}); "
                    f"largest tree total {tree / GiB:.2f} GiB",
                    f"{peak / GiB:.2f} GiB ({load_text(run.load)})", "", "",
                    f"< 6 GiB ({verdict(peak < 6 * GiB)})"))
    return rows


def engine_table(results: dict[float, FactorRun]) -> str:
    factors = sorted(results)
    lines = [
        "Engine: `engine: dask` (a local cluster of 2 worker processes per stage) and "
        "`train.model: xgboost`; each stage as its own `lifecycle <stage>` process. Per cell: "
        "wall time; the largest peak resident memory of one process in the stage's tree (stage: "
        "the stage process, which also holds the scheduler and the nannies; worker: a Dask "
        "worker), sampled every 0.2 s with the kernel's high-water mark; in brackets the tree's "
        "largest total at one sample; the 1-minute load average at the stage's start and end.",
        "",
        "| stage | " + " | ".join(f"{factor:g}x" for factor in factors) + " |",
        "| --- |" + " --- |" * len(factors),
    ]
    for stage in ENGINE_STAGES:
        cells = [engine_cell(results[factor].stages[stage]) for factor in factors]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    totals = [f"{results[f].seconds:.1f} s, {results[f].rows:,} rows, "
              f"{load_text(results[f].load)}" for f in factors]
    lines.append("| all stages | " + " | ".join(totals) + " |")
    return "\n".join(lines) + "\n"


def api(context: Context) -> list[Row]:
    """Single-row requests from 8 concurrent clients for 60 s against `lifecycle serve`, with one
    server process and with one per core."""
    from benchmarks.api_load import measure

    rows = []
    for workers in (1, 2):
        result = measure(context.repo, clients=8, seconds=60, workers=workers)
        rows.append(Row(
            f"API on loopback, `--workers {workers}`, 8 clients x 60 s of single-row requests: "
            f"{result['requests']} requests, {result['errors']} errors, "
            f"{result['requests_per_second']} per second, server memory "
            f"{result['rss_before_mib']} -> {result['rss_after_mib']} MiB",
            f"p50 {result['p50_ms']} ms", f"p99 {result['p99_ms']} ms", "",
            "no errors, flat memory"))
    return rows


SECTIONS: dict[str, Callable[[Context], list[Row]]] = {
    "pipeline": pipeline,
    "noop": noop,
    "evidence": evidence,
    "change": change,
    "sweep": sweep,
    "scale": scale,
    "engine": engine,
    "api": api,
}
