"""The `hes` console command: serve, db, user (and more as capabilities land)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import IO, Any, TypeVar

from hes.config import Settings
from hes.db.enums import Role
from hes.db.migrate import downgrade, upgrade
from hes.demo import FleetSummary, load_sample_fleet
from hes.demo import fleet_plan as demo_fleet
from hes.errors import HESError, InvalidInput, Problem
from hes.runtime import Runtime
from hes.security.passwords import generate_password
from hes.services import users
from hes.services.imports import ImportEntity, ImportMode, ImportReport, import_csv
from hes.services.principal import Principal

logger = logging.getLogger("hes")
T = TypeVar("T")


def _tune_garbage_collector() -> None:
    """Fewer full collections in a long-running server: the start-up heap is frozen, young objects collected later.

    The ingest and DLMS paths allocate many short-lived objects; with Python's default thresholds the collector
    walked the whole heap often enough to cost a fifth of the HES CPU per collected meter (bench/collect.py: 10.1 ms
    -> 7.8 ms per meter, 41 -> 49 meters/s).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from hes.app import create_asgi_app

    if not args.no_migrate:
        upgrade(settings.resolved_database_url)
    app = create_asgi_app(settings)
    _tune_garbage_collector()
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


def _demo(settings: Settings, args: argparse.Namespace) -> None:
    """Migrate, make sure an admin exists (printing a generated password once), load the sample fleet, then serve
    with a simulated fleet of DLMS meters running in the same process (hes.demo)."""
    from hes.demo.fleet_runner import DemoFleetReport  # imported on use: the other commands need none of this
    from hes.demo.serve import DemoServer, serve_demo
    from hes.simulator.fleet import FleetError

    try:
        plan = (
            demo_fleet.plan_fleet(args.meters, seed=args.fleet_seed, base_port=args.fleet_base_port)
            if args.meters
            else None
        )
    except FleetError as error:
        sys.exit("error: " + "\nerror: ".join(error.problems))
    if args.push_interval <= 0:
        sys.exit(f"error: --push-interval is a positive number of seconds, not {args.push_interval:g}")
    summary, admin_password = _run(settings, _prepare_demo)
    print(
        f"sample fleet: {summary.areas} areas, {summary.sim_cards} SIM cards, "
        f"{summary.customers} customers, {summary.meters} meters added"
    )
    if admin_password:
        print(f"admin user {settings.admin_username!r}, password (shown once, store it now): {admin_password}")
    else:
        print("an administrator already exists; sign in with your password (or `hes user create`)")
    port = args.port or settings.port
    demo = DemoServer(args.host or settings.host, port, plan, args.push_interval)

    def ready(report: DemoFleetReport | None) -> None:
        for line in report.describe() if report is not None else ():
            print(line)
        print(f"HES Core on http://localhost:{port}  (API docs at /docs; Ctrl-C stops everything)", flush=True)

    _tune_garbage_collector()
    try:
        serve_demo(settings, demo, ready)
    except KeyboardInterrupt:
        pass  # Ctrl-C: uvicorn has stopped the server, the fleet has stopped after it
    except OSError as error:
        sys.exit(f"error: the simulated fleet cannot listen: {error} (try another --fleet-base-port)")
    except ValueError as error:  # METER_HOST not a loopback address: the simulated meters would not reach it
        sys.exit(f"error: the simulated fleet cannot reach HES Core: {error}")
    print("demo stopped", flush=True)


async def _prepare_demo(runtime: Runtime) -> tuple[FleetSummary, str | None]:
    """The first admin (password generated unless HES_ADMIN_PASSWORD is set) and the sample fleet."""
    settings = runtime.settings
    generated = None if settings.admin_password else generate_password()
    async with runtime.sessions() as session:
        admin = await users.ensure_first_admin(
            session, settings.admin_username, settings.admin_password or str(generated)
        )
    summary = await load_sample_fleet(runtime.sessions)
    return summary, generated if admin is not None else None


