"""`huishoudboekje bench`: the statement import, the daily cycle and the hot pages of a
synthetic municipality (benchmarks/municipality.py), each against the physical limit
measured in the same run on the same machine.

Each part runs in its own (spawned) child process, so the peak memory reported is that
part's own (`ru_maxrss` of the child; for the pages: the server's and the load
generator's). CPU time is reported next to wall time: on a shared machine the wall
time includes waiting for the CPU.

1. import: a year of statements (one CAMT.053 file, a statement per month) of
   `import_participants` participants imported into a fresh database with those
   participants and plans (incomes matched and booked, the rest to suspense);
   compared with a bare lxml `iterparse` over the same file.
2. cycle: N participants with plans; the cycle runs on the plan's first day (every
   cache built) and then, after the incomes of two weeks are booked, on the first
   Monday after payday (reserving, rent, living money: the heavy day). Compared with a
   bare bulk insert of as many rows as the heavy day wrote postings, through the same
   driver (SQLite: sqlite3 `executemany` in one transaction; PostgreSQL: psycopg
   `COPY`).
3. pages: the import's database (a year of history), the cycle run once; uvicorn
   serves it on a free port on 127.0.0.1; a load generator in another process runs
   `clients` concurrent clients (participants on their overview and transactions
   pages, caseworkers on their queue) for at most `requests` requests or `seconds`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import re
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "benchmark-password-123"  # noqa: S105 (a throwaway benchmark database)


# ------------------------------------------------------------------ processes


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_main(queue: Any, function: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> None:
    try:
        result = function(*args)
        result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        queue.put(("ok", result))
    except BaseException as error:  # reported by the parent
        import traceback

        queue.put(("error", f"{error!r}\n{traceback.format_exc()}"))


def in_child(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run `function(*args)` in a fresh spawned process; its result and peak memory."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child_main, args=(queue, function, args))
    process.start()
    while True:  # a child that dies before reporting (e.g. at import) must not hang us
        try:
            status, payload = queue.get(timeout=5)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"{function.__name__}: the child process ended with exit code "
                    f"{process.exitcode} without a result"
                ) from None
    process.join()
    if status != "ok":
        raise RuntimeError(f"{function.__name__} failed: {payload}")
    return payload  # type: ignore[no-any-return]


def _clock() -> tuple[float, float]:
    """Wall time, and CPU time of this process and of its children that ended (the
    cycle's worker processes, the import's reading process)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time() + children.ru_utime + children.ru_stime


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


# ------------------------------------------------------------------ databases


def prepare_database(url: str) -> None:
    """An empty, migrated database (PostgreSQL: the public schema is dropped first)."""
    from sqlalchemy import text

    from backend.db import make_engine
    from backend.migrate import upgrade

    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def _setup_municipality(url: str, participants: int, seed: int) -> dict[int, Any]:
    from backend.db import make_engine, make_session_factory, transaction
    from benchmarks.municipality import insert_municipality

    prepare_database(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine), write=True) as session:
        plans = insert_municipality(session, participants, seed)
    engine.dispose()
    return plans


# ------------------------------------------------------------------ 1. import


def write_statement(
    path: str, participants: int, seed: int, max_entries: int | None
) -> dict[str, Any]:
    from benchmarks.municipality import synthetic_plans, year_statement

    # Participant ids are 1..n in a fresh database: the same plans as insert_municipality.
    plans = synthetic_plans(list(range(1, participants + 1)), seed)
    data, entries = year_statement(plans, seed, max_entries=max_entries)
    Path(path).write_bytes(data)
    return {"entries": entries, "bytes": len(data)}


def bare_lxml(path: str) -> int:
    from lxml import etree

    count = 0
    for _event, element in etree.iterparse(
        path, events=("end",), tag="{*}Ntry", resolve_entities=False, no_network=True
    ):
        count += 1
        element.clear(keep_tail=True)
    return count


