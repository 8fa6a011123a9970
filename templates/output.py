"""Careful writes of a rendered bundle into an output directory (`llm-advisor render --out`).

The files are written into a temporary directory beside the target and then put in place with rename(2),
which POSIX makes atomic ("If newpath already exists, it will be atomically replaced"; a directory may
replace an empty directory: Linux man-pages rename(2)); so a failed or interrupted render leaves the old
output whole, never half-new files. A manifest (MANIFEST) lists what was written with each file's
SHA-256, which is how a later render knows a directory is its own:

* a new path, or an empty directory, is written;
* a directory holding only what an earlier render wrote (every file unchanged since) is replaced whole,
  so files that render no longer produces are gone;
* any other non-empty directory (foreign files, or a file edited since it was written) is refused unless
  `force`; with `force` the new files replace theirs one by one (each atomically), files an earlier
  render listed but this one does not are removed, and files it never wrote are left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

MANIFEST = ".llm-advisor-render.json"
MANIFEST_FORMAT = 1
WRITTEN_BY = "llm-advisor render"


class OutputDirectoryError(ValueError):
    """--out names a path the files cannot (or may not) be written to."""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest_text(files: Sequence[tuple[str, str]]) -> str:
    """The manifest of a bundle: who wrote it, each file's SHA-256 (no timestamp: same plan, same bytes)."""
    body = {"format": MANIFEST_FORMAT, "written_by": WRITTEN_BY,
            "files": {name: _sha256(content) for name, content in sorted(files)}}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def read_manifest(directory: Path) -> dict[str, str] | None:
    """name -> SHA-256 of the files an earlier render wrote here, or None when no valid manifest exists."""
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if data.get("written_by") != WRITTEN_BY or not isinstance(files, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) and _plain_name(k) for k, v in files.items()):
        return None
    return files


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..", MANIFEST) and "/" not in name and "\0" not in name


def foreign_entries(directory: Path) -> list[str]:
    """Entries of an existing directory that an earlier render did not write, or changed since (sorted)."""
    listed = read_manifest(directory) or {}
    foreign = []
    for entry in sorted(os.listdir(directory)):
        if entry == MANIFEST and listed:
            continue
        path = directory / entry
        if entry not in listed or path.is_symlink() or not path.is_file():
            foreign.append(entry)
            continue
        try:
            same = hashlib.sha256(path.read_bytes()).hexdigest() == listed[entry]
        except OSError:
            same = False
        if not same:
            foreign.append(f"{entry} (changed since it was written)")
    return foreign


def _write(path: Path, content: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened for fsync
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _fill(directory: Path, files: Sequence[tuple[str, str]]) -> None:
    for name, content in files:
        _write(directory / name, content)
    _write(directory / MANIFEST, manifest_text(files))
    _fsync_dir(directory)


def _swappable(target: Path) -> bool:
    """Whether the whole directory may be renamed away: not a symlink, not the working directory or one
    of its parents (the shell would be left in a deleted directory)."""
    if target.is_symlink():
        return False
    cwd = Path.cwd().resolve()
    real = target.resolve()
    return real != cwd and real not in cwd.parents


def _replace_whole(target: Path, files: Sequence[tuple[str, str]], existed: bool) -> None:
    """Write into a sibling temp dir, then rename it over the target (old one moved aside, then removed)."""
    parent = target.parent
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.new-"))
    old: Path | None = None
    try:
        os.chmod(tmp, (target.stat().st_mode & 0o7777) if existed else _default_mode())
        _fill(tmp, files)
        if existed:
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.old-"))
            os.rename(target, old / "out")  # the old output, whole, until the new one is in place
        try:
            os.rename(tmp, target)
        except OSError:
            if old is not None:
                os.rename(old / "out", target)  # put the old output back
            raise
        _fsync_dir(parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _replace_in_place(target: Path, files: Sequence[tuple[str, str]]) -> None:
    """--force into a directory with other files: each new file written beside its name then renamed over
    it; stale files an earlier render listed are removed; the manifest goes last."""
    stale = set(read_manifest(target) or {}) - {name for name, _ in files}
    temps: list[tuple[Path, Path]] = []
    try:
        for name, content in [*files, (MANIFEST, manifest_text(files))]:
            fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{name}.", suffix=".tmp")
            os.close(fd)
            os.chmod(tmp, 0o666 & _default_mode())
            temps.append((Path(tmp), target / name))
            _write(Path(tmp), content)
        for tmp, final in temps:  # every file is whole on disk before any replaces an old one
            os.replace(tmp, final)
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
    for name in stale:
        path = target / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
    _fsync_dir(target)


def write_output_dir(out: Path | str, files: Sequence[tuple[str, str]], *, force: bool = False,
                     flag: str = "--out") -> list[Path]:
    """Write `files` (name, text) into directory `out` as the module docstring says; returns their paths
    (the manifest not included). Refusals and failures raise OutputDirectoryError naming `flag`."""
    text = str(out)
    if not text.strip():
        raise OutputDirectoryError(f"{flag} is empty; name the directory to write into, e.g. {flag} ./deploy")
    for name, _ in files:
        if not _plain_name(name):
            raise OutputDirectoryError(f"refusing to write {name!r}: not a plain file name")
    target = Path(os.path.abspath(text))
    try:
        if target.exists() and not target.is_dir():
            raise OutputDirectoryError(f"{flag} {text}: exists and is not a directory; name a new or empty "
                                       f"directory, e.g. {flag} ./deploy")
        blocker = next((d for d in target.parents if d.exists() and not d.is_dir()), None)
        if blocker is not None:
            raise OutputDirectoryError(f"{flag} {text}: {blocker} is a file, not a directory; pass a "
                                       f"writable directory, e.g. {flag} ./deploy")
        existed = target.is_dir()
        foreign = foreign_entries(target) if existed else []
        if foreign and not force:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise OutputDirectoryError(
                f"{flag} {text}: the directory holds files llm-advisor render did not write ({shown}); name "
                "a new or empty directory, or pass --force to replace the rendered files there (others are "
                "kept)")
        target.parent.mkdir(parents=True, exist_ok=True)
        if existed and (foreign or not _swappable(target)):
            _replace_in_place(target, files)
        else:
            _replace_whole(target, files, existed)
    except OSError as exc:
        raise OutputDirectoryError(
            f"{flag} {text}: cannot write there ({exc.strerror or exc}); pass a writable directory, e.g. "
            f"{flag} ./deploy") from exc
    return [Path(text) / name for name, _ in files]
