"""The `sqlgen` command: thin subcommands over the runner and inspectors."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from sqlgen import __version__
from sqlgen.errors import SqlgenError
from sqlgen.execute.executor_api import EXECUTORS
from sqlgen.inspect.tables import FORMATS

log = logging.getLogger("sqlgen")

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 1 (after the usage text): exit code 2 means an S3 failure."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """Unknown arguments are reported by the subcommand they were given to, with
        its usage (`sqlgen run --bogus` shows `run`'s)."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            where = self.commands.get(getattr(parsed, "command", None) or "", self)
            where.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML config (default: the built-in default)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set catalog.num_cards=1000 (repeatable; YAML value)",
    )
    _log_level(p)


def _log_level(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=_LEVELS,
        help="how much to log on stderr (default: INFO; DEBUG adds tracebacks)",
    )


def _where(p: argparse.ArgumentParser) -> None:
    _common(p)
    # A string, not a Path: Path("") would silently mean the current directory.
    p.add_argument("--out-dir", help="output directory (default: the config's)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sqlgen", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sqlgen {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="what to do (COMMAND --help)"
    )
    parser.commands = sub.choices

    run = sub.add_parser("run", help="generate, label and publish payments")
    _where(run)
    run.add_argument("--s3", action="store_true", help="upload the run to S3")
    run.add_argument("--num-workers", type=int, help="worker processes (default: the config's)")
    run.add_argument("--batch-size", type=int, help="rows per chunk file (default: the config's)")
    run.add_argument(
        "--realism", choices=("v1", "v2", "v3"), help="how rows are made (default: v3)"
    )
    run.add_argument(
        "--executor",
        choices=("auto", *EXECUTORS),
        help="where chunks run (default: auto, processes when num_workers > 1)",
    )
    run.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster)")
    run.add_argument("--rows", type=int, help="payments to generate (default: the config's)")
    run.add_argument("--seed", type=int, help="random seed: same seed, same rows")
    run.add_argument("--no-progress", action="store_true", help="no progress bar or lines")

    cat = sub.add_parser("catalogs", help="build the catalogs only (Parquet + database)")
    _where(cat)

    sql = sub.add_parser("sql", help="run SQL against a run's catalogs and payments")
    _where(sql)
    sql.add_argument("query", help="one read-only SQL query, e.g. \"SELECT ... FROM payments\"")
    sql.add_argument(
        "--max-rows",
        type=int,
        help="rows to print, 0 for all (default: 40 for a table, all for csv and json)",
    )
    sql.add_argument(
        "--format",
        default="table",
        choices=FORMATS,
        help="table (readable), csv or json (for pipes; to stdout)",
    )

    rep = sub.add_parser("report", help="scenarios, fraud rates and a single-column leak check")
    _where(rep)
    rep.add_argument("--html", type=Path, help="also write a self-contained HTML report here")

    val = sub.add_parser("validate", help="check an output directory against its manifest")
    _where(val)

    conf = sub.add_parser("config", help="print a config as commented YAML (every setting)")
    _common(conf)

    schema = sub.add_parser("schema", help="print a table schema")
    _where(schema)
    schema.add_argument(
        "table",
        nargs="?",
        default="payments",
        choices=(
            "payments",
            *(
                f"{ns}{table}"
                for ns in ("", "ground_truth.")
                for table in ("customers", "merchants", "cards")
            ),
        ),
        help="payments, a catalog, or ground_truth.<catalog> (v3) (default: payments)",
    )
    schema.add_argument(
        "--format",
        default="text",
        choices=("text", "duckdb", "athena", "spark"),
        help="text: a readable listing; duckdb, athena, spark: CREATE TABLE DDL",
    )
    schema.add_argument(
        "--realism",
        choices=("v1", "v2", "v3"),
        help="describe the files of this realism level (default: the config's, v3)",
    )
    schema.add_argument(
        "--location",
        help="LOCATION of the athena/spark table (default: the files under --out-dir, "
        "absolute; athena: a placeholder; with --s3 the run's S3 prefix)",
    )
    schema.add_argument(
        "--s3", action="store_true", help="LOCATION: the payments prefix `sqlgen run --s3` writes"
    )
    schema.add_argument(
        "--id-type",
        default="string",
        choices=("string", "uuid"),
        help="payments ids as written with output.id_type (default: string)",
    )
    return parser


def _out_dir_override(args: argparse.Namespace) -> Path | None:
    out_dir = getattr(args, "out_dir", None)  # `sqlgen config` has no --out-dir
    if out_dir is None:
        return None
    if not out_dir.strip():
        raise SqlgenError("--out-dir is empty; give a directory")
    return Path(out_dir)


