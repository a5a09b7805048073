"""Edit YAML files a person keeps (params.yaml, dvc.yaml) so that only the lines meant to change
differ: ruamel's round trip in the template's layout, values replaced in their old style, and
the comments that belong to the next key kept where they were."""

import json
import textwrap
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString


def round_trip_yaml() -> Any:
    """ruamel in the layout of the template's YAML files (maps by 2, list items indented under
    their key, quotes and `null` as written), so a dump changes only the lines init sets."""
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter

    class Representer(RoundTripRepresenter):
        """`null` written as `null`, not as nothing (a subclass: ruamel's own stays as is)."""

    Representer.add_representer(type(None), lambda representer, _: representer.represent_scalar(
        "tag:yaml.org,2002:null", "null"))
    yaml = YAML()
    yaml.Representer = Representer
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


def replace_value(mapping: Any, key: str, new: Any) -> None:
    """mapping[key] = new in the old value's style (quotes, flow or block), keeping the blank
    and comment lines that followed the old value: ruamel stores them on the deepest last entry
    of a block collection, and they belong to what comes next."""
    old = mapping.get(key)
    new = commented(new, flow=is_flow(old))
    if isinstance(old, DoubleQuotedScalarString) and isinstance(new, str):
        new = DoubleQuotedScalarString(new)  # a date stays "2024-01-01"
    mapping[key] = new
    if isinstance(old, dict | list) and old and not is_flow(old):
        holder, last = deepest_last(old)
        token = end_comment(holder, last)
        if token is not None:
            holder, last = deepest_last(new) if new and not is_flow(new) else (mapping, key)
            set_end_comment(holder, last, token)


def commented(value: Any, flow: bool = False) -> Any:
    """Plain dicts and lists as ruamel's, which carry comments (and flow style if asked)."""
    if isinstance(value, dict) and not isinstance(value, CommentedMap):
        value = CommentedMap((k, commented(v)) for k, v in value.items())
    elif isinstance(value, list) and not isinstance(value, CommentedSeq):
        value = CommentedSeq(commented(v) for v in value)
    if flow and isinstance(value, CommentedMap | CommentedSeq):
        value.fa.set_flow_style()
    return value


def is_flow(value: Any) -> bool:
    return isinstance(value, CommentedMap | CommentedSeq) and value.fa.flow_style() is True


def deepest_last(node: Any) -> tuple[Any, Any]:
    """The collection and key (or index) of the last scalar entry of a nested collection."""
    while True:
        last = next(reversed(node)) if isinstance(node, dict) else len(node) - 1
        child = node[last]
        if not isinstance(child, dict | list) or not child:
            return node, last
        node = child


def end_comment(holder: Any, key: Any) -> Any:
    """The comment token after an entry's value: third in a map's slot, first in a list's."""
    slot = holder.ca.items.get(key) if hasattr(holder, "ca") else None
    return (slot[2] if isinstance(holder, dict) else slot[0]) if slot else None


def set_end_comment(holder: Any, key: Any, token: Any) -> None:
    if isinstance(holder, dict):
        holder.ca.items.setdefault(key, [None, None, None, None])[2] = token
    else:
        holder.ca.items.setdefault(key, [None, None])[0] = token


def set_line_comment(mapping: Any, key: str, text: str) -> None:
    """Replace the comment at the end of `key`'s line. ruamel keeps the full-line comments
    below it in the same token; they belong to the next key, so they stay."""
    entry = mapping.ca.items.get(key)
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None:
        mapping.yaml_add_eol_comment(f"# {text}", key)
        return
    _, _, below = token.value.partition("\n")
    token.value = f"# {text}\n{below}"


def folded(text: str, width: int = 88) -> Any:
    """A `>-` block scalar folded at about `width` columns, as the template writes them."""
    scalar, position = FoldedScalarString(text), 0
    scalar.fold_pos = []
    for line in textwrap.wrap(text, width)[:-1]:
        position += len(line)
        scalar.fold_pos.append(position)  # the space after this line
        position += 1
    return scalar


def dump(yaml: Any, document: Any) -> str:
    """The document with its comments; without them where keeping them would corrupt it.

    ruamel can join two keys onto one line when a replaced value carried the line break (seen
    on a params.yaml that `dvc exp run -S` had rewritten), so the text is read back and checked.
    """
    import io as text_io

    import yaml as plain_yaml

    buffer = text_io.StringIO()
    yaml.dump(document, buffer)
    text = buffer.getvalue()
    data = json.loads(json.dumps(document))
    try:
        if plain_yaml.safe_load(text) == data:
            return text
    except plain_yaml.YAMLError:
        pass
    print("note: the file's comments could not be kept; it is written without them")
    return plain_yaml.safe_dump(data, sort_keys=False, width=100)
