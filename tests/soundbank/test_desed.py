"""The `desed` source end to end, on a tiny archive that mimics DESED's internal layout."""

from __future__ import annotations

import copy
import hashlib
import io
import socket
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from support.http_server import FileServer

from igsed.core.constants import CLASSES
from igsed.core.download import DownloadError
from igsed.soundbank.desed import DEFAULT_DESED_ARCHIVES, fetch_desed_soundbank
from igsed.soundbank.layout import SoundbankError

ARCHIVE_NAME = "DESED_synth_soundbank.tar.gz"
MEMBERS = DEFAULT_DESED_ARCHIVES[0]["members"]


def _wav_bytes(seed: int, rate: int = 16_000) -> bytes:
    audio = np.random.default_rng(seed).uniform(-0.1, 0.1, rate // 20).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _desed_members() -> dict[str, bytes]:
    """Archive member name -> content, in DESED_synth_soundbank.tar.gz's internal layout."""
    members: dict[str, bytes] = {"license_training.tsv": b"filename\tid\n"}
    seed = 0
    for split in ("train", "eval"):
        for name in CLASSES:
            seed += 1
            members[f"audio/{split}/soundbank/foreground/{name}/{seed}_{name}.wav"] = _wav_bytes(
                seed
            )
    members["audio/train/soundbank/foreground/Frying_nOn_nOff/77_fry.wav"] = _wav_bytes(77)
    members["audio/train/soundbank/foreground/Cat/._1_Cat.wav"] = b"AppleDouble junk"
    members["audio/eval/soundbank/foreground/Dog/notes.txt"] = b"not audio"
    members["audio/eval/soundbank/background/freesound/bg_a.wav"] = _wav_bytes(101)
    members["audio/eval/soundbank/background/youtube/bg_b.wav"] = _wav_bytes(102)
    members["audio/eval/soundbank/foreground_short/Dog/short.wav"] = _wav_bytes(103)
    members["audio/eval/soundbank/background_long/Frying/long.wav"] = _wav_bytes(104)
    return members


def _write_tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _archive_spec(server: FileServer, served: Path, name: str = ARCHIVE_NAME) -> dict:
    data = (served / name).read_bytes()
    return {
        "name": "DESED_synth_soundbank",
        "url": server.url(name) + "?download=1",
        "md5": hashlib.md5(data).hexdigest(),
        "size_bytes": len(data),
        "members": copy.deepcopy(MEMBERS),
    }


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    _write_tar(root / ARCHIVE_NAME, _desed_members())
    return root


@pytest.fixture
def server(served: Path):
    with FileServer(served) as running:
        yield running


def _fetch(spec: dict, out_dir: Path, downloads: Path, **kwargs) -> dict:
    return fetch_desed_soundbank(
        out_dir, downloads_dir=downloads, archives=[spec], retries=3, timeout_s=5.0,
        backoff_s=0.0, **kwargs,
    )  # fmt: skip


def test_end_to_end_layout(server: FileServer, served: Path, tmp_path: Path) -> None:
    out_dir, downloads = tmp_path / "soundbank", tmp_path / "downloads"
    summary = _fetch(_archive_spec(server, served), out_dir, downloads)

    seed = 0
    for pool in ("train", "eval"):
        for name in CLASSES:
            seed += 1
            files = sorted(p.name for p in (out_dir / pool / "foreground" / name).iterdir())
            assert files == [f"{seed}_{name}.wav"]
        backgrounds = sorted(p.name for p in (out_dir / pool / "background").iterdir())
        assert backgrounds == ["freesound_bg_a.wav", "youtube_bg_b.wav"]
    extracted = out_dir / "train" / "foreground" / "Alarm_bell_ringing" / "1_Alarm_bell_ringing.wav"
    assert extracted.read_bytes() == _wav_bytes(1)
    assert not list(out_dir.rglob("short.wav")) and not list(out_dir.rglob("long.wav"))

    assert summary["counts"]["train"]["foreground"]["Frying"] == 1
    assert summary["counts"]["eval"]["background"] == 2
    assert summary["skipped"]["cut_variants"] == 1
    assert summary["skipped"]["hidden_files"] == 1
    assert summary["skipped"]["non_audio_files"] == 1
    archive = summary["archives"][0]
    assert archive["md5"] == hashlib.md5((served / ARCHIVE_NAME).read_bytes()).hexdigest()
    assert archive["files"] == 24
    assert (downloads / ARCHIVE_NAME).is_file()

    # The kept archive serves a rerun without any request.
    _fetch(_archive_spec(server, served), tmp_path / "again", downloads)
    assert server.count(ARCHIVE_NAME) == 1


def test_cut_variants_are_kept_when_asked(server: FileServer, served: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "soundbank"
    _fetch(_archive_spec(server, served), out_dir, tmp_path / "dl", include_cut_variants=True)
    frying = sorted(p.name for p in (out_dir / "train" / "foreground" / "Frying").iterdir())
    assert frying == ["77_fry_nOn_nOff.wav", "7_Frying.wav"]


def test_zip_archive(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    _write_zip(root / "soundbank.zip", _desed_members())
    with FileServer(root) as server:
        spec = _archive_spec(server, root, "soundbank.zip")
        summary = _fetch(spec, tmp_path / "out", tmp_path / "dl")
    assert summary["counts"]["eval"]["foreground"]["Speech"] == 1
    assert (tmp_path / "dl" / "soundbank.zip").is_file()


def test_cut_connection_resumes(server: FileServer, served: Path, tmp_path: Path) -> None:
    server.cut_after[ARCHIVE_NAME] = [2000]
    summary = _fetch(_archive_spec(server, served), tmp_path / "out", tmp_path / "dl")
    assert summary["counts"]["train"]["background"] == 2
    assert [r.status for r in server.requests] == [200, 206]


def test_bad_checksum_fails_naming_expected_and_actual(
    server: FileServer, served: Path, tmp_path: Path
) -> None:
    spec = _archive_spec(server, served)
    actual = spec["md5"]
    spec["md5"] = "1" * 32
    out_dir = tmp_path / "out"
    with pytest.raises(DownloadError) as caught:
        _fetch(spec, out_dir, tmp_path / "dl")
    message = str(caught.value)
    assert "1" * 32 in message and actual in message and spec["url"] in message
    assert "source: folder" in message
    assert server.count(ARCHIVE_NAME) == 3
    assert not any(out_dir.rglob("*.wav"))
    assert not (tmp_path / "dl" / ARCHIVE_NAME).exists()


def test_404_fails_at_once(server: FileServer, served: Path, tmp_path: Path) -> None:
    spec = _archive_spec(server, served)
    spec["url"] = server.url("gone.tar.gz")
    with pytest.raises(DownloadError) as caught:
        _fetch(spec, tmp_path / "out", tmp_path / "dl")
    assert spec["url"] in str(caught.value) and "404" in str(caught.value)
    assert server.count("gone.tar.gz") == 1


def test_offline_names_url_and_folder_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_getaddrinfo = socket.getaddrinfo

    def no_dns(host, *args, **kwargs):
        if host == "zenodo.org":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    spec = copy.deepcopy(DEFAULT_DESED_ARCHIVES[0])
    with pytest.raises(DownloadError) as caught:
        _fetch(spec, tmp_path / "out", tmp_path / "dl")
    message = str(caught.value)
    assert spec["url"] in message and "unreachable" in message
    assert "soundbank: {source: folder, folder: {path:" in message
    assert str(tmp_path / "dl" / ARCHIVE_NAME) in message


def test_path_traversal_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    members = _desed_members()
    members["audio/train/soundbank/foreground/Cat/../../../../../../escape.wav"] = _wav_bytes(9)
    _write_tar(root / ARCHIVE_NAME, members)
    with FileServer(root) as server, pytest.raises(SoundbankError, match="outside the archive"):
        _fetch(_archive_spec(server, root), tmp_path / "out", tmp_path / "dl")
    assert not list(tmp_path.rglob("escape.wav"))


def test_link_member_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    _write_tar(root / ARCHIVE_NAME, _desed_members())
    with tarfile.open(root / ARCHIVE_NAME, "r:gz") as tar:
        members = [(info, tar.extractfile(info).read()) for info in tar if info.isfile()]
    with tarfile.open(root / ARCHIVE_NAME, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("audio/train/soundbank/foreground/Dog/passwd.wav")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with FileServer(root) as server, pytest.raises(SoundbankError, match="is a link"):
        _fetch(_archive_spec(server, root), tmp_path / "out", tmp_path / "dl")


def test_layout_change_is_reported(server: FileServer, served: Path, tmp_path: Path) -> None:
    spec = _archive_spec(server, served)
    spec["members"] = {"synthetic/audio/train/soundbank/foreground": "train/foreground"}
    with pytest.raises(SoundbankError, match="top-level entries are: audio, license_training"):
        _fetch(spec, tmp_path / "out", tmp_path / "dl")


def test_missing_class_in_archive_fails_validation(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    members = {
        k: v for k, v in _desed_members().items() if "/eval/soundbank/foreground/Cat/" not in k
    }
    _write_tar(root / ARCHIVE_NAME, members)
    with FileServer(root) as server, pytest.raises(SoundbankError, match="eval/foreground/Cat"):
        _fetch(_archive_spec(server, root), tmp_path / "out", tmp_path / "dl")


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"audio/x": "test/foreground"}, "unknown target 'test/foreground'"),
        ({"../audio": "train/background"}, "outside the archive"),
        ({}, "has no 'members'"),
    ],
)
def test_bad_archive_spec(tmp_path: Path, members: dict, message: str) -> None:
    spec = {"name": "x", "url": "http://127.0.0.1:9/x.tar.gz", "md5": None, "members": members}
    with pytest.raises(SoundbankError, match=message):
        _fetch(spec, tmp_path / "out", tmp_path / "dl")


def test_non_empty_output_is_refused(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "stale.wav").write_bytes(b"x")
    spec = copy.deepcopy(DEFAULT_DESED_ARCHIVES[0])
    with pytest.raises(SoundbankError, match="not empty"):
        _fetch(spec, out_dir, tmp_path / "dl")
