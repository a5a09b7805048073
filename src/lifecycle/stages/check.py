"""Stage check: params.yaml and the data contract, each valid and the two in agreement, and the
hyperparameters of the model and the baselines, and the model's search space, accepted by their
estimators (`lifecycle.project.check`).

dvc.yaml lists it first, with the whole of params.yaml and the contract as its dependencies and
no outputs: any edit of either reruns it, so `dvc repro` and `dvc exp run -S` stop within seconds
on an unknown or invalid key even when no stage uses that key, and since nothing depends on it,
it reruns nothing else. Every other stage runs the same validation when it loads params.yaml.
"""

from lifecycle.project.check import check_project


def run() -> None:
    print(check_project())


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("check", run)
