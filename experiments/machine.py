"""What the measurements ran on: CPU, cores, memory, Python, numpy and its BLAS, threads, code.

``describe()`` returns a flat ``dict[str, str]``; ``fingerprint(info)`` is a short stable id of the
parts that change timings (``FINGERPRINT_KEYS``: CPU model and cores, Python and numpy, the BLAS
library and its version, the BLAS/OpenMP environment variables, the thread setting and the number of
BLAS threads actually in use). The host name and the git commit are recorded but not part of the
fingerprint: rerunning on an identical machine resumes.

Threads. ``pin_blas_threads(setting)`` pins BLAS and OpenMP to ``setting`` threads (default: one)
through the environment (``THREAD_ENV``), which works when it runs before numpy is imported
(``run_all.py`` and the GradBench tool call it first thing) and is inherited by every child
process; if numpy is loaded already, the thread count of the loaded BLAS is set as well
(threadpoolctl if installed, else the library's own ``*_set_num_threads``). ``"default"`` leaves
the environment and the library as they are. ``blas_runtime()`` reads back what is in use.

Code. ``code_version(module)`` is a content hash of the ``modes`` package source and of the
experiment module with every module of ``experiments`` it imports (transitively): a row is reused
only by the code that measured it.
"""

from __future__ import annotations

import ast
import ctypes
import hashlib
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# ---- threads --------------------------------------------------------------------------------------
# What a thread setting sets: every pool numpy's BLAS (OpenBLAS, MKL, BLIS, Accelerate) or an
# OpenMP runtime reads at load time.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
SETTING_ENV = "MODES_BLAS_THREADS"  # the setting itself, for child processes and the rows
DEFAULT_BLAS_THREADS = "1"
THREADS_OPTION = "--blas-threads"


def check_blas_threads(text: str) -> str:
    """``text`` as a thread setting (a whole number >= 1, or ``default``), else ``ValueError``."""
    value = str(text).strip().lower()
    if value == "default":
        return value
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"must be a whole number of threads, at least 1, or 'default' (the BLAS "
                         f"library's own setting), got {text!r}")
    return str(n)


def blas_threads_from_argv(argv: Iterable[str]) -> str:
    """The ``--blas-threads`` value in ``argv`` (``--blas-threads N`` or ``--blas-threads=N``), as
    given (checked later by the parser), else the default; read before numpy is imported."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == THREADS_OPTION and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(THREADS_OPTION + "="):
            return arg.split("=", 1)[1]
    return DEFAULT_BLAS_THREADS


def pin_blas_threads(setting: str = DEFAULT_BLAS_THREADS) -> str:
    """Pin BLAS/OpenMP threads to ``setting`` (see the module docstring); returns the setting.

    An invalid setting is left for the caller's parser to reject: nothing is changed then.
    """
    try:
        setting = check_blas_threads(setting)
    except ValueError:
        return str(setting)
    os.environ[SETTING_ENV] = setting
    if setting == "default":
        return setting
    for var in THREAD_ENV:
        os.environ[var] = setting
    if "numpy" in sys.modules:  # too late for the environment: set the loaded library's pool
        _set_loaded_threads(int(setting))
    return setting


def blas_threads_setting() -> str:
    """The setting this process runs under (``SETTING_ENV``; ``unpinned`` if nothing pinned it)."""
    return os.environ.get(SETTING_ENV, "unpinned")


def _threadpoolctl():  # noqa: ANN202
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


# Symbols of the BLAS libraries numpy ships or links: (get, set) thread-count functions.
_OPENBLAS_PREFIXES = ("openblas", "scipy_openblas")
_OPENBLAS_SUFFIXES = ("", "64_")


def _loaded_blas_libraries() -> list[str]:
    """Paths of the BLAS shared libraries mapped into this process (Linux: /proc/self/maps)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = sorted(set(re.findall(r"(/\S+\.(?:so|dylib)[.\d]*)", maps)))
    return [p for p in paths if re.search(r"openblas|mkl_rt|libblis", Path(p).name, re.I)]


def _thread_functions(path: str) -> tuple[ctypes._CFuncPtr | None, ctypes._CFuncPtr | None]:
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None, None
    if "mkl" in Path(path).name.lower():
        return getattr(lib, "MKL_Get_Max_Threads", None), getattr(lib, "MKL_Set_Num_Threads", None)
    if "blis" in Path(path).name.lower():
        return (getattr(lib, "bli_thread_get_num_threads", None),
                getattr(lib, "bli_thread_set_num_threads", None))
    for prefix in _OPENBLAS_PREFIXES:
        for suffix in _OPENBLAS_SUFFIXES:
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            if get is not None:
                return get, getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
    return None, None