def import_part(url: str, path: str, participants: int, seed: int) -> dict[str, Any]:
    from backend.bank_import import import_statement_file
    from backend.db import make_engine, make_session_factory, transaction

    started = _clock()
    count = bare_lxml(path)
    lxml_wall, lxml_cpu = _since(started)
    _setup_municipality(url, participants, seed)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = _clock()
    with transaction(factory, write=True) as session:
        report = import_statement_file(  # as `bank import` does
            session,
            path,
            imported_by="benchmark",
            max_bytes=Path(path).stat().st_size + 1,
            reading_process="auto",
        )
    wall, cpu = _since(started)
    engine.dispose()
    return {
        "import_entries": count,
        "import_seconds": round(wall, 3),
        "import_cpu_seconds": round(cpu, 3),
        "import_entries_per_second": round(count / wall, 1),
        "import_lxml_seconds": round(lxml_wall, 3),
        "import_lxml_cpu_seconds": round(lxml_cpu, 3),
        "import_ratio_to_lxml": round(wall / lxml_wall, 2),
        "import_matched_entries": report.total("matched_entries"),
        "import_suspense_entries": report.total("suspense_entries"),
        "import_journal_entries": report.total("journal_entries_created"),
    }


# ------------------------------------------------------------------ 2. cycle


def _count_postings(factory: Any) -> int:
    from sqlalchemy import func, select

    from backend.models import PostingRecord

    with factory() as session:
        return int(session.scalar(select(func.count(PostingRecord.id))) or 0)


