"""Read and write the manifest stream Helm pipes through a post-renderer, in both dialects.

Helm 3 writes `---` plus a `# Source: <chart>/templates/<file>` comment before each object;
Helm 4 writes no comments and puts the file name in the `postrenderer.helm.sh/postrender-filename`
annotation instead. Both are handled the same way: the text is cut at document markers, each
piece is parsed on its own (so an error can name its document and line), and on output every
piece nobody changed is written back as the exact text that came in. Only the documents the
post-renderer modified are serialized again, keeping their leading comments. That makes
unmanaged objects byte-for-byte identical, and a stream with nothing to fix a true fixed point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from lmcache_k8s.names import HELM4_FILENAME_ANNOTATION

try:  # the libyaml bindings are ~10x faster; PyYAML without them still works
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# A document marker: `---` at the start of a line, followed by blank, space or end of line.
# YAML forbids that sequence inside any scalar, so cutting the text here is always safe.
_MARKER = re.compile(r"^---(?=[ \t\r]|$)", re.MULTILINE)


class StreamError(ValueError):
    """The input is not a YAML stream; the message names the document and line."""


class _Dumper(_BaseDumper):
    """Block style, no anchors; multi-line strings as `|` blocks so scripts stay readable."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


@dataclass
class Document:
    """One piece of the stream between two `---` markers."""

    number: int  # 1-based position among the documents, as error messages count them
    line: int  # 1-based line of the stream where the document's text starts
    head: str  # the `---` marker line as it came in ("" for a first document without one)
    body: str  # the text after the marker, comments included
    objects: list[Any] = field(default_factory=list)  # parsed YAML documents (usually one)
    changed: bool = False

    def render(self) -> str:
        if not self.changed:
            return self.head + self.body
        head = self.head if not self.head or self.head.endswith("\n") else self.head + "\n"
        return head + leading_comments(self.body) + dump_all(self.objects)


@dataclass
class Stream:
    documents: list[Document]

    @property
    def dialect(self) -> str:
        """'helm3' when `# Source:` comments are present, 'helm4' with the filename annotation."""
        for doc in self.documents:
            if "# Source: " in leading_comments(doc.body):
                return "helm3"
        for doc in self.documents:
            for obj in doc.objects:
                meta = obj.get("metadata") if isinstance(obj, dict) else None
                annotations = meta.get("annotations") if isinstance(meta, dict) else None
                if isinstance(annotations, dict) and HELM4_FILENAME_ANNOTATION in annotations:
                    return "helm4"
        return "plain"

    def render(self) -> str:
        return "".join(doc.render() for doc in self.documents)


def leading_comments(body: str) -> str:
    """The comment and blank lines a document starts with (Helm 3's `# Source:` line)."""
    end = 0
    for line in body.splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        end += len(line)
    return body[:end]


def dump_all(objects: list[Any]) -> str:
    return yaml.dump_all(
        objects,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=1 << 30,
    )


def _cut(text: str) -> list[tuple[int, str, str]]:
    """(first line, marker head, body) for every piece of text between markers."""
    starts = [m.start() for m in _MARKER.finditer(text)]
    pieces: list[tuple[int, str, str]] = []
    if not starts or starts[0] > 0:
        first_end = starts[0] if starts else len(text)
        pieces.append((1, "", text[:first_end]))
    line = 1 + (text.count("\n", 0, starts[0]) if starts else 0)
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        chunk = text[start:end]
        newline = chunk.find("\n")
        rest = chunk[3:] if newline < 0 else chunk[3:newline]
        if rest.strip():
            # content after the marker on the same line (`--- {a: 1}`): it belongs to the body
            head, body = "---", chunk[3:]
        else:
            split = len(chunk) if newline < 0 else newline + 1
            head, body = chunk[:split], chunk[split:]
        pieces.append((line, head, body))
        line += chunk.count("\n")
    return pieces


def read_stream(text: str) -> Stream:
    """Parse a manifest stream; raises StreamError naming the first malformed document."""
    documents: list[Document] = []
    number = 0
    for line, head, body in _cut(text):
        if not head and not body.strip():
            continue  # nothing before the first marker
        number += 1
        doc = Document(number=number, line=line, head=head, body=body)
        try:
            doc.objects = [o for o in yaml.load_all(body, Loader=_Loader) if o is not None]
            if "&" in body:  # an alias needs an anchor in the same document
                doc.objects = [unshare(o) for o in doc.objects]
        except yaml.MarkedYAMLError as exc:
            raise StreamError(_describe(exc, doc)) from None
        except yaml.YAMLError as exc:
            raise StreamError(f"document {number} (line {line}): {exc}") from None
        documents.append(doc)
    return Stream(documents)


def unshare(node: Any, seen: set[int] | None = None) -> Any:
    """`node` with every map and list appearing once: shared ones (YAML aliases) are copied.

    The loader turns `*alias` (and the values a `<<: *merge` key brings in) into references
    to one Python object, so an edit made in one place would show up in every place the
    anchor is used: adding NVIDIA_VISIBLE_DEVICES to an engine's env would also change a
    sidecar that shares the list. Copies make each place its own; a document nobody
    changes is written back as its original text anyway, anchors included.
    """
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        if id(node) in seen:
            node = dict(node)
        seen.add(id(node))
        for key, value in node.items():
            if isinstance(value, dict | list):
                node[key] = unshare(value, seen)
    elif isinstance(node, list):
        if id(node) in seen:
            node = list(node)
        seen.add(id(node))
        for index, value in enumerate(node):
            if isinstance(value, dict | list):
                node[index] = unshare(value, seen)
    return node


def _describe(exc: yaml.MarkedYAMLError, doc: Document) -> str:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "malformed YAML"
    if mark is None:
        return f"document {doc.number} (line {doc.line}): not valid YAML: {problem}"
    offset = 1 if doc.head.endswith("\n") else 0
    line = doc.line + offset + mark.line
    return (
        f"document {doc.number}, line {line}, column {mark.column + 1}: not valid YAML: {problem}"
    )
