"""Stage check: params.yaml and the data contract, each valid and the two in agreement, and the
hyperparameters of the model and the baselines, and the model's search space, accepted by their
estimators.

dvc.yaml lists it first, with the whole of params.yaml and the contract as its dependencies and
no outputs: any edit of either reruns it, so `dvc repro` and `dvc exp run -S` stop within seconds
on an unknown or invalid key even when no stage uses that key, and since nothing depends on it,
it reruns nothing else. Every other stage runs the same validation when it loads params.yaml.
"""

from lifecycle import config, contract, models, paths, stage_trace


def run() -> None:
    params = config.load(with_contract=False)
    rules = contract.validate(params, paths.CONTRACT)
    features = rules.with_role("feature")
    with stage_trace.paused():  # checked, not used: the stage declares params.yaml whole
        for name in (params.train.model, *models.BASELINES):  # scikit-learn's checks, and ours
            chosen = params.train.hyperparameters_for(name)
            estimator = models.build_estimator(name, models.hyperparameters_of(name, chosen),
                                               params.seed, [], params.problem.task)
            if name == params.train.model:  # its search space, searched or not
                models.check_space(name, params.tuning.space_for(name), estimator)
    with stage_trace.paused():  # a summary, not a use: the stage declares no params keys
        print(f"{config.PARAMS_FILE} and {paths.CONTRACT}: valid and in agreement "
              f"({params.problem.task} target {params.problem.target!r}, model "
              f"{params.train.model}, {len(features)} feature columns)")


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("check", run)
