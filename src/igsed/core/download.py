"""Checksummed, resumable HTTP(S) download with the standard library only.

Bytes go to `<dest>.part` and are renamed onto `dest` only after the size and checksums
verify, so a finished `dest` is always a verified file. A cut connection resumes from the
partial file with a Range request where the server allows it (HTTP 206) and restarts
otherwise. Client errors (4xx) and an unreachable network fail at once: retrying cannot
help there, and a user on an offline machine needs the "provide it by hand" message fast.
"""

from __future__ import annotations

import errno
import http.client
import ipaddress
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from igsed.core.checksums import file_digest
from igsed.core.logs import Progress

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20
_PROGRESS_EVERY_S = 5.0
_USER_AGENT = "igsed-download/0.1 (python urllib)"
# Server-side trouble worth another attempt; every other 4xx is final.
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")


class DownloadError(RuntimeError):
    """A download that failed for good; the message names the URL and what went wrong."""


class _RetryableError(Exception):
    """One attempt failed in a way another attempt may fix."""


class _NoResponseError(_RetryableError):
    """No HTTP response at all (refused, timed out, reset before the headers)."""


class _DiscardPartialError(_RetryableError):
    """The partial file cannot be trusted; the next attempt starts from byte 0."""


def download(
    url: str,
    dest: Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    size_bytes: int | None = None,
    retries: int = 3,
    timeout_s: float = 60.0,
    backoff_s: float = 1.0,
    manual_hint: str | None = None,
) -> Path:
    """Download `url` to `dest`, verified against `size_bytes`, `md5` and `sha256` when given.

    `retries` is the number of attempts (at least one); attempt k waits
    `backoff_s * 2 ** (k - 2)` seconds first. An existing `dest` that verifies is returned
    without any request. `manual_hint` is appended to every error message.
    Raises DownloadError.
    """
    dest = Path(dest)
    expected = _Expected(md5=md5, sha256=sha256, size_bytes=size_bytes)
    if dest.exists():
        problem = expected.problem_with(dest)
        if problem is None:
            how = "verified" if expected.has_checksum() else "nothing configured to verify it"
            logger.info("%s already present (%s); not downloading %s", dest, how, url)
            return dest
        logger.warning("%s exists but %s; downloading it again from %s", dest, problem, url)

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(dest.suffix + ".part")
    attempts = max(1, int(retries))
    failures: list[str] = []
    never_answered = True
    for attempt in range(1, attempts + 1):
        if attempt > 1 and backoff_s > 0:
            time.sleep(backoff_s * 2 ** (attempt - 2))
        try:
            _fetch_into(url, part, expected, timeout_s=timeout_s, manual_hint=manual_hint)
        except _DiscardPartialError as err:
            never_answered = False
            part.unlink(missing_ok=True)
            failures.append(f"attempt {attempt}: {err}")
            logger.warning("%s: attempt %d/%d failed: %s", url, attempt, attempts, err)
            continue
        except _RetryableError as err:
            never_answered = never_answered and isinstance(err, _NoResponseError)
            failures.append(f"attempt {attempt}: {err}")
            logger.warning("%s: attempt %d/%d failed: %s", url, attempt, attempts, err)
            continue
        never_answered = False
        problem = expected.problem_with(part)
        if problem is not None:
            # A corrupt byte may sit anywhere in a resumed file: start over from scratch.
            part.unlink(missing_ok=True)
            failures.append(f"attempt {attempt}: {problem}")
            logger.warning("%s: attempt %d/%d: %s", url, attempt, attempts, problem)
            continue
        if not expected.has_checksum():
            logger.warning(
                "%s: no md5/sha256 configured, file not verified (md5 %s); pin it in the config",
                url,
                file_digest(part, "md5"),
            )
        os.replace(part, dest)
        logger.info(
            "downloaded %s -> %s (%s; %s)",
            url,
            dest,
            _megabytes(dest.stat().st_size),
            expected.describe(),
        )
        return dest

    message = f"download of {url} to {dest} failed after {attempts} attempt(s): " + "; ".join(
        failures
    )
    if never_answered:
        message += (
            ". The server never answered; if this machine is offline, download the file by"
            f" hand and place it at {dest} (a file there that verifies is used as is)."
        )
    raise DownloadError(_with_hint(message, manual_hint))


class _Expected:
    def __init__(self, *, md5: str | None, sha256: str | None, size_bytes: int | None) -> None:
        self.md5 = md5.lower() if md5 else None
        self.sha256 = sha256.lower() if sha256 else None
        self.size_bytes = int(size_bytes) if size_bytes is not None else None

    def has_checksum(self) -> bool:
        return self.md5 is not None or self.sha256 is not None

    def describe(self) -> str:
        """What a file that passed `problem_with` was checked against, for the log."""
        checks = [
            f"{algorithm} {wanted} verified"
            for algorithm, wanted in (("md5", self.md5), ("sha256", self.sha256))
            if wanted is not None
        ]
        if self.size_bytes is not None:
            checks.append(f"size {self.size_bytes} bytes verified")
        return ", ".join(checks) or "no checksum configured"

    def problem_with(self, path: Path) -> str | None:
        """None when `path` matches every expected value, else what differs."""
        actual_size = path.stat().st_size
        if self.size_bytes is not None and actual_size != self.size_bytes:
            return f"size mismatch: expected {self.size_bytes} bytes, got {actual_size} bytes"
        for algorithm, wanted in (("md5", self.md5), ("sha256", self.sha256)):
            if wanted is None:
                continue
            actual = file_digest(path, algorithm)
            if actual != wanted:
                return f"{algorithm} mismatch: expected {wanted}, got {actual}"
        return None


