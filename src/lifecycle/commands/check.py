"""`lifecycle check`: validate params.yaml and the data contract, and nothing else.

The same validation as the `check` stage of dvc.yaml (and as every stage's first step): unknown
keys with a "did you mean", types, ranges, names the task and the registry allow, and the checks
across params.yaml and the contract. `--write-schema` regenerates params.schema.json, the JSON
Schema editors use to complete and flag params.yaml, from the params dataclasses.
"""

from lifecycle import config, files
from lifecycle.stages import check


def run(write_schema: bool = False) -> int:
    if write_schema:
        files.write_bytes(config.schema_text().encode(), config.SCHEMA_FILE)
        print(f"{config.SCHEMA_FILE}: written from src/lifecycle/config.py")
    check.run()
    return 0
