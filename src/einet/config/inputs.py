"""Files outside the experiment that a config points to, and their checksums.

A job's result depends on these as much as on its config: the Snakemake rules
declare them as inputs (so a changed file reruns the jobs that read it), and
the simulate and train stages record their sha256 in provenance. Paths are
relative to the working directory, as Snakemake runs jobs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

def external_files(spec) -> dict[str, list[Path]]:
    """The files a validated spec reads besides its config, by the config key that names them."""
    files: dict[str, list[Path]] = {}
    low_rank = getattr(spec.model, "low_rank", None) if spec.model is not None else None
    if low_rank is not None and low_rank.file is not None:
        files["model.low_rank.file"] = [Path(low_rank.file)]
    training = spec.training
    if training is not None and getattr(training, "mnist_path", None) is not None:
        from einet.datasets import MNIST_FILES

        files["training.mnist_path"] = [mnist_file(Path(training.mnist_path), stem) for stem in MNIST_FILES.values()]
    return files


def mnist_file(directory: Path, stem: str) -> Path:
    """``directory/stem``, or its gzipped form when only that exists (the plain name when neither does, so
    that the error names the file as distributed)."""
    plain = directory / stem
    zipped = directory / f"{stem}.gz"
    return zipped if not plain.exists() and zipped.exists() else plain


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance_text(spec) -> str:
    """One line per external file: ``key: path sha256`` ('' when the spec reads none)."""
    return "\n".join(f"{key}: {path} {sha256(path)}" for key, paths in external_files(spec).items()
                     for path in paths)
