"""MNIST downloader against a local HTTP server on 127.0.0.1 serving files the test writes."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from http_files import FileServer

from engine.data.download import (
    DownloadCancelled,
    DownloadError,
    download_mnist,
    is_downloaded,
    mnist_dir,
)
from engine.files.paths import user_data_dir


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer()
    yield srv
    srv.close()


@pytest.fixture
def closed_url() -> str:
    """A URL on a port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def publish(server: FileServer, sizes: dict[str, int]) -> dict[str, tuple[int, str]]:
    rng = np.random.default_rng(0)
    spec = {}
    for name, size in sizes.items():
        body = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        server.files[name] = body
        spec[name] = (size, hashlib.sha256(body).hexdigest())
    return spec


SIZES = {"a-images.gz": 200_000, "a-labels.gz": 10, "b-images.gz": 70_000}


def test_download_progress_and_cache(server: FileServer, tmp_path: Path) -> None:
    files = publish(server, SIZES)
    calls: list[tuple[int, int]] = []
    dest = download_mnist(
        tmp_path / "m",
        mirrors=[server.url],
        files=files,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert dest == tmp_path / "m"
    for name, body in server.files.items():
        assert (dest / name).read_bytes() == body
    total = sum(SIZES.values())
    done = [d for d, _ in calls]
    assert all(t == total for _, t in calls)
    assert done == sorted(done)
    assert done[0] == 0
    assert done[-1] == total
    assert len(calls) > 4  # several chunks of the 200 kB file were reported
    assert is_downloaded(dest, files)

    requests_before = len(server.requests)
    calls.clear()
    download_mnist(
        dest, mirrors=[server.url], files=files, progress=lambda d, t: calls.append((d, t))
    )
    assert len(server.requests) == requests_before  # all three came from the cache
    assert calls == [(total, total)]


def test_corrupt_cached_file_is_fetched_again(server: FileServer, tmp_path: Path) -> None:
    files = publish(server, SIZES)
    (tmp_path / "a-labels.gz").write_bytes(b"0123456789")  # right size, wrong content
    download_mnist(tmp_path, mirrors=[server.url], files=files)
    assert (tmp_path / "a-labels.gz").read_bytes() == server.files["a-labels.gz"]


def test_next_mirror_is_tried(server: FileServer, closed_url: str, tmp_path: Path) -> None:
    files = publish(server, {"x.gz": 1000})
    download_mnist(tmp_path, mirrors=[closed_url, server.url], files=files)
    assert (tmp_path / "x.gz").read_bytes() == server.files["x.gz"]


def test_unreachable_says_offline_and_bundled_still_works(closed_url: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path, mirrors=[closed_url], files={"x.gz": (10, "0" * 64)}, timeout=5)
    message = str(info.value)
    assert message.startswith("Could not reach any MNIST mirror (127.0.0.1:")
    assert "Check your internet connection; the bundled 5,000 digits still work offline." in message
    assert not list(tmp_path.iterdir())


def test_hash_mismatch(server: FileServer, tmp_path: Path) -> None:
    files = publish(server, {"x.gz": 5000})
    wrong = {"x.gz": (5000, "ab" * 32)}
    with pytest.raises(DownloadError, match="did not match its published SHA-256") as info:
        download_mnist(tmp_path, mirrors=[server.url], files=wrong)
    assert files["x.gz"][1] in str(info.value)  # says which hash it got
    assert not list(tmp_path.iterdir())


def test_wrong_size_stops_early(server: FileServer, tmp_path: Path) -> None:
    files = publish(server, {"x.gz": 300_000})
    smaller = {"x.gz": (1000, files["x.gz"][1])}
    with pytest.raises(DownloadError, match="more than the expected 1,000 bytes"):
        download_mnist(tmp_path, mirrors=[server.url], files=smaller)
    assert not list(tmp_path.iterdir())


def test_http_error_is_reported(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"Could not download x\.gz .*HTTP 404"):
        download_mnist(tmp_path, mirrors=[server.url], files={"x.gz": (10, "0" * 64)})


def test_cancel_leaves_nothing(server: FileServer, tmp_path: Path) -> None:
    files = publish(server, SIZES)
    seen: list[int] = []
    with pytest.raises(DownloadCancelled, match="cancelled"):
        download_mnist(
            tmp_path,
            mirrors=[server.url],
            files=files,
            progress=lambda d, t: seen.append(d),
            cancel=lambda: len(seen) > 2,  # after the first chunks arrived
        )
    assert not list(tmp_path.iterdir())
    assert isinstance(DownloadCancelled("x"), DownloadError)


def test_connection_cut_mid_file_leaves_no_partial_file(server: FileServer, tmp_path: Path) -> None:
    files = publish(server, {"x.gz": 300_000})
    server.truncate.add("x.gz")
    with pytest.raises(DownloadError, match=r"x\.gz .*closed after 150,000 of 300,000 bytes"):
        download_mnist(tmp_path, mirrors=[server.url], files=files)
    assert not list(tmp_path.iterdir())


def test_default_folder_is_in_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: FileServer
) -> None:
    monkeypatch.setenv("BACKPROP_PLAYGROUND_DATA", str(tmp_path / "data"))
    assert user_data_dir() == tmp_path / "data"
    assert user_data_dir().is_dir()
    files = publish(server, {"x.gz": 100})
    assert download_mnist(mirrors=[server.url], files=files) == mnist_dir()
    assert (tmp_path / "data" / "mnist" / "x.gz").is_file()