def bare_bulk_insert(url: str, rows: int) -> float:
    """Seconds to insert `rows` posting-shaped rows in one transaction, through the same
    driver, without anything of ours: the physical limit of that database here."""
    data = [(i // 2 + 1, i % 997 + 1, (i % 5000) - 2500) for i in range(rows)]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # as backend.db configures it
        connection.execute("DROP TABLE IF EXISTS bench_bulk")
        connection.execute(
            "CREATE TABLE bench_bulk (id INTEGER PRIMARY KEY, journal_entry_id INTEGER NOT NULL,"
            " account_id INTEGER NOT NULL, amount_cents BIGINT NOT NULL)"
        )
        connection.commit()
        started = time.perf_counter()
        connection.executemany(
            "INSERT INTO bench_bulk (journal_entry_id, account_id, amount_cents) VALUES (?, ?, ?)",
            data,
        )
        connection.commit()
        seconds = time.perf_counter() - started
        connection.execute("DROP TABLE bench_bulk")
        connection.close()
        return seconds
    import psycopg

    conninfo = re.sub(r"^postgresql(\+psycopg)?", "postgresql", url)
    with psycopg.connect(conninfo) as pg_connection:
        pg_connection.execute("DROP TABLE IF EXISTS bench_bulk")
        pg_connection.execute(
            "CREATE TABLE bench_bulk (id BIGSERIAL PRIMARY KEY, journal_entry_id BIGINT NOT NULL,"
            " account_id BIGINT NOT NULL, amount_cents BIGINT NOT NULL)"
        )
        pg_connection.commit()
        started = time.perf_counter()
        with (
            pg_connection.cursor() as cursor,
            cursor.copy(
                "COPY bench_bulk (journal_entry_id, account_id, amount_cents) FROM STDIN"
            ) as copy,
        ):
            for row in data:
                copy.write_row(row)
        pg_connection.commit()
        seconds = time.perf_counter() - started
        pg_connection.execute("DROP TABLE bench_bulk")
        pg_connection.commit()
    return seconds


def cycle_part(
    url: str, participants: int, seed: int, workers: int | None = None
) -> dict[str, Any]:
    from backend.cycle import run_daily_cycle
    from backend.db import make_engine, make_session_factory, transaction
    from backend.ledger_store import post_entries
    from benchmarks.municipality import MUNICIPAL_IBAN, PLAN_START
    from ledger import AccountKind, AccountRef, JournalEntry, Posting
    from rules import REASON_INCOME_MATCHED, income_metadata, occurrences

    started = _clock()
    plans = _setup_municipality(url, participants, seed)
    setup_wall, _ = _since(started)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = _clock()
    first = run_daily_cycle(factory, today=PLAN_START)
    first_wall, first_cpu = _since(started)
    # The incomes of the first two weeks, as the import books them.
    heavy_day = PLAN_START + dt.timedelta(days=16)
    while heavy_day.weekday() != 0:  # the Monday after payday (the 25th) and rent day (1st)
        heavy_day += dt.timedelta(days=1)
    entries = [
        JournalEntry(
            idempotency_key=f"bench:income:{pid}:{income.agreement_id}:{expected}",
            booking_date=expected,
            reason_code=REASON_INCOME_MATCHED,
            explanation="Inkomen ontvangen.",
            postings=(
                Posting(AccountRef.bank(MUNICIPAL_IBAN), income.expected_amount_cents),
                Posting(
                    AccountRef.of_participant(pid, AccountKind.AVAILABLE),
                    -income.expected_amount_cents,
                ),
            ),
            metadata=income_metadata(income.agreement_id, expected),
        )
        for pid, plan in plans.items()
        for income in plan.incomes
        for expected in occurrences(income.schedule, PLAN_START, heavy_day)
    ]
    with transaction(factory, write=True) as session:
        for offset in range(0, len(entries), 5000):
            post_entries(session, entries[offset : offset + 5000], created_by="bank-import")
    before = _count_postings(factory)
    started = _clock()
    summary = run_daily_cycle(factory, today=heavy_day, workers=workers)
    wall, cpu = _since(started)
    postings = _count_postings(factory) - before
    engine.dispose()
    bulk = bare_bulk_insert(url, max(postings, 1))
    return {
        "cycle_participants": participants,
        "cycle_setup_seconds": round(setup_wall, 3),
        "cycle_first_run_seconds": round(first_wall, 3),
        "cycle_first_run_cpu_seconds": round(first_cpu, 3),
        "cycle_first_run_state_rebuilds": first.state_rebuilds,
        "cycle_day": heavy_day.isoformat(),
        "cycle_seconds": round(wall, 3),
        "cycle_cpu_seconds": round(cpu, 3),
        "cycle_participants_per_second": round(participants / wall, 1),
        "cycle_journal_entries": summary.journal_entries_created,
        "cycle_payment_instructions": summary.payment_instructions_created,
        "cycle_postings": postings,
        "cycle_postings_per_second": round(postings / wall, 1),
        "cycle_bulk_insert_seconds": round(bulk, 4),
        "cycle_ratio_to_bulk_insert": round(wall / bulk, 2),
        "cycle_timings_seconds": {k: round(v, 3) for k, v in summary.timings_seconds.items()},
        "cycle_failed_participants": len(summary.failed_participants),
        "cycle_workers": summary.workers,
        "cycle_stale_reevaluated": summary.stale_reevaluated,
    }


# ------------------------------------------------------------------ 3. pages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pages_setup(url: str, clients: int) -> dict[str, Any]:
    """Accounts for the load: one participant account per participant client (the first
    participants) and caseworkers with the first 200 participants on their caseload;
    the cycle runs once for those participants on the last day of the history."""
    from sqlalchemy import func, select

    from backend.access.roles import Role
    from backend.access.users import assign_caseload, create_user
    from backend.auth.passwords import hash_password
    from backend.cycle import run_daily_cycle
    from backend.db import make_engine, make_session_factory, transaction
    from backend.models import JournalEntryRecord, Participant

    engine = make_engine(url)
    factory = make_session_factory(engine)
    password_hash = hash_password(PASSWORD)
    with transaction(factory, write=True) as session:
        ids = list(session.scalars(select(Participant.id).order_by(Participant.id).limit(200)))
        participant_clients, caseworker_clients = _split(clients)
        for index in range(participant_clients):
            pid = ids[index % len(ids)]
            create_user(
                session,
                username=f"deelnemer-{index}",
                display_name=f"Deelnemer {pid}",
                roles=[Role.PARTICIPANT],
                password_hash=password_hash,
                participant_id=pid,
            )
        for index in range(caseworker_clients):
            account = create_user(
                session,
                username=f"hulpverlener-{index}",
                display_name=f"Hulpverlener {index}",
                roles=[Role.CASEWORKER],
                password_hash=password_hash,
            )
            for pid in ids:
                assign_caseload(
                    session, caseworker=account, participant_id=pid, assigned_by="benchmark"
                )
        last_day = session.scalar(select(func.max(JournalEntryRecord.booking_date)))
    if last_day is None:
        raise RuntimeError("the imported history has no journal entries")
    used = ids[: max(participant_clients, 1)]
    run_daily_cycle(factory, today=last_day, participant_ids=used)
    with factory() as session:
        history = session.scalar(select(func.count(JournalEntryRecord.id)))
    engine.dispose()
    return {
        "participant_ids": [ids[i % len(ids)] for i in range(participant_clients)],
        "today": last_day.isoformat(),
        "journal_entries": history,
    }


def _split(clients: int) -> tuple[int, int]:
    """Four in five clients are participants, the rest caseworkers (at least one each)."""
    caseworkers = max(1, clients // 5)
    return max(1, clients - caseworkers), caseworkers


def _vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    found = [int(child) for child in text.split()]
    return found + [grandchild for child in found for grandchild in _children(child)]


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_generator(
    port: int,
    participant_ids: list[int],
    clients: int,
    requests: int,
    seconds: float,
    think_ms: float = 0.0,
) -> dict[str, Any]:
    """Runs in its own process: `clients` concurrent keep-alive clients, each logged in
    once, then requests until `requests` are done or `seconds` have passed.

    `think_ms` = 0: each client sends its next request as soon as it has the answer
    (a closed loop: the server is saturated and latency is mostly queueing, Little's
    law: clients / throughput). `think_ms` > 0: each client waits 0.5-1.5 x that
    between requests (people reading a page), so the latency is the server's answer
    time at that offered load."""
    import random

    import httpx

    pause = random.Random(7)

    base = f"http://127.0.0.1:{port}"
    participant_clients, _ = _split(clients)
    latencies: dict[str, list[float]] = {"overview": [], "transactions": [], "queue": []}
    errors: list[str] = []
    budget = {"left": requests}
    logged_in = {"count": 0}
    ready = asyncio.Event()

    login_lock = asyncio.Lock()

    async def log_in(client: httpx.AsyncClient, username: str) -> None:
        # One at a time: logins write (sessions, lockout counters) and are not what is
        # measured; 50 at once on one SQLite worker end in "database is locked".
        async with login_lock:
            await _log_in(client, username)

    async def _log_in(client: httpx.AsyncClient, username: str) -> None:
        page = await client.get("/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the login page"
        response = await client.post(
            "/", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert response.status_code in (200, 303), (username, response.status_code)

    async def worker(index: int, deadline_box: list[float]) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
            if index < participant_clients:
                await log_in(client, f"deelnemer-{index}")
                pid = participant_ids[index]
                targets = [
                    ("overview", f"/deelnemer/{pid}/overzicht"),
                    ("transactions", f"/deelnemer/{pid}/transacties"),
                ]
            else:
                await log_in(client, f"hulpverlener-{index - participant_clients}")
                targets = [("queue", "/hulpverlener")]
            for _name, path in targets:  # warm up (templates, caches): not measured
                await client.get(path)
            logged_in["count"] += 1
            await ready.wait()
            turn = index
            if think_ms:  # spread the clients' first requests over one think time
                await asyncio.sleep(pause.uniform(0, think_ms) / 1000)
            while budget["left"] > 0 and time.perf_counter() < deadline_box[0]:
                if think_ms and turn != index:
                    await asyncio.sleep(pause.uniform(0.5, 1.5) * think_ms / 1000)
                    if budget["left"] <= 0 or time.perf_counter() >= deadline_box[0]:
                        break
                budget["left"] -= 1
                name, path = targets[turn % len(targets)]
                turn += 1
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.TransportError as error:  # counted, not fatal
                    errors.append(f"{path}: {error!r}")
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    errors.append(f"{path}: {response.status_code}")
                    continue
                latencies[name].append(elapsed)

    async def main() -> float:
        deadline_box = [float("inf")]
        tasks = [asyncio.create_task(worker(i, deadline_box)) for i in range(clients)]
        # Everyone logs in first (not measured), then the clock starts.
        while logged_in["count"] < clients and not any(t.done() for t in tasks):
            await asyncio.sleep(0.05)
        started = time.perf_counter()
        deadline_box[0] = started + seconds
        ready.set()
        await asyncio.gather(*tasks)
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    result: dict[str, Any] = {
        "pages_requests": sum(len(v) for v in latencies.values()),
        "pages_errors": len(errors),
        "pages_first_errors": errors[:3],
        "pages_seconds": round(elapsed, 2),
        "pages_think_ms": think_ms,
        "pages_cpu_seconds_load_generator": round(time.process_time(), 2),
    }
    for name, values in latencies.items():
        if values:
            ordered = sorted(values)
            result[f"{name}_p50_ms"] = round(statistics.median(ordered), 1)
            result[f"{name}_p99_ms"] = round(
                ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1
            )
            result[f"{name}_requests"] = len(values)
    result["pages_requests_per_second"] = round(result["pages_requests"] / elapsed, 1)
    return result


def pages_part(
    url: str,
    clients: int,
    requests: int,
    seconds: float,
    workers: int,
    think_ms: tuple[float, ...] = (0.0,),
) -> dict[str, Any]:
    """The pages under load, once per think time (the first run's keys are unprefixed;
    a later run with think time T has its keys prefixed `think{T}_`)."""
    setup = in_child(pages_setup, url, clients)
    port = _free_port()
    env = {
        **os.environ,
        "HUISHOUDBOEKJE_DEMO": "1",
        "HUISHOUDBOEKJE_DATABASE_URL": url,
        "HUISHOUDBOEKJE_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [
            sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log",
            # Clients wait for each other's logins before the clock starts: keep their
            # connections open meanwhile (uvicorn's default closes idle ones after 5 s).
            "--timeout-keep-alive", "120",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        _wait_for(port, server)
        result: dict[str, Any] = {}
        for number, think in enumerate(think_ms):
            processes = [server.pid, *_children(server.pid)]
            cpu_before = sum(_cpu_seconds(pid) for pid in processes)
            found = in_child(
                load_generator, port, setup["participant_ids"], clients, requests, seconds, think
            )
            processes = [server.pid, *_children(server.pid)]
            found["pages_cpu_seconds_server"] = round(
                sum(_cpu_seconds(pid) for pid in processes) - cpu_before, 2
            )
            found["pages_server_peak_rss_mb"] = round(sum(_vm_hwm_mb(pid) for pid in processes), 1)
            prefix = "" if number == 0 else f"think{think:g}_"
            result.update({f"{prefix}{key}": value for key, value in found.items()})
    finally:
        server.terminate()
        server.wait(timeout=30)
    result["pages_load_generator_peak_rss_mb"] = result.pop("peak_rss_mb")
    result["pages_clients"] = clients
    result["pages_server_workers"] = workers
    result["pages_history_journal_entries"] = setup["journal_entries"]
    return result


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server stopped while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start within 60 s")


# ------------------------------------------------------------------ the command


def run_bench(
    *,
    participants: int,
    database_url: str | None = None,
    import_participants: int | None = None,
    max_import_entries: int | None = None,
    clients: int = 50,
    requests: int = 3000,
    seconds: float = 30.0,
    workers: int = 1,
    postgres_workers: int = 2,
    cycle_workers: int | None = None,
    think_ms: tuple[float, ...] = (0.0, 1000.0),
    seed: int = 7,
    sqlite: bool = True,
    parts: tuple[str, ...] = ("import", "cycle", "pages"),
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every part for SQLite (a temporary file) and, when `database_url` is given, for
    that database too (PostgreSQL: ITS PUBLIC SCHEMA IS DROPPED). Returns
    {"sqlite": {...}, "postgresql": {...}, "machine": {...}}."""
    import_participants = import_participants or participants
    results: dict[str, Any] = {"machine": _machine()}
    with tempfile.TemporaryDirectory(prefix="hhb-bench-") as folder:
        statement = str(Path(folder) / "statement.xml")
        generated: dict[str, Any] = {}
        if "import" in parts or "pages" in parts:
            started = time.perf_counter()
            generated = in_child(
                write_statement, statement, import_participants, seed, max_import_entries
            )
            echo(
                f"statement: {generated['entries']:,} entries of {import_participants:,} "
                f"participants, {generated['bytes'] / 2**20:.1f} MB, generated in "
                f"{time.perf_counter() - started:.1f} s"
            )
        targets: list[tuple[str, str]] = []
        if sqlite:
            targets.append(("sqlite", f"sqlite:///{folder}/bench.db"))  # one file per part
        if database_url:
            name = "postgresql" if database_url.startswith("postgresql") else "database"
            targets.append((name, database_url))
        for name, url in targets:
            found: dict[str, Any] = {}
            if "import" in parts or "pages" in parts:
                found.update(in_child(import_part, url, statement, import_participants, seed))
                found["import_peak_rss_mb"] = found.pop("peak_rss_mb")
                echo(_import_line(name, found))
            if "pages" in parts:
                found.update(
                    pages_part(
                        url,
                        clients,
                        requests,
                        seconds,
                        workers if name == "sqlite" else postgres_workers,
                        think_ms,
                    )
                )
                for think in think_ms:
                    echo(
                        _pages_line(name, found, "" if think == think_ms[0] else f"think{think:g}_")
                    )
            if "cycle" in parts:
                # A fresh database (PostgreSQL: the same one, emptied; pages ran before).
                cycle_url = url.replace("bench.db", "bench-cycle.db") if name == "sqlite" else url
                found.update(in_child(cycle_part, cycle_url, participants, seed, cycle_workers))
                found["cycle_peak_rss_mb"] = found.pop("peak_rss_mb")
                echo(_cycle_line(name, found))
            if "pages" in parts:
                # The JSON key the issue asks for: overview p99 of the first database.
                results.setdefault("overview_p99_ms", found.get("overview_p99_ms"))
            results[name] = found
    # Flat keys (of the first database) for the smoke test and dashboards.
    first = results.get("sqlite") or results.get(targets[0][0] if targets else "", {})
    for key in (
        "import_entries_per_second",
        "import_ratio_to_lxml",
        "cycle_participants_per_second",
        "cycle_postings_per_second",
        "cycle_seconds",
        "cycle_ratio_to_bulk_insert",
        "overview_p99_ms",
    ):
        if key in first:
            results[key] = first[key]
    return results


def _machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in load],
        "python": sys.version.split()[0],
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _import_line(name: str, r: dict[str, Any]) -> str:
    return (
        f"[{name}] import: {r['import_entries']:,} entries in {r['import_seconds']:.2f} s "
        f"(cpu {r['import_cpu_seconds']:.2f} s) = {r['import_entries_per_second']:,.0f}/s; "
        f"bare lxml {r['import_lxml_seconds']:.2f} s; ratio {r['import_ratio_to_lxml']:.1f}x; "
        f"matched {r['import_matched_entries']:,}, suspense {r['import_suspense_entries']:,}; "
        f"peak {r['import_peak_rss_mb']:.0f} MB"
    )


def _cycle_line(name: str, r: dict[str, Any]) -> str:
    return (
        f"[{name}] cycle {r['cycle_day']} for {r['cycle_participants']:,} participants: "
        f"{r['cycle_seconds']:.2f} s (cpu {r['cycle_cpu_seconds']:.2f} s, "
        f"{r['cycle_workers']} process(es)) = "
        f"{r['cycle_participants_per_second']:,.0f} participants/s, "
        f"{r['cycle_postings']:,} postings = {r['cycle_postings_per_second']:,.0f}/s; "
        f"bare bulk insert {r['cycle_bulk_insert_seconds']:.3f} s; "
        f"ratio {r['cycle_ratio_to_bulk_insert']:.1f}x; first run "
        f"{r['cycle_first_run_seconds']:.2f} s; peak {r['cycle_peak_rss_mb']:.0f} MB; "
        f"steps {r['cycle_timings_seconds']}"
    )


def _pages_line(name: str, found: dict[str, Any], prefix: str = "") -> str:
    r = {
        **found,
        **{
            key[len(prefix) :]: value
            for key, value in found.items()
            if prefix and key.startswith(prefix)
        },
    }
    parts = [
        f"{page} p50 {r.get(f'{page}_p50_ms', 0):.1f} ms p99 {r.get(f'{page}_p99_ms', 0):.1f} ms"
        for page in ("overview", "transactions", "queue")
    ]
    return (
        f"[{name}] pages, {r['pages_clients']} clients (think {r['pages_think_ms']:g} ms, "
        f"{r['pages_server_workers']} server workers), {r['pages_requests']:,} requests in "
        f"{r['pages_seconds']:.1f} s ({r['pages_requests_per_second']:.0f}/s, "
        f"{r['pages_errors']} errors; server cpu {r['pages_cpu_seconds_server']:.1f} s, "
        f"load generator cpu {r['pages_cpu_seconds_load_generator']:.1f} s): "
        + "; ".join(parts)
        + f"; server peak {r['pages_server_peak_rss_mb']:.0f} MB"
    )
