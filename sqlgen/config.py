"""The run configuration: pydantic models (unknown keys rejected) and `load_config`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sqlgen.errors import ConfigError
from sqlgen.resources import default_config_path

DEFAULT_ROW_GROUP_SIZE = 122_880


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogConfig(_Model):
    num_customers: int = Field(50_000, ge=1, le=50_000_000)  # customers in the catalog
    num_merchants: int = Field(5_000, ge=1, le=10_000_000)  # merchants in the catalog
    num_cards: int = Field(75_000, ge=1, le=100_000_000)  # cards, each owned by one customer
    # Zipf exponents: popularity of rank k is k**-s (0 = uniform). Customers' exponent
    # deals cards to owners; merchants' and cards' set their share of payments.
    zipf_customers: float = Field(0.8, ge=0, le=4)
    zipf_merchants: float = Field(1.1, ge=0, le=4)
    zipf_cards: float = Field(0.9, ge=0, le=4)
    merchant_risk_alpha: float = Field(2.0, gt=0)  # merchant risk ~ Beta(alpha, beta)
    merchant_risk_beta: float = Field(20.0, gt=0)
    card_risk_alpha: float = Field(2.0, gt=0)  # card risk ~ Beta(alpha, beta)
    card_risk_beta: float = Field(30.0, gt=0)
    max_size_mb: float = Field(256.0, gt=0)  # largest allowed catalog Parquet file


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
    start_date: dt.date = dt.date(2025, 1, 1)  # first day of payments
    end_date: dt.date = dt.date(2025, 3, 31)  # last day of payments (inclusive)
    # v2: relative payment intensity per local hour (24 values) and weekday (Mon..Sun).
    hourly_weights: tuple[float, ...] = _HOURLY
    weekday_weights: tuple[float, ...] = _WEEKDAY

    @model_validator(mode="after")
    def _cycles(self) -> TemporalConfig:
        for name, values, size in (
            ("hourly_weights", self.hourly_weights, 24),
            ("weekday_weights", self.weekday_weights, 7),
        ):
            if len(values) != size or min(values) < 0 or max(values) <= 0:
                raise ValueError(f"{name} needs {size} non-negative values, not all zero")
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
    distribution: Literal["lognormal"] = "lognormal"
    mu: float = Field(3.4, ge=-5, le=15)  # mean of log(amount)
    sigma: float = Field(1.0, gt=0, le=5)  # std of log(amount)


class NormalAmount(_Model):
    distribution: Literal["normal"]
    mean: float = Field(60.0, gt=0)
    std: float = Field(25.0, gt=0)  # draws below 0.01 are clipped to 0.01


class UniformAmount(_Model):
    distribution: Literal["uniform"]
    low: float = Field(1.0, gt=0)
    high: float = Field(200.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> UniformAmount:
        if self.high <= self.low:
            raise ValueError(f"high {self.high} must be greater than low {self.low}")
        return self


AmountConfig = Annotated[
    LognormalAmount | NormalAmount | UniformAmount, Field(discriminator="distribution")
]


class FeatureConfig(_Model):
    amount: AmountConfig = LognormalAmount()


class LabelConfig(_Model):
    # p = expit(logit(fraud_rate) + w_amount*log(amount+1) + w_mrisk*merchant_risk
    #           + w_crisk*card_risk + w_night*[local hour < 6]); then corrected to the
    # exact count with random unlabelling (overshoot) or bursts and fill (undershoot).
    w_amount: float = Field(0.35, ge=-10, le=10)
    w_mrisk: float = Field(3.0, ge=-50, le=50)
    w_crisk: float = Field(2.0, ge=-50, le=50)
    w_night: float = Field(1.0, ge=-10, le=10)
    burst_size: int = Field(5, ge=1, le=10_000)  # frauds per burst wave
    burst_window_minutes: float = Field(30.0, gt=0, le=7 * 24 * 60)  # ± around a wave
    # v2: 0 = easy (strong, clean signal) .. 1 = hard (faint signal). Scales the
    # logistic weights and how far scenario frauds stand out from their card's habits.
    difficulty: float = Field(0.5, ge=0, le=1)
    # v2: share of frauds never reported (labelled genuine), matched by as many
    # genuine payments falsely reported (fraud_scenario 'false_report').
    noise_rate: float = Field(0.0, ge=0, lt=0.5)
    # v2: delay from payment to fraud report, lognormal with this median and sigma.
    report_delay_median_days: float = Field(7.0, gt=0, le=365)
    report_delay_sigma: float = Field(0.8, ge=0, le=3)


class ScenarioConfig(_Model):
    """v2 fraud mechanisms: relative weight of each in the fraud count (0 disables it)."""

    logistic: float = Field(0.45, ge=0)  # the logistic draw on amount, risk and night
    burst: float = Field(0.15, ge=0)  # waves of frauds at one risky merchant
    card_testing: float = Field(0.15, ge=0)  # runs of tiny amounts on one card, minutes apart
    compromised_merchant: float = Field(0.10, ge=0)  # cards seen at a merchant, hit days later
    account_takeover: float = Field(0.15, ge=0)  # new device and IP, often abroad, big amounts

    @model_validator(mode="after")
    def _some(self) -> ScenarioConfig:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one scenario needs a positive weight")
        return self


class BehaviourConfig(_Model):
    """v2 cardholder habits."""

    home_share: float = Field(0.92, ge=0, le=1)  # payments at merchants in the home country
    max_devices: int = Field(3, ge=1, le=20)  # devices per customer (1..max)


class S3Config(_Model):
    raw_bucket_param: str = "/fraud/raw_bucket_name"  # SSM parameter: payments bucket
    artifacts_bucket_param: str = "/fraud/artifacts_bucket_name"  # SSM: catalogues bucket
    region: str | None = None  # None: the AWS environment decides
    endpoint_url: str | None = None  # None: AWS_ENDPOINT_URL or the AWS default
    # Key prefix of the run in the raw bucket: <prefix>year=YYYY/month=MM/part-…parquet,
    # <prefix>_manifest.json, <prefix>_SUCCESS. One prefix holds one dataset.
    prefix: str = Field("payments/", pattern=r"^([A-Za-z0-9=_.-]+/)+$")
    # Key prefix of the v2 catalog files in the artifacts bucket.
    catalog_prefix: str = Field("catalogues/", pattern=r"^([A-Za-z0-9=_.-]+/)+$")
    # Files larger than this go up in parts of this size (S3's minimum part is 5 MiB).
    multipart_mb: int = Field(64, ge=5, le=5_000)


class GeneratorConfig(_Model):
    rows: int = Field(1_000_000, ge=1, le=10_000_000_000)  # payments in the run
    fraud_rate: float = Field(0.01, gt=0, lt=1)  # exactly round(fraud_rate*rows) frauds
    seed: int = Field(42, ge=0, le=2**63 - 1)
    num_workers: int = Field(1, ge=1, le=1024)
    batch_size: int = Field(1_000_000, ge=1, le=50_000_000)  # most rows in one chunk
    realism: Literal["v1", "v2"] = "v2"
    # auto: processes if num_workers > 1, else local. dask: a LocalCluster of num_workers
    # processes, or the cluster at `scheduler` (tcp://host:8786).
    executor: Literal["auto", "local", "processes", "dask"] = "auto"
    scheduler: str | None = None
    out_dir: Path = Path("output")
    # Parquet codec: snappy writes fastest; zstd makes files about 20% smaller.
    compression: Literal["snappy", "zstd", "lz4_raw", "uncompressed"] = "snappy"
    # Rows per Parquet row group (DuckDB's default). Twice that makes files ~13% smaller
    # (each row group repeats fewer dictionary entries, pan_hash above all).
    row_group_size: int = Field(DEFAULT_ROW_GROUP_SIZE, ge=2_048, le=10_000_000)
    s3_upload: bool = False
    catalog: CatalogConfig = CatalogConfig()
    temporal: TemporalConfig = TemporalConfig()
    feature: FeatureConfig = FeatureConfig()
    label: LabelConfig = LabelConfig()
    scenarios: ScenarioConfig = ScenarioConfig()
    behaviour: BehaviourConfig = BehaviourConfig()
    s3: S3Config = S3Config()

    @property
    def fraud_target(self) -> int:
        return round(self.fraud_rate * self.rows)

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


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
    # Discriminated unions put the tag in the path: amount.lognormal.mu -> amount.mu.
    for tag in ("lognormal.", "normal.", "uniform."):
        loc = loc.replace(tag, "")
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"unknown field '{loc}' (not a sqlgen setting; check the spelling)"
    if "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], dict):
        return f"field '{loc}': {msg} (got {err['input']!r})"
    return f"field '{loc or '<top>'}': {msg}"


def validate_config(data: dict[str, Any], source: str = "config") -> GeneratorConfig:
    try:
        return GeneratorConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        suffix = f" (+{more} more)" if more else ""
        raise ConfigError(f"{source}: invalid {_describe(first)}{suffix}") from exc


def load_config(path: str | Path | None = None) -> GeneratorConfig:
    """Read and validate a YAML config; `None` loads the built-in default."""
    path = Path(path) if path is not None else default_config_path()
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return validate_config(data, str(path))


def with_overrides(cfg: GeneratorConfig, **overrides: Any) -> GeneratorConfig:
    """Apply CLI overrides (None means not given) and validate the result again."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return cfg
    data = cfg.model_dump()
    data.update(given)
    return validate_config(data, "command line")
