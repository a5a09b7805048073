"""The project's configuration checked as a whole: params.yaml and the data contract, each valid
and the two in agreement, and the hyperparameters of the model and the baselines, and the
model's search space, accepted by their estimators, and the project's own code that params.yaml
`extensions` names importable from its src/. The `check` stage and `lifecycle check` run
it; every other stage runs the params and contract part when it loads params.yaml. In a project
whose library is installed (code_versions.yaml), it also checks every stage's recorded hash, and
the template's dvc.yaml runs it always: a library upgraded without `lifecycle code-deps` fails
`dvc repro` even when no stage would have run.
"""

from lifecycle import config
from lifecycle.config import contract
from lifecycle.config.params import Extensions
from lifecycle.core import code_versions, extensions, paths, stage_trace
from lifecycle.modeling import models


def check_project() -> str:
    """Validate the project's configuration; a line that says what was checked."""
    code_versions.check_stages()  # the installed library's code is the code each stage records
    params = config.load(with_contract=False)
    rules = contract.validate(params, paths.CONTRACT)
    features = rules.with_role("feature")
    with stage_trace.paused():  # checked, not used: the stage declares params.yaml whole
        for name in (params.train.model, *models.BASELINES):  # scikit-learn's checks, and ours
            chosen = params.train.hyperparameters_for(name)
            estimator = models.build_estimator(name, models.hyperparameters_of(name, chosen),
                                               params.seed, [], params.problem.task,
                                               params.extensions.models)
            if name == params.train.model:  # its search space, searched or not
                models.check_space(name, params.tuning.space_for(name), estimator)
        check_own_code(params.extensions)
    with stage_trace.paused():  # a summary, not a use: the stage declares no params keys
        return (f"{config.PARAMS_FILE} and {paths.CONTRACT}: valid and in agreement "
                f"({params.problem.task} target {params.problem.target!r}, model "
                f"{params.train.model}, {len(features)} feature columns)")


def check_own_code(own: Extensions) -> None:
    """Each model, transformer and metric of the project's own imports from its src/ and takes
    what the stages give it (train.model's is also built above), chosen or not yet."""
    takes = {"models": (("binary", {}, 0, []), models.FACTORY_ARGUMENTS),
             "transformers": ((), "no argument"), "metrics": ((None, None), "(labels, scores)")}
    for kind, (arguments, described) in takes.items():
        for name, spec in getattr(own, kind).items():
            extensions.load(spec, f"params.yaml: extensions.{kind}.{name}", arguments,
                            described)