def _fetch_into(
    url: str, part: Path, expected: _Expected, *, timeout_s: float, manual_hint: str | None
) -> None:
    """One attempt: append the missing bytes of `url` to `part`."""
    offset = part.stat().st_size if part.exists() else 0
    if expected.size_bytes is not None and offset > expected.size_bytes:
        part.unlink()
        offset = 0
    if expected.size_bytes is not None and offset == expected.size_bytes:
        return

    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        # A fresh opener per attempt picks up the current proxy environment.
        response = urllib.request.build_opener().open(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and offset:
            match = _UNSATISFIED_RANGE.search(err.headers.get("Content-Range", "") or "")
            if match and int(match.group(1)) == offset:
                return  # the partial file already holds every byte
            raise _DiscardPartialError(f"HTTP 416 for range from byte {offset}") from err
        if err.code in _RETRYABLE_STATUS:
            raise _RetryableError(f"HTTP {err.code} {err.reason}") from err
        raise DownloadError(
            _with_hint(f"download of {url} failed: HTTP {err.code} {err.reason}", manual_hint)
        ) from err
    except urllib.error.URLError as err:
        reason = err.reason
        if _is_unreachable(url, reason):
            raise DownloadError(_offline_message(url, part, reason, manual_hint)) from err
        raise _NoResponseError(f"connection error: {reason}") from err
    except (OSError, http.client.HTTPException) as err:
        if _is_unreachable(url, err):
            raise DownloadError(_offline_message(url, part, err, manual_hint)) from err
        raise _NoResponseError(f"connection error: {err!r}") from err

    with response:
        total = _declared_total(response, offset)
        if response.status == 206:
            start = _range_start(response)
            if start != offset:
                raise _DiscardPartialError(f"server answered range from byte {start}, not {offset}")
        elif offset:
            logger.info("%s: server ignored the Range request; restarting from byte 0", url)
            offset = 0
        if total is not None and expected.size_bytes is not None and total != expected.size_bytes:
            # Caught before any body byte is read, so another attempt costs one request.
            raise _DiscardPartialError(
                f"size mismatch: expected {expected.size_bytes} bytes,"
                f" server announces {total} bytes"
            )
        _stream(url, response, part, offset=offset, total=total)


def _stream(
    url: str, response: http.client.HTTPResponse, part: Path, *, offset: int, total: int | None
) -> None:
    received = offset
    progress = Progress(logger, url, total, every_s=_PROGRESS_EVERY_S)
    try:
        with open(part, "ab" if offset else "wb") as handle:
            while chunk := response.read(_CHUNK_BYTES):
                handle.write(chunk)
                received += len(chunk)
                progress.update(received, _progress(received, total))
    except (OSError, http.client.HTTPException) as err:
        raise _RetryableError(
            f"connection lost after {received} bytes ({type(err).__name__}: {err})"
        ) from err
    if total is not None and received < total:
        raise _RetryableError(f"short read: got {received} of {total} bytes")


def _declared_total(response: http.client.HTTPResponse, offset: int) -> int | None:
    if response.status == 206:
        match = _CONTENT_RANGE.search(response.headers.get("Content-Range", "") or "")
        if match and match.group(3) != "*":
            return int(match.group(3))
        length = response.headers.get("Content-Length")
        return offset + int(length) if length and length.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _range_start(response: http.client.HTTPResponse) -> int | None:
    match = _CONTENT_RANGE.search(response.headers.get("Content-Range", "") or "")
    return int(match.group(1)) if match else None


def _is_unreachable(url: str, reason: object) -> bool:
    """True when the failure means there is no network path to the host at all."""
    if isinstance(reason, socket.gaierror):
        return True
    if isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return True
    # A refused connection to this machine only means a local server is down.
    return isinstance(reason, ConnectionRefusedError) and not _is_local_host(url)


def _is_local_host(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _offline_message(url: str, part: Path, reason: object, manual_hint: str | None) -> str:
    dest = part.with_name(part.name.removesuffix(".part"))
    message = (
        f"cannot download {url}: the network or host is unreachable ({reason}). "
        f"This machine appears to be offline. Download the file by hand on a machine with "
        f"internet access (browser, curl or wget) and place it at {dest}; a file there that "
        f"matches the configured size/checksum is used without downloading."
    )
    return _with_hint(message, manual_hint)


def _with_hint(message: str, manual_hint: str | None) -> str:
    return f"{message} {manual_hint}" if manual_hint else message


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB"


def _progress(received: int, total: int | None) -> str:
    if total:
        return f"{100.0 * received / total:.1f}% ({_megabytes(received)} of {_megabytes(total)})"
    return _megabytes(received)
