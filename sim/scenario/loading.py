"""Scenario files: YAML read safely, turned into a validated Scenario, errors as one line.

Why apart from the schema: reading files (size, encoding, YAML quirks) is a concern of
its own that the CLI, the app and the sweep loader share.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from sim.scenario.limits import MAX_EXTENDS_DEPTH, MAX_FILE_BYTES, MAX_YAML_NODES, excerpt
from sim.scenario.schema import Scenario, ScenarioError, scenario_from_dict


class ScenarioLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stricter where a silent guess would change a scenario.

    - A key given twice in one mapping is an error (plain PyYAML keeps the last one, so
      ``seed: 5`` ... ``seed: 6`` would quietly run seed 6). Keys brought in by a merge
      (``<<: *defaults``) may still be overridden.
    - A date-like value that is no real date (``2027-02-30``) is reported as a YAML
      problem with its line, instead of escaping as a bare ValueError.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=False)
            try:
                first = seen.get(key)
            except TypeError:  # unhashable: the base constructor reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r} (first given at line {first.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid date: {exc}", node.start_mark
            ) from None


_MERGE_TAG = "tag:yaml.org,2002:merge"
ScenarioLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", ScenarioLoader.construct_yaml_timestamp
)


def _expanded_size(root: yaml.Node) -> int:
    """Nodes (plus scalar characters / 64) of the document once aliases are expanded.

    Counted on the composed node graph, where an alias is a shared node, in time linear
    in the file: a billion-node alias bomb is measured, never built. A node that
    contains itself (``&a [*a]``) counts as unbounded.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            return MAX_YAML_NODES + 1  # recursive structure
        active.add(key)
        if isinstance(node, yaml.ScalarNode):
            total = 1 + len(node.value) // 64
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(c) for c in node.value)
        else:
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        total = min(total, MAX_YAML_NODES + 1)
        active.discard(key)
        sizes[key] = total
        return total

    return size(root)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with ``ScenarioLoader``'s checks and a size limit after alias
    expansion (for any input file); a YAMLError when the document is too big."""
    if len(text) > MAX_FILE_BYTES:
        raise yaml.YAMLError(f"larger than {MAX_FILE_BYTES // 1024**2} MB")
    loader = ScenarioLoader(text)  # a SafeLoader: no arbitrary objects
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_NODES:
            raise yaml.YAMLError(
                f"more than {MAX_YAML_NODES:,} values once aliases (*name) are expanded"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_yaml(text: str, source: str | None = None) -> Any:
    """YAML text to plain data, or one ScenarioError naming the line and the problem."""
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc) if exc.args else "syntax error")
        raise ScenarioError([f"not valid YAML{where}: {excerpt_text(problem)}"], source) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        # any other constructor failure: still one line, never a traceback
        raise ScenarioError([f"not valid YAML: {excerpt_text(str(exc))}"], source) from None


def excerpt_text(text: str, limit: int = 200) -> str:
    """A message cut to ``limit`` characters, so a huge value is never echoed whole."""
    return text if len(text) <= limit else text[:limit] + "..."


def _deep_merge(base: Any, changes: Any) -> Any:
    """``changes`` laid over ``base``: mappings merge key by key, anything else replaces
    (a list is given whole); ``null`` is a value, not a deletion."""
    if isinstance(base, dict) and isinstance(changes, dict):
        out = dict(base)
        for key, value in changes.items():
            out[key] = _deep_merge(base[key], value) if key in base else value
        return out
    return changes


def resolve_extends(
    data: Any, source: str | None, base_dir: Path | None, _chain: tuple[Path, ...] = ()
) -> Any:
    """Plain scenario data with its ``extends:`` chain laid underneath, before validation.

    ``extends`` names a scenario file relative to the extending file; the result is that
    file's (resolved) data with this file's keys merged over it. Cycles and chains longer
    than MAX_EXTENDS_DEPTH are refused.
    """
    if not isinstance(data, dict) or "extends" not in data:
        return data
    ref = data["extends"]
    if not isinstance(ref, str) or not ref.strip():
        raise ScenarioError([f"extends: must be a file name (got {excerpt(ref)})"], source)
    if base_dir is None:
        raise ScenarioError(
            [
                f"extends: {excerpt(ref)} cannot be resolved here (no folder to look in); "
                "upload the resolved scenario instead"
            ],
            source,
        )
    path = (base_dir / ref).resolve()
    if path in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, path))
        raise ScenarioError([f"extends: cycle {cycle}"], source)
    if len(_chain) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError([f"extends: more than {MAX_EXTENDS_DEPTH} files deep ({path})"], source)
    parent_source = str(path)
    parent = parse_yaml(read_text_file(path), parent_source)
    if parent is None:
        raise ScenarioError(["the file is empty"], parent_source)
    if not isinstance(parent, dict):
        raise ScenarioError(
            [f"must be a mapping of fields (got {type(parent).__name__})"], parent_source
        )
    parent = resolve_extends(parent, parent_source, path.parent, (*_chain, path))
    own = {k: v for k, v in data.items() if k != "extends"}
    return _deep_merge(parent, own)


def scenario_from_yaml(
    text: str, source: str | None = None, base_dir: str | Path | None = None
) -> Scenario:
    """Parse YAML text (a file's content or an upload) into a Scenario.

    ``base_dir`` is where ``extends:`` files are looked up (the file's folder); without
    it a scenario that extends another is refused.
    """
    data = parse_yaml(text, source)
    if data is None:
        raise ScenarioError(["the file is empty"], source)
    here = Path(base_dir) if base_dir is not None else None
    chain = (Path(source).resolve(),) if (source and here is not None) else ()
    data = resolve_extends(data, source, here, chain)
    return scenario_from_dict(data, source)


def read_input_bytes(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular input file of at most ``limit`` bytes, or one ScenarioError.

    Opened without blocking and checked with fstat before reading, so a FIFO, a device
    (``/dev/zero``), a folder or a symlink loop is refused at once instead of hanging or
    filling memory.
    """
    p = Path(path)
    where = str(p.absolute())
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ScenarioError(["no such file"], where) from None
    except OSError as exc:
        raise ScenarioError([_unreadable(exc)], where) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise ScenarioError([f"cannot be read ({kind})"], where)
        if info.st_size > limit:
            too_big = f"is {info.st_size:,} bytes, more than the limit of {limit:,}"
            raise ScenarioError([too_big], where)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # files whose size the system does not report (/proc)
                raise ScenarioError([f"is more than the limit of {limit:,} bytes"], where)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ScenarioError([_unreadable(exc)], where) from None
    finally:
        os.close(fd)


def _unreadable(exc: OSError) -> str:
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


def decode_text(data: bytes, source: str | None) -> str:
    """UTF-8 text (a BOM tolerated), or one ScenarioError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"is not UTF-8 text (byte {exc.start})"], source) from None


def read_text_file(path: str | Path) -> str:
    """A UTF-8 input file's text, or one ScenarioError saying why it cannot be read."""
    return decode_text(read_input_bytes(path), str(Path(path).absolute()))


def check_upload(data: bytes, name: str = "upload") -> Scenario:
    """A scenario from uploaded bytes (the app), within the same limits as files.

    Size is checked before decoding and aliases before expansion, so one upload cannot
    hold a server thread or its memory; ``extends:`` is refused (no folder to resolve it).
    """
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"is {len(data):,} bytes, more than the limit of {MAX_FILE_BYTES:,}"], name
        )
    return scenario_from_yaml(decode_text(data, name), name)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file, the field and the reason.

    ``extends: other.yaml`` builds on another scenario file (relative to this one).
    """
    p = Path(path)
    return scenario_from_yaml(read_text_file(p), str(p.absolute()), p.absolute().parent)
