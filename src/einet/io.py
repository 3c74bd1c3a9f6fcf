"""Reading and writing einet results as netCDF, the only place that does so.

Keeping all file access here means one set of rules holds for every stage of
the pipeline: each variable carries a ``long_name`` and each numeric one UDUNITS
``units``, strings are stored as character arrays, numbers are zlib-compressed,
files appear atomically under their final name, and every file states the CF
version it follows (``Conventions``), the command that wrote it (``history``) and
the provenance (configuration, versions, seed, device) needed to reproduce it.

torch is not imported at module import time so that light stages, such as
expanding configurations, stay fast.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import importlib.metadata
import os
import platform
import re
import secrets
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # numpy and xarray are imported where they are used: a YAML file or a figure needs neither
    import numpy as np
    import xarray as xr

import einet
from einet.errors import EinetError

__all__ = [
    "CONVENTIONS",
    "PROVENANCE_PREFIX",
    "Provenance",
    "make_provenance",
    "open_many",
    "read_dataset",
    "read_provenance",
    "recorded_command",
    "write_dataset",
]

#: The CF version every file follows: the newest that the CF checker (cfchecker 4.1) checks.
CONVENTIONS = "CF-1.8"

#: Prefix of every global attribute that holds provenance.
PROVENANCE_PREFIX = "einet_"

_ENGINE = "netcdf4"
_FORMAT = "NETCDF4"
_COMPLEVEL = 4
_ALLOWED_ATTR_TYPES = "str, int, float or a 1-D numpy array of numbers"
_GIT_TIMEOUT_S = 5.0


# --------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Provenance:
    """What is needed to reproduce a result file, stored as global attributes.

    Attributes
    ----------
    config : str
        The resolved configuration as YAML text; the text itself is kept (not
        a dict) so that ``config_sha256`` can be checked byte for byte.
    config_sha256 : str
        Hex SHA-256 of ``config`` encoded as UTF-8.
    einet_version, torch_version, xarray_version, python_version : str
        Versions of the software that produced the file.
    git_commit : str
        Commit of the working directory's repository, ``-dirty`` appended
        when tracked files were modified, ``"unknown"`` outside a repository.
    device : str
        Device the computation ran on, e.g. ``"cuda:0"`` or ``"cpu"``.
    seed : int
        Random seed of the computation.
    wall_time_s : float
        Wall-clock duration of the computation in seconds.
    created : str
        UTC time of creation, ISO 8601.
    hostname : str
        Machine that produced the file.
    extra : dict
        Further stage-specific entries, stored as ``einet_<key>``.
    """

    config: str
    config_sha256: str
    einet_version: str
    torch_version: str
    xarray_version: str
    python_version: str
    git_commit: str
    device: str
    seed: int
    wall_time_s: float
    created: str
    hostname: str
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_attrs(self) -> dict[str, Any]:
        """Return the provenance as netCDF-safe global attributes.

        Every name starts with ``einet_`` so provenance can be told apart
        from other global attributes (and replaced as a whole).
        """
        attrs: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            if field.name == "extra":
                continue
            attrs[_attr_name(field.name)] = getattr(self, field.name)
        for key, value in self.extra.items():
            attrs[_attr_name(key)] = value
        return attrs


_CORE_FIELDS = tuple(f.name for f in dataclasses.fields(Provenance) if f.name != "extra")
# Keys a caller may not use in ``extra``: they would shadow core fields or the
# derived ``config_dict`` of :func:`read_provenance`.
_RESERVED_KEYS = frozenset(_CORE_FIELDS) | {"extra", "config_dict", "version"}


def _attr_name(key: str) -> str:
    """Global attribute name of a provenance key (no doubled prefix)."""
    return key if key.startswith(PROVENANCE_PREFIX) else PROVENANCE_PREFIX + key


def _key_name(attr: str) -> str:
    """Inverse of :func:`_attr_name` for an ``einet_*`` attribute."""
    if attr in _CORE_FIELDS:  # einet_version keeps its full name
        return attr
    return attr[len(PROVENANCE_PREFIX):]


def make_provenance(
    config: dict,
    *,
    device: str,
    seed: int,
    wall_time_s: float,
    extra: dict | None = None,
) -> Provenance:
    """Capture the provenance of a computation.

    Parameters
    ----------
    config : dict
        The fully resolved configuration; it must be plain YAML data
        (dicts, lists, str, int, float, bool, None).
    device : str
        Device the computation ran on.
    seed : int
        Random seed used.
    wall_time_s : float
        Duration of the computation in seconds.
    extra : dict, optional
        Further entries; values must be valid netCDF attributes.

    Returns
    -------
    Provenance

    Raises
    ------
    EinetError
        If the config cannot be dumped as YAML or an argument has a wrong
        type, so that a bad record is never written.
    """
    import numpy as np
    import xarray as xr
    if not isinstance(config, Mapping):
        raise EinetError(f"provenance config must be a dict, got {type(config).__name__}")
    try:
        text = yaml.safe_dump(dict(config), sort_keys=False)
    except yaml.YAMLError as exc:
        raise EinetError(
            f"provenance config is not plain YAML data (dict, list, str, int, float, bool, None): {exc}"
        ) from exc
    if not isinstance(device, str) or not device:
        raise EinetError(f"provenance device must be a non-empty str, got {device!r}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise EinetError(f"provenance seed must be an int, got {seed!r}")
    seed = int(seed)
    if not -(2**63) <= seed < 2**63:
        raise EinetError(f"provenance seed must fit into 64 bits, got {seed}")
    if isinstance(wall_time_s, (bool, np.bool_)) or not isinstance(
        wall_time_s, (int, float, np.integer, np.floating)
    ):
        raise EinetError(f"provenance wall_time_s must be a number, got {wall_time_s!r}")

    checked_extra: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in (extra or {}).items():
        if not isinstance(key, str) or not key.isidentifier():
            problems.append(f"extra key {key!r} is not an identifier")
            continue
        if key in _RESERVED_KEYS or _key_name(_attr_name(key)) in _RESERVED_KEYS:
            problems.append(f"extra key {key!r} is reserved for einet's own provenance")
            continue
        converted, error = _convert_attr(value)
        if error:
            problems.append(f"extra[{key!r}] {error}")
        else:
            checked_extra[key] = converted
    if problems:
        raise EinetError("invalid provenance: " + "; ".join(problems))
    for key, value in _origin(config).items():
        checked_extra.setdefault(key, value)

    return Provenance(
        config=text,
        config_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        einet_version=str(einet.__version__),
        torch_version=_torch_version(),
        xarray_version=str(xr.__version__),
        python_version=platform.python_version(),
        git_commit=_git_commit(),
        device=device,
        seed=seed,
        wall_time_s=float(wall_time_s),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        hostname=socket.gethostname(),
        extra=checked_extra,
    )


_MISSING = object()


def _torch_version() -> str:
    """Version of torch, without importing it when that can be avoided.

    Importing torch takes seconds, which light stages (config expansion)
    should not pay just to record a version: the installed distribution's
    metadata gives the same string. torch is imported only as a last resort.
    """
    module = sys.modules.get("torch", _MISSING)
    if module is None:  # import deliberately blocked
        return "not installed"
    if module is not _MISSING:
        return str(module.__version__)
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        import torch
    except ImportError:
        return "not installed"
    return str(torch.__version__)


#: Where the running einet code lives: its repository's commit is the code that ran,
#: whatever directory a pipeline runs in (``snakemake --directory``).
_SOURCE_DIR = Path(einet.__file__).resolve().parent


def _git_commit() -> str:
    """Commit of the repository holding einet's source, or ``"unknown"`` (e.g. a wheel install).

    Untracked files are ignored for ``-dirty``: scanning them can be slow in a
    large results directory, and they do not change the code that ran.
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(_SOURCE_DIR), *args],
                capture_output=True,
                text=True,
                timeout=_GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return "unknown"
    status = git("status", "--porcelain", "--untracked-files=no")
    if status:
        commit += "-dirty"
    return commit


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _convert_attr(value: Any) -> tuple[Any, str | None]:
    """Return ``(netCDF-safe value, None)`` or ``(None, reason)``.

    bools become ints because netCDF has no boolean type.
    """
    import numpy as np
    if isinstance(value, (bool, np.bool_)):
        return int(value), None
    if isinstance(value, str):
        return value, None
    if isinstance(value, (int, np.integer)):
        if not -(2**63) <= int(value) < 2**64:
            return None, f"is an int out of the 64-bit range; allowed: {_ALLOWED_ATTR_TYPES}"
        return value, None
    if isinstance(value, (float, np.floating)):
        if isinstance(value, np.floating) and value.dtype == np.float16:
            return np.float32(value), None  # netCDF has no 16-bit floats
        return value, None
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            return None, f"is a {value.ndim}-D array; allowed: {_ALLOWED_ATTR_TYPES}"
        if value.dtype.kind == "b":
            return value.astype(np.int8), None
        if value.dtype == np.float16:
            return value.astype(np.float32), None
        if value.dtype.kind in "iuf":
            return value, None
        return None, f"is an array of dtype {value.dtype}; allowed: {_ALLOWED_ATTR_TYPES}"
    return None, f"has type {type(value).__name__}; allowed: {_ALLOWED_ATTR_TYPES}"


