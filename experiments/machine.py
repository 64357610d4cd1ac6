"""What the measurements ran on: CPU, cores, memory, Python, numpy and its BLAS, library versions.

``describe()`` returns a flat ``dict[str, str]``; ``fingerprint(info)`` is a short stable id of the
parts that change timings (hardware, Python, numpy/BLAS, modes version). The host name and the code
commit are recorded but not part of the fingerprint: rerunning on an identical machine resumes.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Environment variables that change how numpy/BLAS or the allocator behave; recorded when set.
RECORDED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX")

FINGERPRINT_KEYS = ("cpu_model", "cpu_logical", "memory_total_gib", "python", "numpy", "blas",
                    "modes")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _blas() -> str:
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.26
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '?')}".strip()
    except Exception:  # noqa: BLE001 - older numpy: no dict form
        return "unknown"


def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "modes"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def describe() -> dict[str, str]:
    """The machine and software the harness runs on, as strings (one row of ``machine.csv``)."""
    import numpy as np
    import psutil

    import modes

    info = {
        "cpu_model": _cpu_model(),
        "cpu_logical": str(psutil.cpu_count(logical=True)),
        "cpu_physical": str(psutil.cpu_count(logical=False)),
        "memory_total_gib": f"{psutil.virtual_memory().total / 2**30:.1f}",
        "os": f"{platform.system()} {platform.release()}",
        "machine_arch": platform.machine(),
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "numpy": np.__version__,
        "blas": _blas(),
        "modes": getattr(modes, "__version__", "unknown"),
        "pandas": _version("pandas"),
        "matplotlib": _version("matplotlib"),
        "psutil": _version("psutil"),
        "hostname": platform.node(),
        "code_version": _git_commit(),
        "executable": sys.executable,
    }
    for var in RECORDED_ENV:
        info[f"env_{var}"] = os.environ.get(var, "")
    info["machine_id"] = fingerprint(info)
    return info


def fingerprint(info: dict[str, str]) -> str:
    """A 12-hex-digit id of the timing-relevant parts of ``info`` (see ``FINGERPRINT_KEYS``)."""
    text = "|".join(f"{k}={info.get(k, '')}" for k in FINGERPRINT_KEYS)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def record(out_dir: Path, info: dict[str, str]) -> Path:
    """Write ``info`` as the last row of ``<out_dir>/machine.csv`` (one row per machine id, latest last)."""
    import pandas as pd

    path = Path(out_dir) / "machine.csv"
    new = pd.DataFrame([info])
    if path.exists() and path.stat().st_size:
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        old = old[old["machine_id"] != info["machine_id"]]
        new = pd.concat([old, new], ignore_index=True)
    tmp = path.with_name(path.name + ".tmp")  # replaced whole: a run killed meanwhile loses no row
    with open(tmp, "w", newline="") as fh:
        new.to_csv(fh, index=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path
