"""Serving the app: gunicorn with one worker process per core (threads in each), or waitress
where gunicorn cannot run (Windows) or when asked for.

Why processes: Python runs one thread of an interpreter at a time, so one process with eight
threads (waitress) gives what one core gives, whatever the machine; measured on two cores it
served half the pages per second that two processes did (bench/README.md). gunicorn forks its
workers from one master that binds the port, restarts a worker that dies, and replaces them all
gracefully on SIGHUP (each finishes the requests it has; SIGTERM stops the server the same way).

The app is built once, in the master, before the fork (``preload_app``): its start-up checks
(the schema, the settings) run once and fail before any worker starts, its secret key is read or
made once (two workers making one each would sign cookies the other refuses), and what it
allocated is shared copy-on-write and frozen out of the garbage collector's passes. Each worker
then drops the database connections it inherited (``engine.dispose(close=False)``: SQLAlchemy's
rule for a fork) and opens its own.
"""

from __future__ import annotations

import gc
import importlib.util
import os
from collections.abc import Callable
from typing import Any

SERVERS = ("gunicorn", "waitress")
GRACEFUL_SECONDS = 30  # what a worker gets to finish its requests on a restart or stop
THREADS = 2
"""Threads in each gunicorn worker: one computes while the other waits on the database. More
threads per process wait on each other for the interpreter lock: on the scorecard, measured on
2 cores with 2 workers, 2 threads served 15% more pages a second than 4 (bench/README.md)."""


def cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def available() -> list[str]:
    """The servers this machine can run, the preferred first."""
    usable = []
    if os.name == "posix" and importlib.util.find_spec("gunicorn") is not None:
        usable.append("gunicorn")
    return [*usable, "waitress"]


def serve(app: Any, *, host: str, port: int, workers: int, threads: int,
          server: str | None = None, echo: Callable[[str], Any] = print) -> None:
    """Serve ``app`` until stopped: with ``server`` (default the first of ``available()``),
    ``workers`` processes of ``threads`` threads each (waitress: one process)."""
    server = server or available()[0]
    if server not in available():
        raise ValueError(f"The server {server!r} cannot run here; use one of "
                         f"{', '.join(available())}.")
    # What start-up allocated lives as long as the server: freezing it keeps the collector's
    # full passes (tens of ms, measured in bench/) off the requests, and, before a fork, keeps
    # the workers from touching (and so copying) the master's pages.
    gc.collect()
    gc.freeze()
    if server == "waitress":
        _waitress(app, host, port, threads, echo)
    else:
        _gunicorn(app, host, port, workers, threads, echo)


def _waitress(app: Any, host: str, port: int, threads: int, echo: Callable[[str], Any]) -> None:
    from waitress import create_server

    # waitress reads a whole body before it calls the app: it must refuse one declared too
    # large itself, from the headers (the app's own check, refuse_large_bodies, comes too late).
    server = create_server(app, host=host, port=port, threads=threads, ident="qm",
                           max_request_body_size=app.config["MAX_CONTENT_LENGTH"])
    bound = server.socket.getsockname()[1]  # the port chosen, when asked for any (0)
    echo(f"qm is serving on http://{host}:{bound}/ with waitress, 1 process of {threads} "
         "threads (Ctrl+C stops it)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _gunicorn(app: Any, host: str, port: int, workers: int, threads: int,
              echo: Callable[[str], Any]) -> None:
    from gunicorn.app.base import BaseApplication

    engine = app.extensions["qm"]["engine"]
    engine.dispose()  # the master keeps no connection for the workers to inherit

    def when_ready(arbiter: Any) -> None:
        bound = ", ".join(f"http://{host}:{listener.sock.getsockname()[1]}/"
                          for listener in arbiter.LISTENERS)
        echo(f"qm is serving on {bound} with gunicorn, {workers} worker process"
             f"{'es' if workers != 1 else ''} of {threads} threads (Ctrl+C stops it; "
             f"kill -HUP {os.getpid()} restarts the workers gracefully)")
        if workers > 1 and app.config.get("RATELIMIT_STORAGE_URI", "").startswith("memory"):
            echo("Note: QM_RATE_LIMIT_STORAGE is memory://, so each worker counts failed "
                 "logins apart; set it to redis://... to count them together.")

    def post_fork(_arbiter: Any, _worker: Any) -> None:
        engine.dispose(close=False)

    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # A worker takes no more connections than it has threads: the rest wait in the
        # listening socket for whichever worker frees a thread first, as with sync workers.
        # With gunicorn's default (1,000) a worker took every connection it could and queued
        # them behind its own threads while the other worker had a thread free: measured with
        # 8 clients on 2 workers of 2 threads, the scorecard's p90 was 96 to 145 ms, against
        # 89 to 92 ms with this limit, at the same throughput (bench/README.md).
        "worker_connections": threads,
        "preload_app": True,
        "graceful_timeout": GRACEFUL_SECONDS,
        # A gthread worker tells the master it lives from its own loop, not per request: a long
        # export does not get it killed; a worker stuck for this long does.
        "timeout": 120,
        # No keep-alive: a gthread worker keeps a kept-alive connection to itself, so a few
        # busy clients (a proxy's pooled connections, a browser's, a load test's) can all land
        # on one worker while the others idle: measured with 8 such clients on 2 workers, one
        # worker did all the work about half the runs, at half the throughput. Closed after
        # each answer, every request is accepted afresh by whichever worker is free. Behind a
        # proxy (see the README) the reconnect is on the local link and costs ~0.1 ms.
        "keepalive": 0,
        # X-Forwarded-* are the app's to trust (QM_PROXY_HOPS), not gunicorn's: with its
        # default, a client on this machine could claim HTTPS.
        "forwarded_allow_ips": "",
        "proc_name": "qm",
        "loglevel": "warning",
        "accesslog": None,
        "when_ready": when_ready,
        "post_fork": post_fork,
    }

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    Server().run()
