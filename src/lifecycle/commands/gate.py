"""`lifecycle gate`: print the success criteria and the verdict; exit 1 unless VALIDATED."""

from lifecycle.core import paths
from lifecycle.evaluation import gate


def run() -> int:
    """`lifecycle gate`: print the table; exit 0 when VALIDATED, 1 when REJECTED."""
    verdict = gate.read_gate(paths.GATE)
    print(gate.format_table(verdict))
    return 0 if verdict["verdict"] == gate.VALIDATED else 1
