"""Download full MNIST (four IDX .gz files) into a verified cache in the user's data folder.

Standard library only (urllib): streams in chunks with a progress callback, can be cancelled
between chunks, verifies sizes and SHA-256, writes each file atomically and tries the next mirror
on failure.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from engine.files.paths import user_data_dir

#: name -> (size in bytes, SHA-256), as published on the PyTorch and TensorFlow mirrors.
MNIST_FILES: dict[str, tuple[int, str]] = {
    "train-images-idx3-ubyte.gz": (
        9912422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "train-labels-idx1-ubyte.gz": (
        28881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "t10k-images-idx3-ubyte.gz": (
        1648877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        4542,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}

#: The original yann.lecun.com site is often down; PyTorch and TensorFlow each keep a mirror.
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

CHUNK = 64 * 1024
OFFLINE_HINT = "Check your internet connection; the bundled 5,000 digits still work offline."

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


class DownloadError(RuntimeError):
    """The download failed; the message says why and what still works."""


class DownloadCancelled(DownloadError):
    """The user cancelled the download; no partial file is left behind."""


class _HashMismatch(Exception):
    """One mirror served bytes that are not the published file."""


class _Incomplete(ConnectionError):
    """The connection closed before the whole file arrived."""


def mnist_dir() -> Path:
    """Default cache folder for full MNIST: ``user_data_dir()/"mnist"``."""
    return user_data_dir() / "mnist"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_cached(path: Path, size: int, sha256: str) -> bool:
    """Whether ``path`` already holds the expected file (size checked first: it is free)."""
    return path.is_file() and path.stat().st_size == size and _sha256(path) == sha256


def is_downloaded(
    dest: Path | None = None, files: Mapping[str, tuple[int, str]] = MNIST_FILES
) -> bool:
    """Whether every file is present and verified in ``dest`` (default :func:`mnist_dir`)."""
    dest = mnist_dir() if dest is None else Path(dest)
    return all(is_cached(dest / name, *spec) for name, spec in files.items())


class _Progress:
    """Reports bytes done over all files, never going backwards when a mirror is retried."""

    def __init__(self, callback: ProgressFn | None, total: int) -> None:
        self.callback = callback
        self.total = total
        self.reported = -1

    def __call__(self, done: int) -> None:
        if self.callback is not None and done > self.reported:
            self.reported = done
            self.callback(done, self.total)


def _fetch(
    url: str,
    target: Path,
    size: int,
    sha256: str,
    *,
    timeout: float,
    on_bytes: Callable[[int], None],
    cancel: CancelFn | None,
) -> None:
    """Stream ``url`` into a temp file next to ``target``, verify, then rename it into place."""
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as exc:
        raise DownloadError(f"Cannot write into {target.parent}: {exc}") from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        received = 0
        request = urllib.request.Request(url, headers={"User-Agent": "backprop-playground"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            while True:
                if cancel is not None and cancel():
                    raise DownloadCancelled("Download cancelled; nothing partial was kept.")
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > size:
                    # A wrong file (an HTML error page, another version): stop reading it.
                    raise _HashMismatch(f"{url} sent more than the expected {size:,} bytes")
                digest.update(chunk)
                out.write(chunk)
                on_bytes(received)
        if received < size:
            raise _Incomplete(f"connection closed after {received:,} of {size:,} bytes")
        actual = digest.hexdigest()
        if actual != sha256:
            raise _HashMismatch(f"{url} has SHA-256 {actual}, expected {sha256}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _describe(url: str, exc: BaseException) -> str:
    host = urlsplit(url).netloc or url
    if isinstance(exc, urllib.error.HTTPError):
        return f"{host}: HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{host}: {exc.reason}"
    return f"{host}: {exc or type(exc).__name__}"


def download_mnist(
    dest: Path | None = None,
    *,
    mirrors: Sequence[str] = DEFAULT_MIRRORS,
    files: Mapping[str, tuple[int, str]] = MNIST_FILES,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    timeout: float = 30,
) -> Path:
    """Download ``files`` into ``dest`` (default :func:`mnist_dir`) and return the folder.

    Files already present with the right hash are not fetched again. ``progress(done, total)`` gets
    bytes over all files (cached ones count as done) and never decreases. ``cancel()`` is polled
    between 64 KiB chunks. Raises :class:`DownloadError` (offline, HTTP errors, hash mismatch) or
    :class:`DownloadCancelled`; a failed or cancelled file leaves nothing behind.
    """
    dest = mnist_dir() if dest is None else Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"Cannot create the download folder {dest}: {exc}") from None
    if not mirrors:
        raise DownloadError("No MNIST mirror configured")
    report = _Progress(progress, sum(size for size, _ in files.values()))
    pending = []
    done = 0
    for name, (size, sha256) in files.items():
        if is_cached(dest / name, size, sha256):
            done += size
        else:
            pending.append((name, size, sha256))
    report(done)
    for name, size, sha256 in pending:
        failures: list[str] = []
        reached_any = False
        mismatch = False
        for base in mirrors:
            url = base if base.endswith("/") else base + "/"
            url += name
            try:
                _fetch(
                    url,
                    dest / name,
                    size,
                    sha256,
                    timeout=timeout,
                    on_bytes=lambda n, start=done: report(start + n),
                    cancel=cancel,
                )
                break
            except DownloadCancelled:
                raise
            except _HashMismatch as exc:
                reached_any = mismatch = True
                failures.append(str(exc))
            except (urllib.error.HTTPError, _Incomplete) as exc:
                reached_any = True
                failures.append(_describe(url, exc))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                # OSError covers URLError, refused connections and timeouts; HTTPException a
                # connection cut mid-body; ValueError a malformed mirror URL.
                failures.append(_describe(url, exc))
        else:
            detail = "; ".join(failures)
            if mismatch:
                raise DownloadError(
                    f"{name} did not match its published SHA-256 on any mirror ({detail}). "
                    "The mirrors may be serving a different file; nothing was kept."
                )
            if reached_any:
                raise DownloadError(f"Could not download {name} from any MNIST mirror ({detail}).")
            raise DownloadError(f"Could not reach any MNIST mirror ({detail}). {OFFLINE_HINT}")
        done += size
        report(done)
    return dest
