"""The run configuration: pydantic models (unknown keys rejected) and `load_config`.

The config layer: this module, `config_doc` (the documented config), `config_messages`
(one-line validation errors), `yaml_loader` and `legacy` (the older config keys).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from sqlgen import scenarios as scenario_registry
from sqlgen import world_size
from sqlgen.config.config_messages import describe
from sqlgen.config.legacy import translate
from sqlgen.config.yaml_loader import clip, parse_yaml, read_yaml_file
from sqlgen.errors import ConfigError
from sqlgen.resources import default_config_path
from sqlgen.schema import static_vocabularies

log = logging.getLogger("sqlgen")

DEFAULT_ROW_GROUP_SIZE = 122_880


# Strict numbers: YAML `true` is not 1, and "5" is not 5. Floats accept ints.
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]

FIRST_DATE = dt.date(1970, 1, 1)  # payment dates are bounded so every time fits everywhere
LAST_DATE = dt.date(2099, 12, 31)
# DECIMAL(12,2) holds amounts up to this. A distribution's far tail (TAIL_SIGMAS standard
# deviations up) times the dearest MCC price level (`amount_scale` in
# schema/reference.yaml) must stay below it, so no drawn amount can overflow the column.
MAX_AMOUNT = 9_999_999_999.99
MAX_PRICE_LEVEL = 6.0
TAIL_SIGMAS = 7
MAX_WEIGHT = 1_000_000  # relative weights: large enough for any ratio, small enough to sum


class _Model(BaseModel):
    # allow_inf_nan=False: .inf and .nan are rejected by field in every section
    # (an infinite Beta parameter made every risk NaN, silently).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_tail(top: float, what: str) -> None:
    if not top * MAX_PRICE_LEVEL <= MAX_AMOUNT:
        raise ValueError(
            f"{what} is {top:.4g}; times the dearest price level ({MAX_PRICE_LEVEL:g}) that "
            f"exceeds the largest amount DECIMAL(12,2) holds ({MAX_AMOUNT:,.2f}); lower it"
        )


class CatalogConfig(_Model):
    """Entity catalogs: sizes, popularity and risk."""

    num_customers: Int | None = Field(
        None, ge=1, le=50_000_000,
        description="customers in the catalog; null: derived from rows and the period",
    )
    num_merchants: Int | None = Field(
        None, ge=1, le=10_000_000,
        description="merchants in the catalog; null: derived from rows and the period",
    )
    num_cards: Int | None = Field(
        None, ge=1, le=100_000_000,
        description="cards, each owned by one customer; null: derived from rows and the "
        "period, ~7 payments a card a month on average",
    )
    zipf_customers: Float = Field(
        0.8,
        ge=0,
        le=4,
        description="Zipf exponent dealing cards to owners (rank k weighs k**-s; 0 = uniform)",
    )
    zipf_merchants: Float = Field(
        1.1, ge=0, le=4, description="Zipf exponent of merchants' share of payments"
    )
    zipf_cards: Float = Field(
        0.9, ge=0, le=4, description="Zipf exponent of cards' share of payments"
    )
    merchant_risk_alpha: Float = Field(2.0, gt=0, description="merchant risk ~ Beta(alpha, beta)")
    merchant_risk_beta: Float = Field(20.0, gt=0, description="merchant risk ~ Beta(alpha, beta)")
    card_risk_alpha: Float = Field(2.0, gt=0, description="card risk ~ Beta(alpha, beta)")
    card_risk_beta: Float = Field(30.0, gt=0, description="card risk ~ Beta(alpha, beta)")
    max_size_mb: Float = Field(
        256.0, gt=0, le=1_000_000,
        description="largest catalog Parquet file, in MB: a bigger table is written as a "
        "folder of parts (catalog/<table>/part-NNNNN.parquet)",
    )
    # Sizes left unset and derived from rows and the period (`world_size`): rendered and
    # re-validated as unset, so a later change of rows derives them again.
    _derived: frozenset[str] = PrivateAttr(default=frozenset())

    @property
    def derived(self) -> frozenset[str]:
        """Names of the sizes derived from rows and the period, not set."""
        return self._derived

    @property
    def sizes(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in world_size.SIZE_FIELDS}


_HOURLY = (
    0.25,
    0.15,
    0.1,
    0.08,
    0.08,
    0.15,
    0.4,
    0.8,
    1.1,
    1.2,
    1.25,
    1.35,
    1.5,
    1.4,
    1.3,
    1.3,
    1.35,
    1.5,
    1.6,
    1.5,
    1.25,
    1.0,
    0.7,
    0.45,
)
_WEEKDAY = (0.95, 0.95, 1.0, 1.0, 1.15, 1.2, 0.75)  # Monday .. Sunday


class TemporalConfig(_Model):
    """When payments happen."""

    start_date: dt.date = Field(
        dt.date(2025, 1, 1), ge=FIRST_DATE, le=LAST_DATE, description="first day of payments"
    )
    end_date: dt.date = Field(
        dt.date(2025, 3, 31),
        ge=FIRST_DATE,
        le=LAST_DATE,
        description="last day of payments (inclusive)",
    )
    hourly_weights: tuple[Float, ...] = Field(
        _HOURLY, description="v2: relative payment intensity per local hour 0..23 (24 values)"
    )
    weekday_weights: tuple[Float, ...] = Field(
        _WEEKDAY, description="v2: relative payment intensity per weekday Mon..Sun (7 values)"
    )

    @model_validator(mode="after")
    def _cycles(self) -> TemporalConfig:
        for name, values, size in (
            ("hourly_weights", self.hourly_weights, 24),
            ("weekday_weights", self.weekday_weights, 7),
        ):
            if len(values) != size or min(values) < 0 or max(values) <= 0:
                raise ValueError(f"{name} needs {size} non-negative values, not all zero")
            if max(values) > MAX_WEIGHT:
                raise ValueError(f"{name}: relative weights must be at most {MAX_WEIGHT:g}")
        return self

    @model_validator(mode="after")
    def _ordered(self) -> TemporalConfig:
        if self.end_date < self.start_date:
            raise ValueError(
                f"end_date {self.end_date} is before start_date {self.start_date}; "
                "end_date must be on or after start_date"
            )
        return self


class LognormalAmount(_Model):
    """Amounts ~ lognormal: log(amount) ~ Normal(mu, sigma)."""

    distribution: Literal["lognormal"] = Field("lognormal", description="lognormal|normal|uniform")
    mu: Float = Field(3.4, ge=-5, le=15, description="mean of log(amount)")
    sigma: Float = Field(1.0, gt=0, le=5, description="standard deviation of log(amount)")

    @model_validator(mode="after")
    def _fits(self) -> LognormalAmount:
        _check_tail(math.exp(self.mu + TAIL_SIGMAS * self.sigma), f"exp(mu + {TAIL_SIGMAS}*sigma)")
        return self


class NormalAmount(_Model):
    """Amounts ~ Normal(mean, std); draws below 0.01 become 0.01."""

    distribution: Literal["normal"] = Field(description="lognormal|normal|uniform")
    mean: Float = Field(60.0, gt=0, description="mean amount")
    std: Float = Field(25.0, gt=0, description="standard deviation (draws below 0.01 -> 0.01)")

    @model_validator(mode="after")
    def _fits(self) -> NormalAmount:
        _check_tail(self.mean + TAIL_SIGMAS * self.std, f"mean + {TAIL_SIGMAS}*std")
        return self


class UniformAmount(_Model):
    """Amounts ~ Uniform(low, high)."""

    distribution: Literal["uniform"] = Field(description="lognormal|normal|uniform")
    low: Float = Field(1.0, gt=0, description="smallest amount")
    high: Float = Field(200.0, gt=0, description="largest amount")

    @model_validator(mode="after")
    def _ordered(self) -> UniformAmount:
        if self.high <= self.low:
            raise ValueError(f"high {self.high} must be greater than low {self.low}")
        _check_tail(self.high, "high")
        return self


AmountConfig = Annotated[
    LognormalAmount | NormalAmount | UniformAmount, Field(discriminator="distribution")
]
AMOUNT_MODELS: dict[str, type[_Model]] = {
    "lognormal": LognormalAmount,
    "normal": NormalAmount,
    "uniform": UniformAmount,
}


class FeatureConfig(_Model):
    """Payment features."""

    amount: AmountConfig = Field(
        LognormalAmount(), description="amount distribution: lognormal | normal | uniform"
    )

    @field_validator("amount", mode="before")
    @classmethod
    def _lognormal_by_default(cls, value: Any) -> Any:
        if isinstance(value, dict) and "distribution" not in value:
            return {"distribution": "lognormal", **value}
        return value


# v3's default label noise: 4% of frauds never reported, matched by as many genuine
# payments reported as fraud. Published figures are dispute-level and wide: Mastercard
# and Visa attribute ~70-75% of card disputes to first-party misuse ("friendly fraud"),
# Riskified finds friendly-fraud indicators in ~50% of fraud chargebacks; survey work
# (Security.org 2022) finds a third of fraudulent charges under $50 and two thirds of
# cardholders without alerts taking days to notice, so small frauds go unreported. An
# issuer's fraud labels are confirmed cases, far cleaner than raw disputes, and no
# published figure measures their noise: 4% each way is our choice, small enough that
# the labels stay usable and large enough that a model must tolerate noise.
V3_NOISE_RATE = 0.04


class LabelConfig(_Model):
    """Fraud labels: p = expit(logit(fraud_rate) + w_amount*log(amount+1) +
    w_mrisk*merchant_risk + w_crisk*card_risk + w_night*[local hour < 6]), then corrected
    to the exact count (random unlabelling on overshoot; bursts, then fill, on undershoot)."""

    w_amount: Float = Field(0.35, ge=-10, le=10, description="logit weight of log(amount+1)")
    w_mrisk: Float = Field(3.0, ge=-50, le=50, description="logit weight of merchant risk")
    w_crisk: Float = Field(2.0, ge=-50, le=50, description="logit weight of card risk")
    w_night: Float = Field(1.0, ge=-10, le=10, description="logit weight of local hour < 6")
    w_cnp: Float = Field(1.6, ge=-10, le=10, description="v3: logit weight of card not present")
    w_abroad: Float = Field(
        1.0, ge=-10, le=10, description="v3: logit weight of a merchant abroad for the holder"
    )
    w_velocity: Float = Field(
        2.0, ge=-10, le=10, description="v3: logit weight of log(1 + the card's payments in "
        "the hour before)"
    )
    w_far: Float = Field(
        1.0, ge=-10, le=10, description="v3: logit weight of the distance from home (log km)"
    )
    burst_size: Int = Field(5, ge=1, le=10_000, description="frauds per burst wave")
    burst_window_minutes: Float = Field(
        30.0, gt=0, le=7 * 24 * 60, description="a burst's frauds fall within ± this of its wave"
    )
    difficulty: Float = Field(
        0.5,
        ge=0,
        le=1,
        description="v2: 0 = easy (strong, clean signal) .. 1 = hard (faint); scales the "
        "logistic weights and how far scenario frauds stand out",
    )
    noise_rate: Float | None = Field(
        None,
        ge=0,
        lt=0.5,
        description="v2: share of frauds never reported (labelled genuine), matched by as many "
        "genuine payments falsely reported (fraud_scenario 'false_report'); v3: unreported "
        "frauds keep their true fraud_scenario with label_fraud false and no "
        "fraud_reported_at, false reports are approved card-not-present payments whose "
        "report blocks the card; null: the "
        f"realism's default (v1, v2: 0; v3: {V3_NOISE_RATE})",
    )
    report_delay_median_days: Float = Field(
        7.0, gt=0, le=365, description="v2: median days from a fraud to its report (lognormal)"
    )
    report_delay_sigma: Float = Field(
        0.8, ge=0, le=3, description="v2: sigma of the lognormal report delay"
    )


class _ScenarioWeights(_Model):
    @model_validator(mode="after")
    def _some(self) -> _ScenarioWeights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one scenario needs a positive weight")
        return self


# One field per configurable scenario of the registry (`sqlgen/scenarios/`), its default
# weight and summary declared there.
ScenarioConfig = create_model(
    "ScenarioConfig",
    __base__=_ScenarioWeights,
    __doc__="Fraud mechanisms: relative weight of each in the fraud count (0 disables it).",
    **{
        s.name: (Float, Field(s.weight, ge=0, le=MAX_WEIGHT, description=s.summary))
        for s in scenario_registry.configurable()
    },
)


class BehaviourConfig(_Model):
    """v2 cardholder habits."""

    home_share: Float = Field(
        0.92, ge=0, le=1, description="share of payments at merchants in the home country"
    )
    max_devices: Int = Field(3, ge=1, le=20, description="devices per customer (1..max)")
    max_card_payments_per_day: Int = Field(
        25,
        ge=1,
        le=100_000,
        description="v3: most payments one card makes in a UTC day (a consumer card's hard cap)",
    )
    max_card_payments_per_month: Int = Field(
        300,
        ge=1,
        le=1_000_000,
        description="v3: most payments one card makes in a calendar month (UTC)",
    )
    trip_rate: Float = Field(
        0.03,
        ge=0,
        le=1,
        description="v3: chance a customer travels in a given week (out Monday, in-person "
        "payments at the destination Tuesday to Saturday, back Sunday)",
    )


class AuthConfig(_Model):
    """v3: the issuer's authorisation outcome (auth_result, decline_reason)."""

    genuine_decline_rate: Float = Field(
        0.03, ge=0, lt=1, description="v3: genuine payments declined (insufficient funds, "
        "do not honour, ...: reference.yaml)"
    )
    fraud_decline_rate: Float = Field(
        0.5, ge=0, le=1, description="v3: fraud attempts stopped at a typical amount; larger "
        "ones more often, so about twice as much fraud value is prevented as lost"
    )
    testing_decline_rate: Float = Field(
        0.85, ge=0, le=1, description="v3: card-testing attempts declined"
    )
    blocked_grace_days: Float = Field(
        2.0, ge=0, le=120, description="v3: after a block the holder's payments move to a "
        "new card; for this many days a quarter are still tried on the old one (declined)"
    )


