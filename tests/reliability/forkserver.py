"""A warm process that forks one child per step and can SIGKILL it at a chosen moment.

    python -m tests.reliability.forkserver

Starting `python -m backend` costs about a second of imports, while the work a crash
trial is about (a cycle, an import, an export) takes a few hundred milliseconds: a
kill "at a random moment" of a cold process would nearly always land in the imports.
This server imports the backend once; each request forks a child that runs one step
(tests.reliability.steps, which drives the real `huishoudboekje` command line) with
its own environment, so the kill lands in the work itself. A forked child is a real
process: SIGKILL leaves the database exactly as a crashed server would. The long form
(HUISHOUDBOEKJE_RELIABILITY_LONG=1) also runs trials as cold `python -m backend`
processes.

Protocol, one JSON object per line: the request
    {"step": NAME, "env": {...}, "kill_after_seconds": FLOAT | null, "log": PATH}
is answered with
    {"killed": BOOL, "exit_code": INT | null, "signal": INT | null, "seconds": FLOAT}.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def _run_child(request: dict[str, object]) -> None:
    log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
    code = 0
    try:
        from tests.reliability import steps

        steps.run(str(request["step"]))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _serve_one(request: dict[str, object]) -> dict[str, object]:
    kill_after = request.get("kill_after_seconds")
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _run_child(request)
    killed = False
    if kill_after is not None:
        deadline = started + float(kill_after)  # type: ignore[arg-type]
        while True:
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                break
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                killed = True
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(min(remaining, 0.002))
    else:
        _, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - started
    return {
        "killed": killed and os.WIFSIGNALED(status),
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "seconds": seconds,
    }


def main() -> None:
    # Warm up: everything a step imports, before the first fork.
    import backend.cli  # noqa: F401
    from tests.reliability import steps  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(_serve_one(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