def _is_numeric(dtype: np.dtype) -> bool:
    return dtype.kind in "biuf"


def _check_attrs(owner: str, attrs: Mapping, problems: list[str]) -> dict:
    """Convert *attrs*, appending a message per bad attribute to *problems*."""
    out = {}
    for key, value in attrs.items():
        if not isinstance(key, str):
            problems.append(f"{owner}: attribute name {key!r} is not a str")
            continue
        converted, error = _convert_attr(value)
        if error:
            problems.append(f"{owner}: attribute {key!r} {error}")
        else:
            out[key] = converted
    return out


def _check_variable(name: str, var: xr.Variable, problems: list[str]) -> None:
    """Record why *var* cannot be written, if it cannot."""
    import numpy as np
    dtype = var.dtype
    text = dtype.kind in "UO"
    required = ("long_name",) if text else ("units", "long_name")
    missing = [
        key
        for key in required
        if not isinstance(var.attrs.get(key), str) or not var.attrs[key].strip()
    ]
    if missing:
        problems.append(
            f"variable {name!r}: missing or empty string attribute(s) {', '.join(missing)}"
        )
    if text and "units" in var.attrs:
        problems.append(f"variable {name!r}: strings have no units; remove its 'units' attribute")
    if dtype == np.float16:
        problems.append(f"variable {name!r}: float16 cannot be stored in netCDF; use float32")
    elif dtype.kind == "c":
        problems.append(f"variable {name!r}: complex values cannot be stored; store real and imaginary parts")
    elif dtype.kind in "Mm":
        problems.append(
            f"variable {name!r}: datetime/timedelta values are not supported; "
            "store times as floats with units such as 'ms'"
        )
    elif dtype.kind == "S":
        problems.append(f"variable {name!r}: byte strings are not supported; decode them to str")
    elif dtype.kind == "O":
        if not all(isinstance(item, str) for item in np.asarray(var.values).ravel()):
            problems.append(f"variable {name!r}: object arrays must hold only str")
    elif dtype.kind not in "biufU":
        problems.append(f"variable {name!r}: unsupported dtype {dtype}")


