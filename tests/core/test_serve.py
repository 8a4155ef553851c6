"""`qm serve` through the real server: gunicorn with worker processes by default, one secret key
for all of them, a graceful restart on SIGHUP and a clean stop on SIGTERM; waitress on request."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import factories
import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads worker processes from /proc")


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


class Server:
    def __init__(self, tmp_path: Path, database_url: str, *args: str) -> None:
        # No QM_SECRET_KEY: the key is made in the data directory, once, by the master.
        env = {k: v for k, v in os.environ.items() if not k.startswith("QM_")}
        env.update(QM_DATA_DIR=str(tmp_path / "serve"), QM_DATABASE_URL=database_url)
        qm = os.path.join(os.path.dirname(sys.executable), "qm")
        self.proc = subprocess.Popen([qm, "serve", "--port", "0", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.first = self.proc.stdout.readline()  # type: ignore[union-attr]
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", self.first)
        assert found, f"qm serve said {self.first!r}; exit {self.proc.poll()}"
        self.url = f"http://127.0.0.1:{found.group(1)}"
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(self, path: str) -> tuple[int, str, str]:
        """Status, final URL (after redirects) and body."""
        with self.opener.open(self.url + path, timeout=20) as response:
            return response.status, response.url, response.read().decode()

    def login(self, username: str) -> None:
        _status, _url, page = self.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, page[:500]
        body = urllib.parse.urlencode({"csrf_token": token.group(1), "username": username,
                                       "password": factories.PASSWORD}).encode()
        with self.opener.open(self.url + "/login", data=body, timeout=20) as response:
            assert response.status == 200 and not response.url.endswith("/login")

    def workers(self, count: int, timeout: float = 30) -> set[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _children(self.proc.pid)
            if len(found) == count:
                return found
            time.sleep(0.2)
        raise AssertionError(f"{count} workers expected, found {_children(self.proc.pid)}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=40)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture
def users(session, people):
    session.commit()
    return people


def test_workers_share_one_key_restart_gracefully_and_stop_cleanly(tmp_path, database_url,
                                                                    users):
    server = Server(tmp_path, database_url, "--workers", "2")
    try:
        assert "with gunicorn, 2 worker processes of 2 threads" in server.first
        first = server.workers(2)
        # no keep-alive: each request is taken by whichever worker is free, not by the one a
        # kept-alive connection is stuck to
        with server.opener.open(server.url + "/healthz", timeout=20) as response:
            assert response.headers["Connection"] == "close"
        server.login("admin")
        # every request of the session is recognised, whichever worker takes it: the key was
        # made once (a key per worker would log the user out on every other request)
        for _ in range(12):
            status, url, page = server.get("/")
            assert status == 200 and "/login" not in url and 'action="/logout"' in page
        keys = list((tmp_path / "serve").glob("secret_key"))
        assert len(keys) == 1
        # SIGHUP: new workers replace the old ones; the server answers throughout
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while _children(server.proc.pid) & first and time.monotonic() < deadline:
            assert server.get("/healthz")[0] == 200
            time.sleep(0.1)
        replaced = server.workers(2)
        assert not replaced & first, "SIGHUP left an old worker running"
        assert server.get("/")[1].endswith("/")  # still logged in: the same key
    finally:
        code = server.stop()
    assert code == 0, server.proc.stdout.read()  # type: ignore[union-attr]


def test_waitress_on_request(tmp_path, database_url, users):
    server = Server(tmp_path, database_url, "--server", "waitress", "--threads", "2")
    try:
        assert "with waitress, 1 process of 2 threads" in server.first
        assert server.get("/healthz")[0] == 200
        assert _children(server.proc.pid) == set()
    finally:
        server.stop()


def test_the_default_is_one_worker_per_core(tmp_path, database_url, users):
    from qm import server as servers

    server = Server(tmp_path, database_url)
    try:
        expected = servers.cores()
        assert f"{expected} worker process" in server.first
        assert len(server.workers(expected)) == expected
    finally:
        server.stop()
