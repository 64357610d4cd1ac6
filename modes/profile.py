"""``python -m modes.profile package.module:function --shape 1000``: which mode for your function.

Imports the function (``package.module:function``, ``package.module:Class.method`` or
``path/to/file.py:function``), draws random inputs of the given shapes (one ``--shape`` per
argument: ``1000``, ``10,20``, ``()`` for a scalar), runs ``modes.recommend`` on them and prints
its table and the line ``recommendation: forward`` or ``recommendation: reverse`` with the
reason, in a few seconds. A bad spec, a bad shape or a function that fails on the inputs is one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

PROG = "python -m modes.profile"
MAX_ENTRIES = 10**8  # per input: 800 MB of float64


class SpecError(Exception):
    """The function spec cannot be resolved to a callable; the message says why."""


class _Parser(argparse.ArgumentParser):
    """argparse with every error on one line (usage is in --help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 2 (as argparse does for a bad option)."""
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(2)


# ---- the function: module:function or file.py:function ---------------------------------------------
def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _looks_like_file(where: str) -> bool:
    return where.endswith(".py") or "/" in where or os.sep in where


def _import_file(where: str) -> Any:
    path = Path(where).expanduser()
    if not path.is_file():
        raise SpecError(f"no file {where!r}" + ("" if where.endswith(".py") else
                                                 " (a module is written package.module, a file path/to/file.py)"))
    name = "_modes_profile_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"cannot import {where!r} as a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the file can import its neighbours
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # noqa: BLE001 -- SystemExit from a script is a failure to import too
        sys.modules.pop(name, None)
        raise SpecError(f"importing {where!r} raised {_one_line(e)}") from e
    return module


def _import_module(where: str) -> Any:
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as e:
        if e.name is not None and (where == e.name or where.startswith(e.name + ".")):
            raise SpecError(f"cannot import module {where!r}: no module named {e.name!r} (run from the "
                            "folder that holds it, or give path/to/file.py:function)") from e
        raise SpecError(f"importing module {where!r} raised {_one_line(e)}") from e
    except BaseException as e:  # noqa: BLE001
        raise SpecError(f"importing module {where!r} raised {_one_line(e)}") from e


def load(spec: str) -> Callable[..., Any]:
    """The callable named by ``module:attr``, ``module:Class.attr`` or ``path/to/file.py:attr``."""
    where, colon, attr = spec.rpartition(":")
    if not colon or not where or not attr:
        raise SpecError(f"expected package.module:function or path/to/file.py:function, got {spec!r}")
    module = _import_file(where) if _looks_like_file(where) else _import_module(where)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                           and getattr(v, "__module__", None) == module.__name__)
            have = f"; it defines {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}" if names else ""
            raise SpecError(f"{where!r} has no attribute {attr!r}{have}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SpecError(f"{spec!r} is a {type(obj).__name__}, not a function")
    return obj


# ---- the inputs -------------------------------------------------------------------------------------
def parse_shape(text: str) -> tuple[int, ...]:
    """``"1000"`` -> (1000,); ``"10,20"`` or ``"10x20"`` -> (10, 20); ``"()"`` or ``"scalar"`` -> ()."""
    t = text.strip().strip("()[]").replace("x", ",").replace(" ", "")
    if t in ("", "scalar"):
        return ()
    if t.endswith(","):  # "1000," as Python writes a 1-tuple
        t = t[:-1]
    dims = []
    for part in t.split(","):
        try:
            d = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad shape {text!r}: expected positive integers separated by commas, like 1000 or "
                "10,20 (or () for a scalar)") from None
        if d < 1:
            raise argparse.ArgumentTypeError(f"bad shape {text!r}: every dimension must be at least 1")
        dims.append(d)
    if math.prod(dims) > MAX_ENTRIES:
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: {math.prod(dims):,} entries is more than "
                                         f"{MAX_ENTRIES:,}")
    return tuple(dims)


def parse_argnum(text: str) -> int | tuple[int, ...]:
    try:
        nums = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --argnum {text!r}: expected an integer or integers "
                                         "separated by commas, like 0 or 0,1") from None
    return nums[0] if len(nums) == 1 else nums


def make_inputs(shapes: Sequence[tuple[int, ...]], dtype: str, seed: int, low: float,
                high: float) -> list[Any]:
    """Uniform random inputs in ``[low, high)``: arrays of ``dtype``, a float for shape ()."""
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        x = rng.uniform(low, high, shape).astype(dtype)
        out.append(float(x) if shape == () and dtype == "float64" else x)
    return out


def _check_arity(f: Callable[..., Any], n: int) -> str | None:
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    try:
        sig.bind(*range(n))
    except TypeError:
        required = [p.name for p in sig.parameters.values()
                    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
        names = ", ".join(p.name for p in sig.parameters.values())
        return (f"{getattr(f, '__name__', 'f')}({names}) takes {len(required)} required argument(s) but "
                f"{n} --shape option(s) were given: give one --shape per argument, in order")
    return None


def _threads(text: str) -> int | None:
    if text == "default":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"bad --blas-threads {text!r}: a positive integer or 'default'")
    return n


# ---- the command ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Measure a function and its forward and reverse derivatives "
                "on random inputs, and recommend a mode (modes.recommend).")
    p.add_argument("function", help="package.module:function, package.module:Class.method or "
                   "path/to/file.py:function")
    p.add_argument("--shape", action="append", type=parse_shape, default=None, metavar="SHAPE",
                   help="the shape of one argument (1000, 10,20, or () for a scalar); repeat it for "
                   "each argument, in order")
    p.add_argument("--argnum", type=parse_argnum, default=0,
                   help="the argument(s) to differentiate: 0 (default) or several, like 0,1")
    p.add_argument("--out-index", type=int, default=None, metavar="I",
                   help="differentiate output I of a function returning a tuple")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="dtype of the inputs (default float64)")
    p.add_argument("--low", type=float, default=-1.0, help="inputs are uniform in [low, high) (default -1)")
    p.add_argument("--high", type=float, default=1.0, help="(default 1)")
    p.add_argument("--budget", type=float, default=2.0,
                   help="seconds for the timing repeats, shared by all methods (default 2)")
    p.add_argument("--blas-threads", type=_threads, default=1, metavar="N",
                   help="BLAS threads while measuring (default 1; 'default' keeps the library's setting)")
    p.add_argument("--max-seconds", type=float, default=10.0,
                   help="leave out a method whose one run takes (or is estimated to take) longer "
                   "(default 10)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    for name in ("budget", "max_seconds"):
        v = getattr(a, name)
        if not (v > 0 and math.isfinite(v)):
            parser.error(f"--{name.replace('_', '-')} must be a positive number of seconds, got {v}")
    if not (math.isfinite(a.low) and math.isfinite(a.high) and a.low < a.high):
        parser.error(f"--low {a.low} and --high {a.high}: need finite numbers with low < high")
    try:
        f = load(a.function)
    except SpecError as e:
        fail(str(e))
    if not a.shape:
        parser.error("give the shape of each argument of the function, e.g. --shape 1000 "
                     "(repeat --shape for several arguments)")
    problem = _check_arity(f, len(a.shape))
    if problem:
        parser.error(problem)
    nums = a.argnum if isinstance(a.argnum, tuple) else (a.argnum,)
    for i in nums:
        if not -len(a.shape) <= i < len(a.shape):
            parser.error(f"--argnum {i} names no argument: {len(a.shape)} --shape option(s) were given")

    from .recommend import RecommendError, recommend

    inputs = make_inputs(a.shape, a.dtype, a.seed, a.low, a.high)
    shapes = ", ".join(str(s) for s in a.shape)
    print(f"{a.function}: random {a.dtype} inputs of shape {shapes}, uniform in [{a.low:g}, {a.high:g}), "
          f"seed {a.seed}", flush=True)
    try:
        rec = recommend(f, *inputs, argnum=a.argnum, out_index=a.out_index, budget=a.budget,
                        max_seconds=a.max_seconds, blas_threads=a.blas_threads)
    except RecommendError as e:
        fail(f"{e} (inputs of shape {shapes}: change them with --shape, --dtype, --low, --high)")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    print(rec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
