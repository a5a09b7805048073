"""The base of every section of params.yaml (`lifecycle.config.params`)."""

from typing import Any, ClassVar

from lifecycle.core import stage_trace


class Section:
    """Base of every params section: reading a leaf field records its dotted key."""

    key: ClassVar[str] = ""

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        fields = object.__getattribute__(self, "__dataclass_fields__")
        if name in fields and not isinstance(value, Section):
            prefix = type(self).key
            stage_trace.record_param(f"{prefix}.{name}" if prefix else name)
        return value

    def check(self, where: str) -> None:
        """Cross-field and range checks; override in sections that need them."""
