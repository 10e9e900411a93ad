"""Table schemas from `schema/*.yaml` and the reference vocabularies beside them."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import yaml

from sqlgen.resources import resource_dir

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# Schema types DuckDB's DESCRIBE spells out in full.
_DESCRIBED = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
_TYPE = re.compile(r"^[A-Z]+(\(\d+(,\s*\d+)?\))?$")


def check_identifier(name: str) -> str:
    """Identifiers are spliced into SQL, so only plain snake_case names pass."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid SQL identifier {name!r}")
    return name


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    description: str
    enum: str | None = None  # vocabulary name: held as ENUM `<enum>_enum` while generating
    uuid: bool = False  # holds a UUID: text by default, DuckDB UUID with output.id_type uuid
    realism: str | None = None  # a column only this realism level has (catalogs: v3)
    # A generating parameter (hidden risk, popularity, price level): realism v3 keeps it
    # out of the published catalog, in the ground-truth table beside it.
    ground_truth: bool = False

    @property
    def described_type(self) -> str:
        """The type as DuckDB's DESCRIBE spells it (what a Parquet file read back shows)."""
        return _DESCRIBED.get(self.type, self.type)

    @property
    def working_type(self) -> str:
        """The DuckDB type used inside sqlgen (ENUM for small vocabularies)."""
        return f"{self.enum}_enum" if self.enum else self.type


@dataclass(frozen=True)
class TableSchema:
    table: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def with_id_type(self, id_type: str) -> TableSchema:
        """The columns as written for `output.id_type`: `uuid` keeps DuckDB's 16-byte UUID
        (only DuckDB, pyarrow and Polars open it); `string` is the schema as written."""
        if id_type == "string":
            return self
        if id_type != "uuid":
            raise ValueError(f"id_type must be string or uuid, not {id_type!r}")
        cols = tuple(replace(c, type="UUID") if c.uuid else c for c in self.columns)
        return TableSchema(self.table, cols)


@cache
def table_schema(table: str, realism: str | None = None) -> TableSchema:
    """The columns of `table`; columns marked for one realism level only with it."""
    full = _read_schema(table)
    keep = tuple(c for c in full.columns if c.realism in (None, realism))
    return TableSchema(full.table, keep)


@cache
def public_schema(table: str, realism: str | None = None) -> TableSchema:
    """The columns users query: v3 leaves the generating parameters out."""
    full = table_schema(table, realism)
    if realism != "v3":
        return full
    return TableSchema(full.table, tuple(c for c in full.columns if not c.ground_truth))


@cache
def truth_schema(table: str) -> TableSchema:
    """The ground-truth table of a catalog: its key and its generating parameters."""
    full = _read_schema(table)
    key, *rest = full.columns
    return TableSchema(full.table, (key, *(c for c in rest if c.ground_truth)))


@cache
def _read_schema(table: str) -> TableSchema:
    data = yaml.safe_load((resource_dir("schema") / f"{check_identifier(table)}.yaml").read_text())
    columns = []
    for col in data["columns"]:
        if not _TYPE.match(col["type"]):
            raise ValueError(f"schema {table}: invalid type {col['type']!r}")
        columns.append(
            Column(
                check_identifier(col["name"]),
                col["type"],
                bool(col.get("nullable", True)),
                col.get("description", ""),
                check_identifier(col["enum"]) if col.get("enum") else None,
                bool(col.get("uuid", False)),
                col.get("realism"),
                bool(col.get("ground_truth", False)),
            )
        )
    return TableSchema(check_identifier(data["table"]), tuple(columns))


def payments_schema(id_type: str = "string", realism: str | None = None) -> TableSchema:
    """The payments table as a run with this `output.id_type` and realism writes it
    (v3 adds `amount_base`; v1 and v2 keep their columns)."""
    return table_schema("payments", realism).with_id_type(id_type)


@cache
def reference() -> dict[str, Any]:
    return yaml.safe_load((resource_dir("schema") / "reference.yaml").read_text())


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


@cache
def static_vocabularies() -> dict[str, tuple[str, ...]]:
    """ENUM vocabularies fixed by `reference.yaml` (per-run ones are added by callers)."""
    ref = reference()
    nested = lambda key: _unique([v for d in ref[key].values() for v in d])  # noqa: E731
    return {
        "currency": tuple(_unique([c["currency"] for c in ref["countries"]])),
        "country": tuple(c["code"] for c in ref["countries"]),
        "mcc": tuple(m["code"] for m in ref["mccs"]),
        "channel": tuple(ref["channels"]),
        "device_type": tuple(nested("device_types")),
        "card_scheme": tuple(ref["card_schemes"]),
        "pos_entry_mode": tuple(nested("pos_entry_modes")),
        "auth_result": tuple(ref["auth_results"]),
        "decline_reason": tuple(ref["decline_reasons"]),
    }
