"""params.yaml `extensions:`: the project's own models, transformers and metrics, by import path
(loaded by `lifecycle.core.extensions`; see docs/extensions.md)."""

import dataclasses
from typing import ClassVar

from lifecycle.config.names import METRIC_NAMES, MODEL_NAMES
from lifecycle.config.section import Section
from lifecycle.core import extensions
from lifecycle.core.errors import ParamsError

# Keys of reports/evaluation/metrics.json besides the task's metrics: a project's own metric
# (extensions.metrics) may not take one of them.
HEADLINE_KEYS = ("test_rows", "worst_slice_gap")
HEADLINE_PREFIXES = ("cv_", "lift_over_")


@dataclasses.dataclass(frozen=True)
class Extensions(Section):
    """The project's own code, in a package of its src/ folder: each a name mapped to an import
    path package.module:name. models: factories as the built-in ones, (task, hyperparameters,
    seed, categorical) -> an unfitted estimator, chosen by train.model; transformers: factories
    of no argument -> a transformer of the model's input columns whose numeric output joins the
    features; metrics: functions (labels, scores) -> a number, reported beside the task's
    metrics. See docs/extensions.md."""

    key: ClassVar[str] = "extensions"
    models: dict[str, str] = dataclasses.field(default_factory=dict)
    transformers: dict[str, str] = dataclasses.field(default_factory=dict)
    metrics: dict[str, str] = dataclasses.field(default_factory=dict)

    def check(self, where: str) -> None:
        for kind in extensions.KINDS:
            for name, spec in getattr(self, kind).items():
                place = f"{where}.{kind}.{name}"
                if not isinstance(name, str) or not extensions.NAME.match(name):
                    raise ParamsError(f"{place}: {name!r} is not a name; use letters, digits "
                                      f"and _, starting with a letter")
                extensions.split(spec, place)
        for name in self.models:
            if name in MODEL_NAMES:
                raise ParamsError(f"{where}.models.{name}: the name of a built-in model; name "
                                  f"the project's own differently")
        built_in = {metric for names in METRIC_NAMES.values() for metric in names}
        for name in self.metrics:
            if (name in built_in or name in HEADLINE_KEYS
                    or name.startswith(HEADLINE_PREFIXES)):
                raise ParamsError(f"{where}.metrics.{name}: a name reports/evaluation/"
                                  f"metrics.json already uses; name the project's own "
                                  f"differently")

    def model_packages(self) -> tuple[str, ...]:
        """The packages a model file may name beyond the library's: those of the project's
        own models and transformers (its metrics are never part of a model)."""
        return extensions.packages([*self.models.values(), *self.transformers.values()])