def _config(args: argparse.Namespace):
    from sqlgen.config import load_config, with_overrides

    cfg = load_config(args.config, args.set)
    overrides = {"out_dir": _out_dir_override(args)}
    if args.command == "run":
        overrides |= {
            "num_workers": args.num_workers,
            "batch_size": args.batch_size,
            "executor": args.executor,
            "scheduler": args.scheduler,
            "rows": args.rows,
            "seed": args.seed,
        }
    if args.command in ("run", "schema"):
        overrides["realism"] = args.realism
        if args.s3:
            overrides["s3_upload"] = True
    return with_overrides(cfg, **overrides)


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out_dir is not None and args.config is None and not args.set:
        return _out_dir_override(args)
    return _config(args).out_dir


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as an interrupt: the run stops where it is, the previous run
    stays published (or, past the commit point, the new one is completed)."""


_terminated: list[int] = []  # the SIGTERM received, if any


def _raise_terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough
    _terminated.append(signum)
    raise Terminated


def _published_run(out_dir: Path) -> str | None:
    from sqlgen.publish.writer import OutputDir

    try:
        return json.loads(OutputDir(out_dir).manifest_file().read_bytes())["run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cmd_run(args: argparse.Namespace) -> int:
    from sqlgen.execute.forkserver import own_temp_dir

    own_temp_dir()  # no pymp-* left in $TMPDIR by a killed run
    cfg = _config(args)
    before = _published_run(cfg.out_dir)
    _terminated.clear()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if main_thread else None
    try:
        if cfg.resolved_executor == "processes":
            from sqlgen.execute.forkserver import start_early

            start_early()  # its imports overlap ours and the catalogs
        from sqlgen.runner import log_settings, run

        log_settings(cfg)
        run(cfg, show_progress=not args.no_progress)
    except SqlgenError:
        raise
    except BaseException as exc:
        # DuckDB turns an interrupt inside a query into its own error ("Query interrupted").
        if not (_terminated or isinstance(exc, KeyboardInterrupt)):
            raise
        what = "terminated (SIGTERM)" if _terminated else "interrupted"
        after = _published_run(cfg.out_dir)
        if after is not None and after != before:
            log.error("%s after run %s was published in %s", what, after, cfg.out_dir)
        elif after is None:
            log.error("%s; nothing was published: %s has no published run", what, cfg.out_dir)
        else:
            log.error("%s; nothing was published: %s keeps run %s", what, cfg.out_dir, after)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def cmd_catalogs(args: argparse.Namespace) -> int:
    from sqlgen.runner import build_catalogs_only, world_line

    cfg = _config(args)
    log.info("sqlgen catalogs: world=%s", world_line(cfg))
    build_catalogs_only(cfg)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from sqlgen.inspect.inspect import write_sql

    write_sql(_out_dir(args), args.query, sys.stdout, args.max_rows, args.format)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sqlgen.publish.validate import validate

    given = args.config is not None or args.set
    target = _config(args).fraud_target if given else None
    problems, summary = validate(_out_dir(args), target)
    if problems:
        for problem in problems:
            log.error("invalid: %s", problem)
        return 1
    print(summary)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sqlgen.inspect.report import build_report
    from sqlgen.inspect.report_db import require_plotly

    if args.html is not None:
        require_plotly()  # before the work, not after
    text, _ = build_report(_out_dir(args))
    print(text)
    if args.html is not None:
        from sqlgen.inspect.html_report import write_html_report

        log.info("HTML report written to %s", write_html_report(_out_dir(args), args.html))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from sqlgen.config.config_doc import render_config

    print(render_config(_config(args)), end="")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.format == "text":
        from sqlgen.inspect.inspect import schema_text

        print(schema_text(args.table, args.id_type, cfg.realism))
    else:
        from sqlgen.inspect.ddl import table_ddl, table_location

        location = args.location or table_location(cfg, args.table, args.format)
        ddl = table_ddl(args.table, args.format, location, args.id_type, cfg.realism)
        print(ddl, end="")
    return 0


COMMANDS = {
    "run": cmd_run,
    "catalogs": cmd_catalogs,
    "sql": cmd_sql,
    "validate": cmd_validate,
    "report": cmd_report,
    "config": cmd_config,
    "schema": cmd_schema,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    debug = args.log_level == "DEBUG"
    try:
        return COMMANDS[args.command](args)
    except SqlgenError as exc:
        log.error("%s", exc, exc_info=debug)
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted; nothing was published")
        return 1
    except Exception as exc:  # the one place unknown failures become exit 1
        log.error("%s: %s", type(exc).__name__, exc, exc_info=debug)
        return 1


def entrypoint() -> None:
    sys.exit(main())