def _db(settings: Settings, args: argparse.Namespace) -> None:
    if args.action == "upgrade":
        upgrade(settings.resolved_database_url, args.revision or "head")
    else:
        downgrade(settings.resolved_database_url, args.revision or "-1")
    print(f"database {args.action}d")


def _read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new account's password and whether it was generated (then it is printed once)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if sys.stdin.isatty() and not args.generate_password:
        return getpass.getpass("password: "), False
    return generate_password(), True


def _user_create(settings: Settings, args: argparse.Namespace) -> None:
    password, generated = _read_password(args)
    new_user = users.NewUser(args.username, password, Role(args.role), full_name=args.full_name)
    user = _run(settings, lambda runtime: _create_user(runtime, new_user))
    print(f"created {user.role} {user.username!r}")
    if generated:
        print(f"password (shown once, store it now): {password}")


async def _create_user(runtime: Runtime, new_user: users.NewUser) -> Any:
    async with runtime.sessions() as session:
        return await users.create_user(session, users.SYSTEM_ACTOR, new_user)


def _import(settings: Settings, args: argparse.Namespace) -> None:
    entity, mode = ImportEntity(args.entity), ImportMode(args.mode)
    try:
        source = open(args.file, "rb")  # noqa: SIM115 (closed below)
    except OSError as error:
        sys.exit(f"error: cannot read {args.file}: {error.strerror}")
    try:
        with source:
            report = _run(settings, lambda runtime: _import_file(runtime, entity, source, mode, args.dry_run))
    except InvalidInput as error:
        for problem in error.problems:
            print(_problem_line(problem), file=sys.stderr)
        sys.exit(f"error: {error.message}")
    written = "would import" if report.dry_run else "imported"
    print(f"{report.entity}: {report.total_rows} rows, {written} {report.imported}, failed {report.failed}")
    for problem in report.errors:
        print(_problem_line(problem))


async def _import_file(
    runtime: Runtime, entity: ImportEntity, source: IO[bytes], mode: ImportMode, dry_run: bool
) -> ImportReport:
    # The system actor: the CLI is run by whoever administers the server, with full rights.
    principal = Principal(user_id=0, username=users.SYSTEM_ACTOR, role=Role.ADMIN)
    async with runtime.sessions() as session:
        return await import_csv(session, principal, entity, source, mode=mode, dry_run=dry_run)


def _problem_line(problem: Problem) -> str:
    where = ", ".join(part for part in (f"row {problem.row}" if problem.row else "", problem.field or "") if part)
    value = getattr(problem, "value", None)
    return f"{where or 'file'}: {problem.message}" + (f" ({value!r})" if value is not None else "")


def _simulate(settings: Settings, args: argparse.Namespace) -> None:
    from hes.simulator.cli import run  # imported on use: the simulator's modules are not needed by other commands

    run(args)


