"""The configuration layer: params.yaml as typed, validated objects (`params`), the data contract
(`contract`), YAML read within bounds (`yaml_files`) and the JSON Schema (`schema`).

`from lifecycle import config` gives what every stage needs from params.yaml; `config.load`
validates the data contract beside it too.
"""

from pathlib import Path

from lifecycle.config import contract
from lifecycle.config.params import (
    METRIC_NAMES,
    MODEL_NAMES,
    PARAMS_FILE,
    Params,
    Source,
    Split,
    Validation,
    parse,
)
from lifecycle.config.params import load as load_params
from lifecycle.config.yaml_files import parse_yaml, read_yaml
from lifecycle.core.errors import did_you_mean, not_allowed_error, unknown_key_error

__all__ = ["METRIC_NAMES", "MODEL_NAMES", "PARAMS_FILE", "Params", "Source", "Split",
           "Validation", "did_you_mean", "load", "not_allowed_error", "parse", "parse_yaml",
           "read_yaml", "unknown_key_error"]


def load(path: str | Path = PARAMS_FILE, with_contract: bool = True) -> Params:
    """params.yaml, validated whole; with the project's data contract (beside it) validated and
    checked against it too, when there is one, so every stage refuses any configuration error
    before it does any work, whichever keys it uses.

    The contract is read here as validation only: a stage that does not use it neither records
    the read nor depends on it in dvc.yaml (the `check` stage does, and fails first). A missing
    contract is left to the stages that read it, and to `lifecycle check`.
    """
    params = load_params(path)
    if with_contract:
        contract.validate(params, Path(path).parent / contract.CONTRACT_FILE, required=False,
                          record=False)
    return params
