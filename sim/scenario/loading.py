"""Scenario files: YAML read safely, turned into a validated Scenario, errors as one line.

Why apart from the schema: reading files (size, encoding, YAML quirks) is a concern of
its own that the CLI, the app and the sweep loader share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with ``ScenarioLoader``'s checks (for any input file)."""
    return yaml.load(text, Loader=ScenarioLoader)  # a SafeLoader: no arbitrary objects


def parse_yaml(text: str, source: str | None = None) -> Any:
    """YAML text to plain data, or one ScenarioError naming the line and the problem."""
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ScenarioError([f"not valid YAML{where}: {problem}"], source) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # any other constructor failure: still one line, never a traceback
        raise ScenarioError([f"not valid YAML: {exc}"], source) from None


def scenario_from_yaml(text: str, source: str | None = None) -> Scenario:
    """Parse YAML text (a file's content or an upload) into a Scenario."""
    data = parse_yaml(text, source)
    if data is None:
        raise ScenarioError(["the file is empty"], source)
    return scenario_from_dict(data, source)


def read_text_file(path: str | Path) -> str:
    """A UTF-8 input file's text, or one ScenarioError saying why it cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(["no such file"], str(p)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"cannot be read ({type(exc).__name__})"], str(p)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file, the field and the reason."""
    return scenario_from_yaml(read_text_file(path), Path(path).name)