class MoneyConfig(_Model):
    """v3: the base currency of `amount_base` (amounts converted with the FX table)."""

    base_currency: str = Field(
        "EUR",
        description="v3: ISO 4217 code `amount_base` is in: a currency of the FX table "
        "(catalog/fx_rates.parquet, schema/money.yaml); rounded to its minor units",
    )

    @field_validator("base_currency")
    @classmethod
    def _in_fx_table(cls, value: str) -> str:
        known = static_vocabularies()["currency"]  # the FX table's currencies
        if value not in known:
            raise ValueError(
                f"{clip(value, 20)!r} is not in the FX table; choose one of {', '.join(known)}"
            )
        return value


class S3Config(_Model):
    """S3 delivery (`--s3` or s3_upload): where the buckets' names are found."""

    raw_bucket_param: str = Field(
        "/fraud/raw_bucket_name", description="SSM parameter holding the payments bucket name"
    )
    artifacts_bucket_param: str = Field(
        "/fraud/artifacts_bucket_name",
        description="SSM parameter holding the catalogues bucket name",
    )
    region: str | None = Field(None, description="AWS region (null: the AWS environment decides)")
    endpoint_url: str | None = Field(
        None, description="S3 endpoint (null: AWS_ENDPOINT_URL or the AWS default)"
    )
    prefix: str = Field(
        "payments/",
        pattern=r"^([A-Za-z0-9=_.-]+/)+$",
        description="key prefix of the run in the raw bucket: <prefix>year=YYYY/month=M/"
        "part-NNNNN-<run_id>.parquet and <prefix>_SUCCESS, the manifest at "
        ".sqlgen/<prefix>manifest.json; one dataset per prefix",
    )
    catalog_prefix: str = Field(
        "catalogues/",
        pattern=r"^([A-Za-z0-9=_.-]+/)+$",
        description="key prefix of the catalog files in the artifacts bucket",
    )
    multipart_mb: int = Field(
        64,
        ge=5,
        le=5_000,
        description="files larger than this go up as multipart uploads in parts of this "
        "size (S3's minimum part is 5 MiB)",
    )


