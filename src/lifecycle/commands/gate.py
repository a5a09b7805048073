"""`lifecycle gate`: print the success criteria and the verdict; exit 1 unless VALIDATED.

The verdict is evaluate's (reports/gate.json), joined by the deployment constraints of
params.yaml (criteria.deployment), which this command measures itself: a latency belongs to the
machine that serves, not to a stage's reproducible outputs.
"""

from pathlib import Path

from lifecycle import config
from lifecycle.config.params import PARAMS_FILE
from lifecycle.core import paths
from lifecycle.evaluation import gate


def run() -> int:
    """`lifecycle gate`: print the table; exit 0 when VALIDATED, 1 when REJECTED."""
    verdict = with_deployment_constraints(gate.read_gate(paths.GATE))
    print(gate.format_table(verdict))
    return 0 if verdict["verdict"] == gate.VALIDATED else 1


def with_deployment_constraints(verdict: dict) -> dict:
    """The verdict with a row per deployment constraint that has a threshold, measured now."""
    if not Path(PARAMS_FILE).exists():  # a verdict alone (an artifact of CI) is still printed
        return verdict
    params = config.load()
    limits = params.criteria.deployment
    if not limits.judged:
        return verdict
    from lifecycle.deployment import constraints  # loads a model runtime: only when judged

    rows = verdict["criteria"] + gate.deployment_rows(limits, constraints.measure(limits, params))
    return {**verdict, "verdict": gate.verdict(rows), "criteria": rows}