def _prepare(ds: xr.Dataset, provenance: Provenance | Mapping | None) -> tuple[xr.Dataset, dict]:
    """Validate *ds* and return a writable copy plus its encoding.

    All problems are collected first so that one error lists everything the
    caller has to fix.
    """
    import xarray as xr
    if not isinstance(ds, xr.Dataset):
        raise EinetError(f"write_dataset needs an xarray.Dataset, got {type(ds).__name__}")
    problems: list[str] = []
    out = ds.copy(deep=False)
    encoding: dict[str, dict] = {}
    for name, var in out.variables.items():
        _check_variable(str(name), var, problems)
        var.attrs = _check_attrs(f"variable {name!r}", var.attrs, problems)
        # Encoding carried over from a file that was read (chunk sizes, fill
        # values, source) could clash with the new data; we set our own.
        var.encoding = {}
        if _is_numeric(var.dtype) and var.ndim > 0:
            encoding[str(name)] = {"zlib": True, "complevel": _COMPLEVEL}
        elif var.dtype.kind in "UO":  # char arrays (UTF-8): CF's labels, which every CF tool reads
            encoding[str(name)] = {"dtype": "S1"}
        else:
            encoding[str(name)] = {}

    attrs = _check_attrs("dataset", ds.attrs, problems)
    if provenance is not None:
        # New provenance replaces the old one as a whole; a mix would be false.
        attrs = {k: v for k, v in attrs.items() if not k.startswith(PROVENANCE_PREFIX)}
        attrs.update(_check_attrs("provenance", _provenance_attrs(provenance), problems))
    attrs["Conventions"] = CONVENTIONS
    attrs["history"] = _history_line()  # each file is made whole by one command; a copied history is not its own
    out.attrs = attrs
    out.encoding = {}

    if problems:
        raise EinetError("cannot write dataset:\n  " + "\n  ".join(problems))
    return out, encoding


