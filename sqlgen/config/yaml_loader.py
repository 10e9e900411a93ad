"""Reads config YAML defensively: one clear `ConfigError` line for anything wrong with the text.

`yaml.safe_load` alone accepts duplicate keys (the last one silently wins), expands
aliases without limit (a few hundred bytes of nested anchors become gigabytes once
validation walks them), and raises `ValueError` with a traceback for a timestamp that is
not a real date (`2025-02-29`). This loader refuses the first two and leaves an
impossible date as text, so the config model rejects it naming the field.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sqlgen.errors import ConfigError

MAX_CONFIG_BYTES = 1 << 20  # a config is a few KiB; refuse anything absurd before parsing
MAX_NODES = 20_000  # YAML nodes once aliases are expanded; the default config has ~150


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:  # own keys only: a key may override a `<<` merge
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise ConfigError(
                        f"duplicate key {short(key)} at line {line} (first at line "
                        f"{seen[key]}); each setting may appear once"
                    )
                seen[key] = line
            except TypeError:
                continue  # unhashable key: SafeLoader reports it
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:  # 2025-02-29: left as text for the model to reject by field
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)
# YAML 1.1 reads `1e-3` (no dot) as text; read it as the number everyone means (YAML 1.2).
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def clip(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters, for echoing user input in one line."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short(value: Any, limit: int = 60) -> str:
    """`repr` of a value (ISO text for a date) cut to `limit` characters."""
    return clip(value.isoformat() if hasattr(value, "isoformat") else repr(value), limit)


def _expanded_size(root: Node) -> int:
    """Nodes in the document with every alias expanded, stopping once past MAX_NODES."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError("an alias refers to its own anchor (a recursive structure)")
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                break
        active.discard(key)
        sizes[key] = total
        return total

    return size(root)


def parse_yaml(text: str) -> Any:
    """Parse one YAML document with the checks above; ConfigError (no source) on failure."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if _expanded_size(root) > MAX_NODES:
            raise ConfigError(
                f"more than {MAX_NODES:,} values once YAML aliases are expanded; "
                "write the settings out instead of nesting anchors"
            )
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"not valid YAML{where}: {clip(str(problem), 80)}") from exc
    except RecursionError as exc:
        raise ConfigError("YAML nested too deeply") from exc
    finally:
        loader.dispose()


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def read_yaml_file(path: Path) -> Any:
    """The parsed document of a config file; every failure is a ConfigError naming it."""
    try:
        try:
            mode = path.stat().st_mode  # never opens it: a FIFO does not block here
        except (FileNotFoundError, NotADirectoryError):
            raise ConfigError(f"{path}: config file not found") from None
        if stat.S_ISDIR(mode):
            raise ConfigError(f"{path}: is a directory, not a config file")
        if not stat.S_ISREG(mode):
            raise ConfigError(
                f"{path}: is not a regular file (a {_kind(mode)}); give a YAML config file"
            )
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes; a config file is at most 1 MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the config as UTF-8"
        ) from exc
    try:
        return parse_yaml(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
