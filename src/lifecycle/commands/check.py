"""`lifecycle check`: validate params.yaml and the data contract, and nothing else.

The same validation as the `check` stage of dvc.yaml (and as every stage's first step): unknown
keys with a "did you mean", types, ranges, names the task and the registry allow, and the checks
across params.yaml and the contract. `--write-schema` regenerates params.schema.json, the JSON
Schema editors use to complete and flag params.yaml, from the params dataclasses (with the
project's own models of extensions.models among the model names).
"""

from lifecycle import config
from lifecycle.config import schema
from lifecycle.core import files
from lifecycle.core.errors import ParamsError
from lifecycle.project.check import check_project


def run(write_schema: bool = False) -> int:
    if write_schema:
        files.write_bytes(schema.schema_text(own_models()).encode(), schema.SCHEMA_FILE)
        print(f"{schema.SCHEMA_FILE}: written from lifecycle.config.params")
    print(check_project())
    return 0


def own_models() -> tuple[str, ...]:
    """The names of the project's own models; none while params.yaml is invalid (the check
    that follows says why)."""
    try:
        return tuple(config.load_params().extensions.models)
    except ParamsError:
        return ()