_command: list[str] | None = None


@contextmanager
def recorded_command(words: list[str]) -> Iterator[None]:
    """Name ``words`` as the command line that writes the files written inside the block.

    :func:`einet.cli.main` wraps each command in it; elsewhere the process's own ``sys.argv`` stands in.
    """
    global _command
    previous, _command = _command, list(words)
    try:
        yield
    finally:
        _command = previous


def _origin(config: Mapping) -> dict[str, str]:
    """What traces a file to one command: the experiment file, its sha256 and scale (from the job section the
    expansion writes; a summary's from its jobs' example) and the command line that wrote the file."""
    job = config.get("job") or (config.get("job_config_example") or {}).get("job") or {}
    origin = {key: str(job[key]) for key in ("experiment_file", "experiment_sha256", "scale") if key in job}
    origin["command"] = shlex.join(_command_words())
    return origin


def _command_words() -> list[str]:
    return _command if _command is not None else [Path(sys.argv[0]).name or "python", *sys.argv[1:]]


def _history_line() -> str:
    """CF ``history`` of a file written now: ``<UTC time>: <command>``."""
    return f"{datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}: {shlex.join(_command_words())}"


def _provenance_attrs(provenance: Provenance | Mapping) -> dict[str, Any]:
    """Global attributes of a Provenance or of a dict such as read_provenance returns."""
    if isinstance(provenance, Provenance):
        return provenance.as_attrs()
    if not isinstance(provenance, Mapping):
        raise EinetError(
            f"provenance must be a Provenance, a dict or None, got {type(provenance).__name__}"
        )
    attrs: dict[str, Any] = {}
    for key, value in provenance.items():
        if key == "config_dict":  # derived from 'config' by read_provenance
            continue
        if key == "extra" and isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                attrs[_attr_name(str(sub_key))] = sub_value
            continue
        attrs[_attr_name(str(key))] = value
    return attrs


# --------------------------------------------------------------------------
# Writing and reading
# --------------------------------------------------------------------------


def write_dataset(
    ds: xr.Dataset,
    path: str | os.PathLike,
    *,
    provenance: Provenance | dict | None = None,
) -> Path:
    """Write *ds* to a compressed netCDF-4 file, atomically.

    The dataset is checked completely before any file is touched. The data go
    to a hidden temporary file next to *path* that is renamed over *path* only
    when complete, so readers and build tools never see half a file.

    Parameters
    ----------
    ds : xarray.Dataset
        Every data variable and coordinate needs a non-empty string attribute
        ``long_name``; numeric ones also ``units`` (UDUNITS, ``"1"`` when
        dimensionless), string ones none. Attributes must be str, int, float or
        1-D numeric arrays; bools are stored as ints. Not modified. The file
        gets ``Conventions`` (:data:`CONVENTIONS`) and ``history`` (the time
        and the command writing it), replacing any the dataset has.
    path : str or os.PathLike
        Target file; missing parent directories are created.
    provenance : Provenance or dict, optional
        Stored as ``einet_*`` global attributes, replacing any already on
        *ds*. With None, existing ``einet_*`` attributes are written as they
        are, for stages that pass on the provenance of their input.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    EinetError
        Naming every variable or attribute that cannot be written.
    """
    path = Path(path)
    prepared, encoding = _prepare(ds, provenance)

    return atomic_write(
        path, lambda tmp: prepared.to_netcdf(tmp, mode="w", format=_FORMAT, engine=_ENGINE, encoding=encoding)
    )