class OutputConfig(_Model):
    """How payments are typed in Parquet."""

    id_type: Literal["string", "uuid"] = Field(
        "string",
        description="string: transaction_id and device_id as 36-character UUID text, which "
        "every reader opens; uuid: DuckDB's 16-byte UUID type (smaller, faster to write), "
        "which Spark cannot read",
    )


class GeneratorConfig(_Model):
    """A run of sqlgen."""

    rows: Int = Field(1_000_000, ge=1, le=10_000_000_000, description="payments in the run")
    fraud_rate: Float = Field(
        0.01, gt=0, lt=1, description="exactly round(fraud_rate * rows) payments are fraud"
    )
    seed: Int = Field(42, ge=0, le=2**63 - 1, description="same config and seed, same rows")
    num_workers: Int = Field(
        1, ge=1, le=1024, description="processes generating chunks (at most one per chunk)"
    )
    batch_size: Int = Field(
        1_000_000, ge=1, le=50_000_000, description="most rows in one chunk (one Parquet file)"
    )
    realism: Literal["v1", "v2", "v3"] = Field(
        "v3",
        description="v1: legacy behaviour; v2: persisted catalogs, scenarios, habits; v3: a "
        "believable world (real places, time zones, currencies, bounded activity) and fraud "
        "as planned episodes (rings, card lifecycle, authorisation)",
    )
    executor: Literal["auto", "local", "processes", "dask"] = Field(
        "auto",
        description="auto: processes if num_workers > 1, else local; dask: a LocalCluster of "
        "num_workers processes, or the cluster at `scheduler`",
    )
    scheduler: str | None = Field(None, description="Dask scheduler address (tcp://host:8786)")
    out_dir: Path = Field(Path("output"), description="where the run is published")
    compression: Literal["snappy", "zstd", "lz4_raw", "uncompressed"] = Field(
        "zstd",
        description="Parquet codec: zstd at level 1 writes as fast as snappy and makes files "
        "about 45% smaller (text ids compress); every reader here opens both",
    )
    compression_level: Int = Field(
        1, ge=1, le=22, description="zstd level: 1 fastest, higher smaller and slower (zstd only)"
    )
    row_group_size: Int = Field(
        DEFAULT_ROW_GROUP_SIZE,
        ge=2_048,
        le=10_000_000,
        description="rows per Parquet row group (DuckDB's default); twice that makes files "
        "~13% smaller",
    )
    s3_upload: bool = Field(False, description="upload the run to S3 (as --s3)")
    catalog: CatalogConfig = Field(CatalogConfig(), description=CatalogConfig.__doc__)
    temporal: TemporalConfig = Field(TemporalConfig(), description=TemporalConfig.__doc__)
    feature: FeatureConfig = Field(FeatureConfig(), description=FeatureConfig.__doc__)
    label: LabelConfig = Field(LabelConfig(), description=LabelConfig.__doc__)
    scenarios: ScenarioConfig = Field(ScenarioConfig(), description=ScenarioConfig.__doc__)
    behaviour: BehaviourConfig = Field(BehaviourConfig(), description=BehaviourConfig.__doc__)
    auth: AuthConfig = Field(AuthConfig(), description=AuthConfig.__doc__)
    output: OutputConfig = Field(OutputConfig(), description=OutputConfig.__doc__)
    money: MoneyConfig = Field(MoneyConfig(), description=MoneyConfig.__doc__)
    s3: S3Config = Field(S3Config(), description=S3Config.__doc__)

    @field_validator("out_dir", mode="before")
    @classmethod
    def _out_dir_given(cls, value: Any) -> Any:
        # Path("") is ".": an empty setting would publish into the current directory.
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty; give a directory")
        return value

    @model_validator(mode="after")
    def _size_the_world(self) -> GeneratorConfig:
        unset = [n for n in world_size.SIZE_FIELDS if getattr(self.catalog, n) is None]
        if unset:
            months = world_size.period_months(self.temporal.start_date, self.temporal.end_date)
            sizes = world_size.derived_sizes(self.rows, months, self.catalog.num_cards)
            catalog = self.catalog.model_copy(update={n: sizes[n] for n in unset})
            catalog._derived = frozenset(unset)
            object.__setattr__(self, "catalog", catalog)  # frozen: settled once, here
        return self

    def settings(self) -> dict[str, Any]:
        """The settings as given: derived catalog sizes unset again (see `_size_the_world`)."""
        data = self.model_dump()
        for name in self.catalog.derived:
            data["catalog"][name] = None
        return data

    @property
    def fraud_target(self) -> int:
        return round(self.fraud_rate * self.rows)

    @property
    def label_noise_rate(self) -> float:
        """`label.noise_rate`, or the realism's default when it is null."""
        if self.label.noise_rate is not None:
            return self.label.noise_rate
        return V3_NOISE_RATE if self.realism == "v3" else 0.0

    @property
    def resolved_executor(self) -> str:
        """`executor` with auto settled: processes when num_workers > 1, else local."""
        if self.executor == "auto":
            return "processes" if self.num_workers > 1 else "local"
        return self.executor

    def data_fingerprint(self) -> str:
        """Hash of everything that decides the rows (not workers, executor or paths)."""
        runtime = {"num_workers", "executor", "scheduler", "out_dir", "s3_upload", "s3"}
        data = self.model_dump(mode="json", exclude=runtime)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def catalog_fingerprint(self) -> str:
        data = {"seed": self.seed, "catalog": self.catalog.model_dump(mode="json")}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def validate_config(data: dict[str, Any], source: str = "config") -> GeneratorConfig:
    """Validate settings (legacy keys translated, each with one warning line)."""
    data, notes = translate(data)
    for note in notes:
        log.warning("%s: %s", source, note)
    try:
        return GeneratorConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe(GeneratorConfig, exc)}") from exc


