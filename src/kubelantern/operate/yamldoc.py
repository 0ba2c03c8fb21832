"""A person's YAML: parsed with line numbers, so every error can point at a line.

The editor shows the API server's complaints next to the line they are about.
The server names fields by path (``spec.template.spec.containers[0].image``
from validation, ``.spec.containers[name="nginx"].image`` from server-side
apply), so each document keeps its node tree, and ``line_of`` walks a path
down that tree to the line of the deepest field that exists.

Timestamps stay strings (``date: 2024-01-01`` in a ConfigMap must not become a
datetime), and a key given twice in one mapping is an error with its line, as
kubectl reports it, instead of the last one silently winning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from kubelantern import errors, yamltext

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(_Base):  # type: ignore[misc]
    """SafeLoader (C speed when available) without the timestamp resolver."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


@dataclass
class Document:
    """One document of a multi-document text; ``line`` is 1-based, in the whole text."""

    index: int
    obj: Any
    node: yaml.Node
    line: int

    def line_of(self, path: str) -> int:
        return line_of(self.node, path) or self.line

    def key_line(self, *keys: str) -> int:
        """The line of a nested key (``kind``, ``metadata.namespace``), else the document's."""
        return line_of(self.node, ".".join(keys)) or self.line


def _mark(exc: yaml.YAMLError) -> tuple[int | None, int | None]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return None, None
    return int(mark.line) + 1, int(mark.column) + 1


def _check_duplicates(node: yaml.Node) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in seen:
                        raise errors.InvalidYaml(
                            f"line {line}: key {key.value!r} is already defined on line "
                            f"{seen[key.value]}",
                            line=line,
                            column=key.start_mark.column + 1,
                        )
                    seen[key.value] = line
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def parse_documents(text: str) -> list[Document]:
    """Every non-empty document of ``text``; raises ``InvalidYaml`` with line and column."""
    loader = _Loader(text)
    docs: list[Document] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_duplicates(node)
            obj = loader.construct_document(node)
            if obj is not None:
                docs.append(Document(index, obj, node, node.start_mark.line + 1))
            index += 1
    except yaml.YAMLError as exc:
        line, column = _mark(exc)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {line}, column {column}: " if line else ""
        raise errors.InvalidYaml(f"{where}{problem}", line=line, column=column) from None
    finally:
        loader.dispose()
    return docs


def require_object(doc: Document) -> dict[str, Any]:
    """The document as a Kubernetes object, or a clear error at its line."""
    if not isinstance(doc.obj, dict):
        raise errors.InvalidYaml(
            f"line {doc.line}: document {doc.index + 1} is a {type(doc.obj).__name__}, "
            "not a mapping with apiVersion, kind and metadata",
            line=doc.line,
            column=1,
        )
    return doc.obj


# ---- field paths -> lines -------------------------------------------------

_STEP = re.compile(r"\[((?:\"(?:[^\"\\]|\\.)*\"|[^\]])*)\]|\.?([^.\[\]]+)")


def split_path(path: str) -> list[str | tuple[str, str]]:
    """``a.b[0].c[name="x"]`` -> ``["a", "b", ("[]", "0"), "c", ("[]", 'name="x"')]``."""
    steps: list[str | tuple[str, str]] = []
    for match in _STEP.finditer(path.strip()):
        bracket, name = match.group(1), match.group(2)
        if bracket is not None:
            steps.append(("[]", bracket))
        elif name:
            steps.append(name)
    return steps


def _scalar(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].replace('\\"', '"')
    return raw


def _pairs(selector: str) -> list[tuple[str, str]]:
    """``containerPort=80,protocol="TCP"`` -> [("containerPort", "80"), ("protocol", "TCP")]."""
    out: list[tuple[str, str]] = []
    for part in re.findall(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+', selector):
        key, _, value = part.partition("=")
        out.append((key.strip(), _scalar(value)))
    return out


def _mapping_get(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k, v
    return None


def _item_matches(item: yaml.Node, pairs: list[tuple[str, str]]) -> bool:
    for key, value in pairs:
        found = _mapping_get(item, key)
        if found is None or not isinstance(found[1], yaml.ScalarNode):
            return False
        if found[1].value != value:
            return False
    return True


def _bracket(node: yaml.Node, selector: str) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode):
        if selector.isdigit():
            index = int(selector)
            return node.value[index] if index < len(node.value) else None
        if selector.startswith("="):  # a set of scalars: [="value"]
            wanted = _scalar(selector[1:])
            for item in node.value:
                if isinstance(item, yaml.ScalarNode) and item.value == wanted:
                    return item
            return None
        pairs = _pairs(selector)
        matching: list[yaml.Node] = [i for i in node.value if _item_matches(i, pairs)]
        return matching[0] if matching else None
    found = _mapping_get(node, _scalar(selector))  # a map key: annotations[example.com/x]
    return found[0] if found else None


def line_of(root: yaml.Node, path: str) -> int | None:
    """The 1-based line of the deepest field of ``path`` present under ``root``.

    ``None`` when not even the first step exists. A missing field (``Required
    value``) thus points at its parent, which is where it has to be added.
    """
    node: yaml.Node | None = root
    line: int | None = None
    for step in split_path(path):
        if node is None:
            break
        if isinstance(step, tuple):
            target = _bracket(node, step[1])
            if target is None:
                break
            if isinstance(node, yaml.MappingNode):  # the key node of a map entry
                line = target.start_mark.line + 1
                found = (
                    _mapping_get(node, target.value)
                    if isinstance(target, yaml.ScalarNode)
                    else None
                )
                node = found[1] if found else None
            else:
                line = target.start_mark.line + 1
                node = target
            continue
        found = _mapping_get(node, step)
        if found is None:
            break
        line = found[0].start_mark.line + 1
        node = found[1]
    return line


def to_yaml(obj: Any) -> str:
    """Block-style YAML in the object's own key order (as the API server sent it)."""
    return yamltext.dump(obj)