_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def _remove_orphaned_temporaries(path: Path) -> None:
    """Remove temporary files of ``path`` left by writers that were killed (SIGKILL, a node lost): their
    process, on this host, no longer exists. A live writer's file, or one of another host, is kept."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.tmp-{_HOST}-(\d+)-[0-9a-f]+")
    for stale in path.parent.glob(f".{glob.escape(path.name)}.tmp-{_HOST}-*"):
        match = pattern.match(stale.name)
        if match and not _process_alive(int(match.group(1))):
            stale.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp)`` on a temporary name beside ``path``, flush it to disk, then rename it to ``path``.

    The one way einet writes a file (netCDF, YAML, model files, figures): a crash
    or a kill leaves either the old file or none, never a half-written one under
    the final name, and the temporary file is removed on failure. The temporary
    name keeps ``path``'s suffix (some writers pick the format from it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphaned_temporaries(path)
    tmp = path.parent / f".{path.name}.tmp-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}{path.suffix}"
    try:
        write(tmp)
        # Flush to disk before the rename so that a power cut cannot leave the
        # final name pointing at an empty file.
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Read a netCDF file fully into memory and close it.

    Loading everything and closing the file lets a later stage replace the
    file (also on file systems that refuse to replace open files) and avoids
    leaking handles when many files are read.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    xarray.Dataset
        With string variables as numpy ``str`` arrays.

    Raises
    ------
    EinetError
        If the file does not exist or is not readable netCDF.
    """
    import xarray as xr
    path = Path(path)
    if not path.is_file():
        raise EinetError(f"netCDF file not found: {path}")
    try:
        with xr.open_dataset(path, engine=_ENGINE) as opened:
            ds = opened.load()
    except (OSError, ValueError, RuntimeError) as exc:
        raise EinetError(f"cannot read {path} as netCDF: {exc}") from exc
    return _decode_strings(ds)


def _decode_strings(ds: xr.Dataset) -> xr.Dataset:
    """Turn object arrays of str (older xarray's vlen strings) into str arrays."""
    import numpy as np
    coords, data = {}, {}
    for name, var in ds.variables.items():
        if var.dtype.kind == "O":
            values = np.asarray(var.values)
            if all(isinstance(item, str) for item in values.ravel()):
                new = var.copy(data=values.astype(str))
                (coords if name in ds.coords else data)[name] = new
    if coords:
        ds = ds.assign_coords(coords)
    if data:
        ds = ds.assign(data)
    return ds


def read_provenance(path_or_ds: str | os.PathLike | xr.Dataset) -> dict[str, Any]:
    """Return the provenance stored in a file or dataset.

    Keys are the :class:`Provenance` field names (extra entries without their
    ``einet_`` prefix). ``config`` keeps the YAML text exactly, so its hash
    can be checked; ``config_dict`` holds it parsed. Missing provenance gives
    an empty dict.

    Parameters
    ----------
    path_or_ds : str, os.PathLike or xarray.Dataset

    Returns
    -------
    dict
    """
    import numpy as np
    import xarray as xr
    if isinstance(path_or_ds, xr.Dataset):
        attrs = dict(path_or_ds.attrs)
    else:
        path = Path(path_or_ds)
        if not path.is_file():
            raise EinetError(f"netCDF file not found: {path}")
        try:
            # Only the header is read; the data stay on disk.
            with xr.open_dataset(path, engine=_ENGINE) as opened:
                attrs = dict(opened.attrs)
        except (OSError, ValueError, RuntimeError) as exc:
            raise EinetError(f"cannot read {path} as netCDF: {exc}") from exc

    result: dict[str, Any] = {}
    for attr, value in attrs.items():
        if not attr.startswith(PROVENANCE_PREFIX):
            continue
        if isinstance(value, np.generic):
            value = value.item()
        result[_key_name(attr)] = value
    if isinstance(result.get("config"), str):
        try:
            result["config_dict"] = yaml.safe_load(result["config"])
        except yaml.YAMLError as exc:
            raise EinetError(f"provenance config is not valid YAML: {exc}") from exc
    return result


def open_many(paths: Iterable[str | os.PathLike]) -> list[xr.Dataset]:
    """Read several files with :func:`read_dataset`, in the given order.

    Each is loaded and closed, so collecting many results never exhausts
    file handles.
    """
    return [read_dataset(path) for path in paths]