def load_config(path: str | Path | None = None, sets: Sequence[str] = ()) -> GeneratorConfig:
    """Read and validate a YAML config; `None` loads the built-in default.

    `sets` are `a.b=value` overrides (values parsed as YAML), applied after the file.
    """
    path = Path(path) if path is not None else default_config_path()
    data = read_yaml_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    cfg = validate_config(data, str(path))
    return apply_sets(cfg, sets) if sets else cfg


def with_overrides(cfg: GeneratorConfig, **overrides: Any) -> GeneratorConfig:
    """Apply CLI overrides (None means not given) and validate the result again."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return cfg
    data = cfg.settings()
    data.update(given)
    return validate_config(data, "command line")


def _parse_set(item: str) -> tuple[list[str], Any]:
    key, sep, text = item.partition("=")
    path = key.strip().split(".")
    if not sep or not all(path):
        raise ConfigError(f"--set {clip(item)}: expected KEY=VALUE, e.g. --set rows=5000")
    try:
        value = parse_yaml(text) if text.strip() else None
    except ConfigError as exc:
        raise ConfigError(f"--set {clip(key)}: {exc}") from exc
    return path, value


def apply_sets(cfg: GeneratorConfig, sets: Sequence[str]) -> GeneratorConfig:
    """`cfg` with each `a.b=value` applied in order, then validated like a file."""
    data = cfg.settings()
    for item in sets:
        path, value = _parse_set(item)
        patch: dict[str, Any] = {}
        node = patch
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        patch, notes = translate(patch)
        for note in notes:
            log.warning("--set: %s", note)
        _merge(data, patch, [])
    return validate_config(data, "--set")


def _merge(data: dict[str, Any], patch: dict[str, Any], where: list[str]) -> None:
    for key, value in patch.items():
        here = [*where, key]
        if isinstance(value, dict):
            target = data.setdefault(key, {})
            if not isinstance(target, dict):
                name = ".".join(here)
                raise ConfigError(f"--set: '{name}' is a value, not a section")
            _merge(target, value, here)
        elif key == "distribution" and data.get(key) != value:
            data.clear()  # another distribution: the old one's parameters don't apply
            data[key] = value
        else:
            data[key] = value
