"""`xrec` command line: generate samples, ingest, run the daily DAG through Airflow, and more."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from xrec.config import Settings
from xrec.logs import configure_logging


def _date(value: str) -> date:
    return date.fromisoformat(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xrec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write sample extracts (CONTRACT.md) to a landing folder")
    gen.add_argument("--out", required=True)
    gen.add_argument("--start", type=_date, required=True)
    gen.add_argument("--days", type=int, default=14)
    gen.add_argument("--users", type=int, default=2000)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--profile",
        choices=("default", "latent"),
        default="default",
        help="default: behaviour follows topics the features see; latent: hidden taste vectors",
    )

    run = sub.add_parser("run", help="run the daily DAG for one business date through Airflow")
    when = run.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", type=_date)
    when.add_argument(
        "--latest", action="store_true", help="the latest complete platform drop (generates the sample if empty)"
    )
    run.add_argument("--partner", action="append", help="restrict to these partners (repeat)")

    back = sub.add_parser("backfill", help="backfill a date range through a real Airflow scheduler")
    back.add_argument("--start", type=_date, required=True)
    back.add_argument("--end", type=_date, required=True)

    sub.add_parser(
        "airflow",
        help="start the embedded Airflow UI (XREC_AIRFLOW_PORT, default 8780) on the "
        "metadata `xrec run` and `xrec backfill` use, until Ctrl-C",
    )

    pub = sub.add_parser("publish", help="publish a gated run: current view, Parquet, snapshot, Postgres, exports")
    pub.add_argument("--date", type=_date, required=True)
    rep = sub.add_parser("report", help="render the HTML run report for a date")
    rep.add_argument("--date", type=_date, required=True)
    srv = sub.add_parser("serving-setup", help="create the read-only BI role on the serving database")
    srv.add_argument("--role", default="xrec_bi")
    srv.add_argument("--login", action="store_true", help="LOGIN role; prompts for its password")

    forget = sub.add_parser(
        "forget", help="request erasure of platform users; the next daily run removes them everywhere (README, Privacy)"
    )
    forget.add_argument("--user-id", action="append", required=True, help="repeat for several users")

    dbt = sub.add_parser("dbt", help="build the dbt warehouse as of a date, without Airflow")
    dbt.add_argument("--date", type=_date, required=True)
    dbt.add_argument("--source", action="append", help="repeat; default: every source")
    dbt.add_argument("--full-refresh", action="store_true")
    sub.add_parser("docs", help="generate the dbt docs site (offline)")

    sim = sub.add_parser(
        "simulate-outcomes",
        help="play the partners: write outcome drops for the recommendations published on a date (sample data only)",
    )
    sim.add_argument("--date", type=_date, required=True)
    sim.add_argument("--seed", type=int, default=7)

    bench = sub.add_parser("bench", help="time the daily job on generated data (bench/results/)")
    bench.add_argument("--sizes", default="S", help="comma-separated of T, S, M, L (L: 1M users)")
    bench.add_argument("--repeats", type=int, default=1, help="runs per size; figures are medians")
    bench.add_argument("--out", help="results folder (default: bench/results)")
    bench.add_argument(
        "--keep-scratch",
        action="store_true",
        help="keep each size's generated data and published model (for bench-serving)",
    )

    bench.add_argument(
        "--history-growth",
        nargs="?",
        const="",
        metavar="SHORT,LONG",
        help="instead: time the daily job after a short and a long history (default 7,60 days) "
        "at each of --sizes; target: long/short <= 1.3 without model training",
    )
    bench.add_argument(
        "--backfill",
        nargs="?",
        type=int,
        const=0,
        metavar="DAYS",
        help="instead: time a backfill of DAYS days (default 30) after each of --sizes' history against "
        "its daily runs; targets: <= DAYS x one daily run, and the days run both ways are equal",
    )

    again = sub.add_parser(
        "bench-serving",
        help="only the serving stage, on the model a `bench --keep-scratch` run left in <out>/scratch/<size>/",
    )
    again.add_argument("--size", default="M")
    again.add_argument("--out", help="results folder of that run (default: bench/results)")

    serve = sub.add_parser("serve", help="the HTTP API over the published model (OpenAPI at /docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--poll-seconds", type=float, default=2.0, help="how often to check for a newly published model")
    token = sub.add_parser(
        "api-token",
        help="make a client token for `xrec serve`: prints the token once and the hashed line for XREC_API_TOKENS_FILE",
    )
    token.add_argument("--client", required=True)
    token.add_argument("--scope", required=True, help="'platform' or 'partner:<name>'")
    acc = sub.add_parser(
        "accept-drop",
        help="accept a delivery that failed its raw gate as it is "
        "(logged in delivery_verdicts); later runs may then use it",
    )
    acc.add_argument("--source", required=True)
    acc.add_argument("--date", type=_date, required=True)
    acc.add_argument("--reason", required=True, help="why; kept in the audit table")

    ing = sub.add_parser("ingest", help="load one source's drops up to a date, without Airflow")
    ing.add_argument("--date", type=_date, required=True)
    ing.add_argument("--source", action="append", help="repeat; default: every source")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.verbose)
    if args.command == "generate":
        from pathlib import Path

        from xrec_tools.sample import generate

        manifest = generate(Path(args.out), args.start, args.days, args.users, args.seed, args.profile)
        print(f"sample extracts written; manifest: {manifest}")
    elif args.command == "run":
        from xrec.orchestration.commands import run_daily

        return run_daily(settings, args.date, args.latest, args.partner)
    elif args.command == "backfill":
        from xrec.orchestration.commands import backfill

        return backfill(settings, args.start, args.end)
    elif args.command == "airflow":
        from xrec.orchestration.commands import airflow_ui

        return airflow_ui(settings)
    elif args.command == "publish":
        from xrec.publish import publish

        print(publish(settings, args.date))
    elif args.command == "report":
        from xrec.publish.report import build_report

        print(build_report(settings, args.date))
    elif args.command == "serving-setup":
        import getpass

        from xrec.publish.postgres import setup_readonly_role

        password = getpass.getpass("password: ") if args.login else None
        setup_readonly_role(settings, args.role, password)
    elif args.command == "forget":
        from xrec.privacy.erasure import request_erasure

        count = request_erasure(settings, args.user_id)
        print(f"erasure requested for {count} user(s); the next daily run (xrec run) removes them")
    elif args.command == "dbt":
        from xrec.transform import dbt_build

        dbt_build(settings, args.date, sources=args.source, full_refresh=args.full_refresh)
    elif args.command == "docs":
        from xrec.transform import dbt_docs

        print(f"dbt docs: {dbt_docs(settings)}")
    elif args.command == "simulate-outcomes":
        from xrec_tools.feedback import simulate_outcomes

        for path in simulate_outcomes(settings, args.date, args.seed):
            print(path)
    elif args.command == "bench":
        from pathlib import Path

        from xrec_tools.bench import DEFAULT_OUT_DIR, parse_sizes, run_benchmark

        # XREC_* settings in the environment (e.g. XREC_EPOCHS, XREC_THREADS) apply; the
        # benchmark replaces every path with its scratch folder and never uses the serving DSN.
        out = Path(args.out) if args.out else DEFAULT_OUT_DIR
        if args.history_growth is not None:
            from xrec_tools.bench.history import run_history_growth
            from xrec_tools.bench.sizes import HISTORY_DAYS, parse_history_days

            days = parse_history_days(args.history_growth) if args.history_growth else HISTORY_DAYS
            for name in parse_sizes(args.sizes):
                path = run_history_growth(name, out, days, settings.env())
                print((path.parent / "history-latest.md").read_text())
                print(f"results: {path}")
            return 0
        if args.backfill is not None:
            from xrec_tools.bench.backfill import run_backfill
            from xrec_tools.bench.sizes import BACKFILL_DAYS

            for name in parse_sizes(args.sizes):
                path = run_backfill(name, out, args.backfill or BACKFILL_DAYS, settings.env())
                print((path.parent / "backfill-latest.md").read_text())
                print(f"results: {path}")
            return 0
        path = run_benchmark(parse_sizes(args.sizes), out, args.repeats, settings.env(), args.keep_scratch)
        print((path.parent / "latest.md").read_text())
        print(f"results: {path}")
    elif args.command == "bench-serving":
        from pathlib import Path

        from xrec_tools.bench import DEFAULT_OUT_DIR, parse_sizes, rerun_serving

        path = rerun_serving(parse_sizes(args.size)[0], Path(args.out) if args.out else DEFAULT_OUT_DIR)
        print(path.read_text())
    elif args.command == "serve":
        import uvicorn

        from xrec.serve.app import create_app

        # Named, not uvicorn's "auto" (which falls back silently when one is missing): measured on
        # lookups, httptools + uvloop cost 0.14 ms of server CPU a request, h11 0.27 ms, asyncio's
        # own loop 0.21 ms; the access log adds 0.04 ms a request, so only --verbose writes it.
        uvicorn.run(
            create_app(settings, args.poll_seconds),
            host=args.host,
            port=args.port,
            http="httptools",
            loop="uvloop",
            log_level="debug" if settings.verbose else "info",
            access_log=settings.verbose,
        )
    elif args.command == "api-token":
        from xrec.serve.access import new_token, token_line

        token = new_token()
        print(f"token (give it to {args.client}; it is not stored anywhere): {token}")
        print(f"line for XREC_API_TOKENS_FILE: {token_line(token, args.client, args.scope)}")
    elif args.command == "accept-drop":
        from xrec.quality.deliveries import accept_drop

        try:
            print(accept_drop(settings, args.source, args.date, args.reason))
        except ValueError as exc:
            print(f"xrec accept-drop: {exc}", file=sys.stderr)
            return 2
    elif args.command == "ingest":
        from xrec.ingest import ingest_source

        for source in args.source or settings.sources:
            print(ingest_source(settings, source, args.date))
    return 0


if __name__ == "__main__":
    sys.exit(main())
