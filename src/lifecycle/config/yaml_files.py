"""YAML files of the user's (params.yaml, the data contract), read within bounds: a "billion
laughs" document of anchors and aliases is a few hundred bytes that becomes gigabytes when its
values are walked or copied."""

from pathlib import Path
from typing import Any

from lifecycle.core.errors import ParamsError

# A YAML file of the user's (params.yaml, the data contract) is refused beyond these: aliases
# (&name / *name) can multiply a few hundred bytes into gigabytes once the values are used.
MAX_YAML_BYTES = 5_000_000
MAX_YAML_VALUES = 200_000
MAX_YAML_DEPTH = 50


def read_yaml(path: str | Path, if_missing: str = "check the path") -> Any:
    """The data in a YAML file of the user's, refused (ParamsError naming the file) when it is
    missing, too large, not UTF-8, not valid YAML or too large once its aliases are expanded.

    Every YAML file a user writes goes through here: a "billion laughs" document of anchors and
    aliases is a few hundred bytes that becomes gigabytes when its values are walked or copied.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ParamsError(f"{path}: {size:,} bytes, more than the {MAX_YAML_BYTES:,} a "
                              f"settings file may hold; is this the right file?")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found; {if_missing}") from None
    except UnicodeDecodeError:
        raise ParamsError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise ParamsError(f"{path}: cannot be read ({error.strerror}); {if_missing}") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, where: str) -> Any:
    """YAML text as data, with the bounds of `read_yaml`; `where` names it in errors."""
    import yaml

    if len(text) > MAX_YAML_BYTES:
        raise ParamsError(f"{where}: more than {MAX_YAML_BYTES:,} characters; is this the "
                          f"right file?")
    loader = yaml.SafeLoader(text)
    try:
        # What yaml.safe_load does, with a look at the size before any value is built: merge
        # keys (<<: *name) copy while values are built, so the nodes are measured first.
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as error:  # on one line: the parser's own message spans several
        raise ParamsError(f"{where}: not valid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise ParamsError(f"{where}: nested too deeply to read; flatten it") from None
    finally:
        loader.dispose()


def _check_expanded_size(root: Any, where: str) -> None:
    """Count the values of a YAML node graph as if every alias were written out, stopping at
    the limits, so the count costs at most MAX_YAML_VALUES steps whatever the document."""
    import yaml

    count, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise ParamsError(f"{where}: more than {MAX_YAML_VALUES:,} values once its aliases "
                              f"(*name) are expanded; write the values out or remove the "
                              f"aliases")
        if depth > MAX_YAML_DEPTH:
            raise ParamsError(f"{where}: nested more than {MAX_YAML_DEPTH} levels deep; "
                              f"flatten it")
        if isinstance(node, yaml.MappingNode):
            stack += [(child, depth + 1) for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(child, depth + 1) for child in node.value]