def _set_loaded_threads(n: int) -> None:
    tpc = _threadpoolctl()
    if tpc is not None:
        tpc.threadpool_limits(n)
        return
    for path in _loaded_blas_libraries():
        _, setter = _thread_functions(path)
        if setter is not None:
            setter(ctypes.c_int(n))


def blas_runtime() -> dict[str, str]:
    """The BLAS numpy uses and the threads it runs now: ``blas`` (name and version, from numpy's
    build configuration), ``blas_library`` (the loaded file) and ``blas_threads_used`` (read from
    the library; ``unknown`` if it cannot be asked)."""
    import numpy as np  # noqa: F401 - loads the BLAS

    info = {"blas": _blas(), "blas_library": "unknown", "blas_threads_used": "unknown"}
    tpc = _threadpoolctl()
    if tpc is not None:
        pools = [p for p in tpc.threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            info["blas_library"] = Path(pools[0].get("filepath", "")).name or "unknown"
            info["blas_threads_used"] = str(pools[0].get("num_threads", "unknown"))
            return info
    for path in _loaded_blas_libraries():
        get, _ = _thread_functions(path)
        info["blas_library"] = Path(path).name
        if get is not None:
            get.restype = ctypes.c_int
            info["blas_threads_used"] = str(get())
            break
    return info


# ---- code -----------------------------------------------------------------------------------------
EXPERIMENTS_PACKAGE = "experiments"
# Modules that describe, store, show or report rows but never change a measured number: left out of
# the hash, so editing the report does not remeasure anything.
BOOKKEEPING = ("experiments.analysis", "experiments.plots", "experiments.report", "experiments.machine",
               "experiments.progress", "experiments.store", "experiments.lifeline")


def _bookkeeping(module: str) -> bool:
    return module in BOOKKEEPING or module.endswith("_report")


def _digest(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(set(paths)):
        h.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def modes_source_hash() -> str:
    """A hash of every ``.py`` file of the ``modes`` package (paths and contents)."""
    return _digest((REPO_ROOT / "modes").rglob("*.py"))


def _module_path(name: str) -> Path | None:
    parts = name.split(".")
    base = REPO_ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """Modules of the ``experiments`` package that the file at ``path`` (module ``module``) imports."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            # ``from . import x`` names x only, not the package (whose __init__ imports every sibling)
            names = ([root] if node.module else []) + [f"{root}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] == EXPERIMENTS_PACKAGE and not _bookkeeping(n)
                     and _module_path(n))
    return found


def experiment_files(module: str) -> list[Path]:
    """The file of ``module`` and of every ``experiments`` module it imports, transitively; a
    subpackage (``experiments/peers``, ``experiments/adbench``) counts whole, since it may load
    its modules by name (the peers' adapters)."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = _module_path(name)
        if name in seen or path is None:
            continue
        seen[name] = path
        todo.extend(_imports(path, name) - set(seen))
        parts = name.split(".")
        if len(parts) > 2 and parts[1] != "suite":  # a module of a subpackage: all its siblings
            package = REPO_ROOT.joinpath(*parts[:-1])
            todo.extend(".".join(parts[:-1] + [p.stem]) for p in package.glob("*.py")
                        if not _bookkeeping(".".join(parts[:-1] + [p.stem])))
    return sorted(set(seen.values()))


def code_version(module: str) -> str:
    """``<modes hash>-<experiment hash>``, 10 hex digits each: what a row's ``code_version`` holds.

    The first part changes with any source file of ``modes``, the second with the experiment module
    ``module`` (e.g. ``experiments.suite.memory``) or any module of ``experiments`` it imports
    (except ``BOOKKEEPING`` and the ``*_report`` modules).
    """
    return f"{modes_source_hash()[:10]}-{_digest(experiment_files(module))[:10]}"


# ---- the machine ----------------------------------------------------------------------------------
# Environment variables that change how numpy/BLAS or the allocator behave; recorded as env_<NAME>.
RECORDED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "MALLOC_MMAP_THRESHOLD_",
                "MALLOC_ARENA_MAX")

FINGERPRINT_KEYS = ("cpu_model", "cpu_logical", "memory_total_gib", "python", "numpy", "blas",
                    "env_OPENBLAS_CORETYPE", "env_OMP_NUM_THREADS", "env_OPENBLAS_NUM_THREADS",
                    "env_MKL_NUM_THREADS", "blas_threads", "blas_threads_used")


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
        **blas_runtime(),
        "blas_threads": blas_threads_setting(),
        "modes": getattr(modes, "__version__", "unknown"),
        "pandas": _version("pandas"),
        "matplotlib": _version("matplotlib"),
        "psutil": _version("psutil"),
        "threadpoolctl": _version("threadpoolctl"),
        "hostname": platform.node(),
        "git_commit": _git_commit(),
        "modes_source": modes_source_hash()[:10],
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