def _run(settings: Settings, work: Callable[[Runtime], Coroutine[Any, Any, T]]) -> T:
    """Migrate, then run one coroutine with a Runtime."""
    upgrade(settings.resolved_database_url)

    async def main() -> T:
        runtime = Runtime.from_settings(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar of `hes`."""
    parser = argparse.ArgumentParser(prog="hes", description="HES Core head-end system")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database and start the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-migrate", action="store_true", help="do not run migrations first")
    serve.set_defaults(handler=_serve)

    demo = commands.add_parser(
        "demo", help="admin + sample fleet on the configured database, then serve with simulated meters running"
    )
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.add_argument(
        "--meters",
        type=int,
        default=demo_fleet.DEFAULT_METERS,
        help=f"simulated DLMS meters in the same process (default {demo_fleet.DEFAULT_METERS}; 0: none)",
    )
    demo.add_argument(
        "--fleet-base-port",
        type=int,
        default=demo_fleet.DEFAULT_BASE_PORT,
        help=f"first port the simulated meters listen on (default {demo_fleet.DEFAULT_BASE_PORT}; 0: any)",
    )
    demo.add_argument(
        "--fleet-seed", type=int, default=demo_fleet.DEFAULT_SEED, help="meter numbers and keys follow from it"
    )
    demo.add_argument(
        "--push-interval",
        type=float,
        default=demo_fleet.DEFAULT_PUSH_INTERVAL_S,
        help=f"seconds between a push meter's pushes (default {demo_fleet.DEFAULT_PUSH_INTERVAL_S:g})",
    )
    demo.set_defaults(handler=_demo)

    db = commands.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(handler=_db)

    user = commands.add_parser("user", help="user accounts").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create an account (the first admin, for example)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=[role.value for role in Role], required=True)
    create.add_argument("--full-name")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create.add_argument("--generate-password", action="store_true", help="generate one and print it once")
    create.set_defaults(handler=_user_create)

    bulk = commands.add_parser("import", help="import a CSV file of customers, meters or SIM cards")
    bulk.add_argument("entity", choices=[entity.value for entity in ImportEntity])
    bulk.add_argument("file", help="CSV file laid out like the template (GET /api/templates/<entity>)")
    bulk.add_argument("--mode", choices=[mode.value for mode in ImportMode], default=ImportMode.ALL_OR_NOTHING.value)
    bulk.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    bulk.set_defaults(handler=_import)

    simulate = commands.add_parser("simulate", help="run simulated DLMS meters on loopback TCP ports (tests, demos)")
    simulate.add_argument("--meters", type=int, default=10, help="how many meters (default 10)")
    simulate.add_argument("--brand", default="hexing", help="hexing, hexcell or idis")
    simulate.add_argument("--transport", choices=["wrapper", "hdlc"], default="wrapper")
    simulate.add_argument("--auth", choices=["none", "lls", "hls"], default="none", help="hls: HLS-GMAC + encryption")
    simulate.add_argument(
        "--ciphering",
        choices=["service-specific", "general"],
        default="service-specific",
        help="hls meters: general offers general-protection, so clients cipher with general-glo",
    )
    simulate.add_argument("--host", default="127.0.0.1", help="a loopback address")
    simulate.add_argument("--base-port", type=int, default=4100, help="first wrapper port, HDLC port after (0: any)")
    simulate.add_argument("--seed", type=int, default=7, help="meter numbers, keys and consumption follow from it")
    simulate.add_argument("--latency-ms", type=int, default=0, help="delay before each answer")
    simulate.add_argument("--fleet", help="a YAML or JSON fleet file instead of the options above")
    simulate.add_argument("--csv", help="write the fleet as a meters import CSV once listening")
    simulate.add_argument("--secrets-json", help="write each meter's DLMS settings and keys (tests and demos only)")
    simulate.add_argument("--max-connections", type=int, default=1000)
    simulate.add_argument("--inactivity-timeout", type=float, default=120.0, help="seconds")
    simulate.add_argument(
        "--mode", choices=["listen", "dial-in", "push"], default="listen", help="who connects to whom (default listen)"
    )
    simulate.add_argument("--hes-host", default="127.0.0.1", help="dial-in: the HES's METER_HOST (a loopback address)")
    simulate.add_argument("--hes-port", type=int, default=4059, help="dial-in: the HES's METER_PORT (default 4059)")
    simulate.add_argument("--keepalive-s", type=float, default=60.0, help="dial-in: heartbeat after this much quiet")
    simulate.add_argument("--push-host", default="127.0.0.1", help="push: the HES's push listener (loopback)")
    simulate.add_argument("--push-port", type=int, default=4059, help="push: the listener's port (default 4059)")
    simulate.add_argument("--push-interval-s", type=float, default=900.0, help="push: seconds between pushes")
    simulate.add_argument("--max-connecting", type=int, default=50, help="dial-in/push: connection attempts at once")
    simulate.add_argument("--faults", type=float, help="share of the meters (0-1) given one fault each, of a mix")
    simulate.add_argument(
        "--fault", action="append", metavar="KIND=SHARE", help="share of the meters with this fault (repeatable)"
    )
    simulate.set_defaults(handler=_simulate)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `hes` command."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args.handler(settings, args)
    except HESError as error:
        problems = "; ".join(f"{p.field}: {p.message}" for p in error.problems)
        sys.exit(f"error: {error.message}{' (' + problems + ')' if problems else ''}")
