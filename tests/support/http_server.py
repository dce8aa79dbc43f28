"""A small threaded HTTP server on 127.0.0.1 for download tests (no other host is contacted).

    with FileServer(directory) as server:
        url = server.url("file.bin")
        server.cut_after["file.bin"] = [1000]  # first GET is cut after 1000 body bytes
        ...
        server.requests  # every request seen: ServedRequest(path, range_header, status)

Serves the files of `directory` (GET and HEAD) with byte-range support (206, 416), answers
404 for missing files, can ignore Range headers (a server without resume support), can
answer a queue of forced statuses (e.g. 503 then normal), and can cut the connection
mid-body. It binds a random free port and shuts itself down after `max_lifetime_s` even if
a test forgets to stop it.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class ServedRequest:
    method: str
    path: str
    range_header: str | None
    status: int


class FileServer:
    """Serve `root` over HTTP on 127.0.0.1:<random port> from a daemon thread."""

    def __init__(self, root: Path, *, max_lifetime_s: float = 60.0) -> None:
        self.root = Path(root).resolve()
        self.requests: list[ServedRequest] = []
        # Relative path -> body byte counts; each GET of that path pops the first count
        # and sends only that many body bytes before dropping the connection.
        self.cut_after: dict[str, list[int]] = {}
        # Relative path -> statuses answered (and popped) before the file is served.
        self.forced_status: dict[str, list[int]] = {}
        self.ignore_range = False
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval keeps stop() (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._watchdog = threading.Timer(max_lifetime_s, self.stop)
        self._watchdog.daemon = True
        self._stopped = False

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, relative: str) -> str:
        return f"http://127.0.0.1:{self.port}/{urllib.parse.quote(relative)}"

    def start(self) -> FileServer:
        self._thread.start()
        self._watchdog.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._watchdog.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    def count(self, relative: str, method: str = "GET") -> int:
        """How many `method` requests asked for `relative`."""
        with self._lock:
            return sum(1 for r in self.requests if r.path == relative and r.method == method)

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, request: ServedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _pop(self, table: dict[str, list[int]], relative: str) -> int | None:
        with self._lock:
            queue = table.get(relative)
            return queue.pop(0) if queue else None


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._serve(send_body=True)

        def _serve(self, *, send_body: bool) -> None:
            relative = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            range_header = self.headers.get("Range")
            forced = server._pop(server.forced_status, relative)
            if forced is not None:
                self._reply_empty(forced, relative, range_header)
                return
            target = (server.root / relative).resolve()
            if not target.is_file() or not target.is_relative_to(server.root):
                self._reply_empty(404, relative, range_header)
                return
            data = target.read_bytes()
            start, end, status = 0, len(data) - 1, 200
            if range_header and not server.ignore_range:
                parsed = _parse_range(range_header, len(data))
                if parsed is None:
                    self._reply_empty(
                        416,
                        relative,
                        range_header,
                        extra={"Content-Range": f"bytes */{len(data)}"},
                    )
                    return
                start, end = parsed
                status = 206
            body = data[start : end + 1]
            server._record(ServedRequest(self.command, relative, range_header, status))
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.end_headers()
            if not send_body:
                return
            cut = server._pop(server.cut_after, relative) if self.command == "GET" else None
            if cut is not None and cut < len(body):
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

        def _reply_empty(
            self,
            status: int,
            relative: str,
            range_header: str | None,
            extra: dict[str, str] | None = None,
        ) -> None:
            server._record(ServedRequest(self.command, relative, range_header, status))
            self.send_response(status)
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) of a single `bytes=` range, or None when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if not match.group(1):  # suffix range: the last N bytes
        length = int(match.group(2))
        return (max(0, size - length), size - 1) if length else None
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)
