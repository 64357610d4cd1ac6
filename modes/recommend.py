"""``recommend(f, *args)``: which mode for MY function, decided by measuring it.

Times ``f`` itself and its derivative in both modes on the given arguments (the gradient for a
scalar ``f``; the Jacobian, chunked forward and batched reverse, for a vector ``f``), measures the
peak memory of each and the bytes the reverse tape holds, and recommends the faster mode. One row
per measured method goes into a tidy table (a pandas DataFrame).

How it measures:

* **memory**: each method runs once in a forked child (Linux), with the free memory of malloc's
  heaps given back first (``malloc_trim``) and glibc's mmap threshold pinned at 64 KiB, so every
  array above it gets fresh pages, and the kernel's peak RSS (VmHWM, reset just before the call)
  minus the RSS before it is the method's ``peak_bytes``; ``tape_bytes`` is the
  peak residual bytes of all tapes (``modes.memory.track``). The child also catches a method that
  fails or runs past ``max_seconds``, without the caller paying for it. With ``isolate=False``
  (and where there is no fork) the run is in this process, after the same ``malloc_trim``: the
  same peak reading where the kernel offers it, else RSS after minus before (psutil, a lower
  bound).
* **time**: the minimum over repeats, the repeats of all methods interleaved round by round so
  load on the machine hits every method alike; each sample calls a fast method enough times to
  last about a millisecond, and the repeat counts share a total ``budget`` of seconds.

A method that fails (an unsupported function, a branch on ``isinstance(x, np.ndarray)``, ...)
becomes a row with its error, and the recommendation is the other mode's; if every derivative
fails, ``RecommendError`` names f and each error.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import re
import select
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import cost_model, memory
from . import api
from .api import grad, jacobian, vjp
from .errors import ModesError
from .pytree import flatten

DEFAULT_BUDGET_S = 2.0      # seconds shared by the timing repeats of all methods
DEFAULT_MAX_SECONDS = 10.0  # a method whose first run would take longer is left out
MIN_SAMPLE_S = 1e-3         # a timing sample lasts at least this long (fast calls are looped)
MAX_REPEATS = 25
MAX_NUMBER = 10_000
TIE = 1.10                  # timings within 10% of each other: the one using less memory wins
WARM_RERUN_S = 0.25         # a child's run faster than this is repeated, and the repeat measured
MMAP_THRESHOLD = 65536      # bytes; arrays above it are mmap'd in the measuring child
_M_MMAP_THRESHOLD = -3      # glibc mallopt parameter


class RecommendError(ModesError, RuntimeError):
    """f failed on its inputs, or every derivative of it failed or could not be measured."""


# ---- the methods measured ---------------------------------------------------------------------------
@dataclass
class Method:
    """One way of computing f or its derivative: ``call()`` runs it once."""

    name: str                  # the call a user would write, e.g. 'grad(f, mode="reverse")'
    mode: str                  # "-" for f itself, "forward" or "reverse"
    chunk: int | None          # directions per forward pass / cotangent rows per reverse sweep
    passes: int                # forward passes, or reverse sweeps (after one nominal pass)
    call: Callable[[], Any]


def _name(f: Callable[..., Any]) -> str:
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None)
    return name if isinstance(name, str) else repr(f)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _sizes(tree: Any) -> list[int]:
    return [int(np.size(leaf)) for leaf in flatten(tree)[0]]


def _widest_kept(f: Callable[..., Any], args: tuple, nums: tuple[int, ...]) -> int:
    """The most entries of one value the reverse tape of f keeps: ``jacobian(mode="reverse")``
    caps its default batch by it (0 if f cannot be recorded; its row will show why)."""
    widest = getattr(api, "_widest_value", None)
    if widest is None:
        return 0

    def of_differentiated(*diff: Any) -> Any:
        full = list(args)
        for i, d in zip(nums, diff):
            full[i] = d
        return f(*full)

    try:
        _, pullback = vjp(of_differentiated, *(args[i] for i in nums))
        return int(widest(pullback.tape))
    except Exception:  # noqa: BLE001
        return 0


def _methods(f: Callable[..., Any], args: tuple, argnum: int | tuple[int, ...], scalar: bool,
             n_in: int, n_out: int, biggest_in: int,
             chunk_sizes: Sequence[int] | None) -> list[Method]:
    """f, then the forward rows, then the reverse rows (default chunk first, then narrower ones).

    The default rows are the calls a user writes (no ``chunk_size``); their chunk column is the
    one ``modes`` picks for them (``cost_model.default_chunk``, as ``api`` calls it)."""
    an = "" if argnum == 0 else f"argnum={argnum!r}, "
    rows = [Method("f", "-", None, 1, lambda: f(*args))]
    k_fwd = cost_model.default_chunk(n_in, biggest_in)
    if scalar or n_out <= 1:
        k_rev = 1
    else:
        nums = argnum if isinstance(argnum, tuple) else (argnum,)
        k_rev = cost_model.default_chunk(n_out, max(n_in, n_out, _widest_kept(f, args, nums)))

    def extra(k_default: int, n_dir: int) -> list[int]:
        if chunk_sizes is not None:
            return sorted({min(int(k), max(n_dir, 1)) for k in chunk_sizes} - {k_default}, reverse=True)
        # When the default carries every direction at once, one narrower chunk (8 passes) shows
        # the memory a chunk costs; a default already capped by CHUNK_ELEMENTS is left alone.
        narrow = max(1, math.ceil(k_default / 8))
        return [narrow] if k_default == n_dir and narrow < k_default else []

    def fwd(k: int | None) -> Callable[[], Any]:
        if scalar and k is None:
            g = grad(f, argnum, mode="forward")
        else:
            g = jacobian(f, argnum, mode="forward", chunk_size=k)
        return lambda: g(*args)

    def rev(k: int | None) -> Callable[[], Any]:
        g = grad(f, argnum, mode="reverse") if scalar else jacobian(f, argnum, mode="reverse", chunk_size=k)
        return lambda: g(*args)

    what = "grad" if scalar else "jacobian"
    rows.append(Method(f'{what}(f, {an}mode="forward")', "forward", k_fwd,
                       cost_model.passes(n_in, k_fwd), fwd(None)))
    for k in extra(k_fwd, n_in):
        rows.append(Method(f'jacobian(f, {an}mode="forward", chunk_size={k})', "forward", k,
                           cost_model.passes(n_in, k), fwd(k)))
    rows.append(Method(f'{what}(f, {an}mode="reverse")', "reverse", k_rev,
                       cost_model.passes(n_out, k_rev), rev(None)))
    if not scalar:
        for k in extra(k_rev, n_out):
            rows.append(Method(f'jacobian(f, {an}mode="reverse", chunk_size={k})', "reverse", k,
                               cost_model.passes(n_out, k), rev(k)))
    return rows


# ---- one run, with its peak memory ------------------------------------------------------------------
def _rss() -> int | None:
    """This process's resident set size: /proc/self/statm on Linux (cheap), psutil elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.Process().memory_info().rss)


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux >= 4.0: VmHWM := current RSS
        return True
    except OSError:
        return False


def _hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _run_measured(call: Callable[[], Any]) -> dict[str, Any]:
    """Run ``call`` once here: seconds, peak RSS above the baseline, peak tape bytes, or its error.

    ``memory`` says how the peak was read: "peak" (the kernel's high-water mark, reset just before)
    or "after" (RSS after minus before, where the mark cannot be reset)."""
    _trim_heap()
    base = _rss()
    hwm_ok = _reset_hwm()
    try:
        with memory.track() as meter:
            start = time.perf_counter()
            result = call()
            seconds = time.perf_counter() - start
    except Exception as e:  # noqa: BLE001 -- any failure of the user's f becomes its row's error
        return {"status": "error", "error": _one_line(e)}
    peak = _hwm() if hwm_ok else _rss()
    del result
    return {"status": "ok", "seconds": seconds, "tape_bytes": int(meter.peak_bytes),
            "peak_bytes": None if peak is None or base is None else max(0, peak - base),
            "memory": "peak" if hwm_ok else "after"}


def _measure(call: Callable[[], Any]) -> dict[str, Any]:
    """``_run_measured``, twice for a fast call: the first run faults in code and library pages
    (about 2 MB in a forked child, which has not mapped them yet), the second measures the method."""
    res = _run_measured(call)
    if res["status"] == "ok" and res["seconds"] < WARM_RERUN_S:
        res = _run_measured(call)
    return res


def _trim_heap() -> None:
    """Give the free memory inside malloc's heaps back to the system (glibc ``malloc_trim``): a
    large request is served from free heap space before any mmap, so memory a long-running process
    freed earlier would otherwise be reused without the RSS moving, and a peak would read 0."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _pin_allocator() -> None:
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass


def _run_in_child(call: Callable[[], Any], limit: float) -> dict[str, Any]:
    """``_measure`` in a forked child, killed after ``limit`` seconds."""
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork of a process with BLAS threads
        pid = os.fork()
    if pid == 0:  # the child: never returns
        payload = b""
        try:
            os.close(r)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(int(limit) + 5)  # outlives no parent for long
            _pin_allocator()
            payload = json.dumps(_measure(call)).encode()
        except BaseException as e:  # noqa: BLE001
            try:
                payload = json.dumps({"status": "error", "error": _one_line(e)}).encode()
            except BaseException:  # noqa: BLE001
                payload = b""
        finally:
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(w, view):]
            finally:
                os._exit(0)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + limit
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([r], [], [], left)
            if not ready:
                continue
            data = os.read(r, 65536)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(r)
        if timed_out:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"status": "timeout", "error": f"its first run took over {limit:g} s (max_seconds); "
                "not timed"}
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.WEXITSTATUS(status)}")
        return {"status": "error", "error": f"the measuring process died ({how})"}


# ---- BLAS threads -----------------------------------------------------------------------------------
def _blas_thread_functions() -> list[tuple[Any, Any]]:
    """(get, set) thread-count functions of each BLAS library mapped into this process (Linux)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    found = []
    for path in sorted(set(re.findall(r"(/\S+\.(?:so|dylib)[.\d]*)", maps))):
        name = Path(path).name.lower()
        if not re.search(r"openblas|mkl_rt|libblis", name):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if "mkl" in name:
            names = [("MKL_Get_Max_Threads", "MKL_Set_Num_Threads")]
        elif "blis" in name:
            names = [("bli_thread_get_num_threads", "bli_thread_set_num_threads")]
        else:
            names = [(f"{p}_get_num_threads{x}", f"{p}_set_num_threads{x}")
                     for p in ("openblas", "scipy_openblas") for x in ("", "64_")]
        for get, put in names:
            if hasattr(lib, get) and hasattr(lib, put):
                getter = getattr(lib, get)
                getter.restype = ctypes.c_int
                found.append((getter, getattr(lib, put)))
                break
    return found


@contextmanager
def pinned_blas_threads(n: int | None) -> Iterator[str]:
    """BLAS runs ``n`` threads inside the block, and what it ran before afterwards (threadpoolctl if
    installed, else the library's own setter); ``None`` changes nothing. Yields a description."""
    if n is None:
        yield "BLAS threads as set"
        return
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        with threadpoolctl.threadpool_limits(n, user_api="blas"):
            yield f"BLAS threads {n}"
        return
    functions = _blas_thread_functions()
    before = [get() for get, _ in functions]
    for _, put in functions:
        put(ctypes.c_int(n))
    try:
        yield f"BLAS threads {n}" if functions else "BLAS threads as set (no BLAS library found to set)"
    finally:
        for (_, put), k in zip(functions, before):
            put(ctypes.c_int(k))


# ---- time: min over interleaved repeats -------------------------------------------------------------
def _sample(call: Callable[[], Any], number: int) -> float:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            call()
        return (time.perf_counter() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def _time_all(calls: dict[int, Callable[[], Any]], first: dict[int, float], budget: float,
              errors: dict[int, str]) -> dict[int, tuple[float, int]]:
    """``{i: (min seconds, repeats)}`` for each call; a call that raises goes to ``errors``."""
    if not calls:
        return {}
    share = budget / len(calls)
    plan = {}
    for i, t in first.items():
        t = max(t, 1e-7)
        number = max(1, min(MAX_NUMBER, int(MIN_SAMPLE_S / t)))
        plan[i] = (number, max(1, min(MAX_REPEATS, int(share / (t * number)))))
    samples: dict[int, list[float]] = {i: [] for i in calls}
    deadline = time.perf_counter() + budget
    for rnd in range(max(reps for _, reps in plan.values())):
        for i, call in calls.items():
            number, reps = plan[i]
            if i in errors or rnd >= reps or (samples[i] and time.perf_counter() > deadline):
                continue
            try:
                samples[i].append(_sample(call, number))
            except Exception as e:  # noqa: BLE001 -- it ran once before: a flaky f
                errors[i] = _one_line(e)
    return {i: (min(s), len(s)) for i, s in samples.items() if s and i not in errors}


# ---- the result -------------------------------------------------------------------------------------
COLUMNS = ["method", "mode", "chunk", "passes", "seconds", "ratio_to_f", "peak_bytes", "tape_bytes",
           "repeats", "status", "error"]


def fmt_seconds(s: float | None) -> str:
    if s is None or s != s:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            break
    else:
        unit, scale = "ns", 1e-9
    v = s / scale
    return f"{v:.3g} {unit}" if v < 1000 else f"{v:.0f} {unit}"


def _fmt_ratio(r: float) -> str:
    return f"{r:.3g}" if r < 1000 else f"{r:.0f}"


def fmt_bytes(b: float | None) -> str:
    if b is None or b != b:
        return "-"
    b = float(b)
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b:.0f} B"


@dataclass
class Recommendation:
    """What ``recommend`` found: ``mode`` ("forward" or "reverse"), ``reason`` (a sentence with the
    numbers), ``table`` (one row per method, columns ``COLUMNS``), ``call`` (the fastest method,
    as code), ``auto_mode`` (``cost_model.choose_mode(n_in, n_out)``), and the problem's sizes."""

    mode: str
    reason: str
    table: Any
    call: str
    auto_mode: str
    n_in: int
    n_out: int
    scalar: bool
    description: str
    seconds_total: float = 0.0
    notes: list[str] = field(default_factory=list)

    def format_table(self, error_width: int = 70) -> str:
        head = ["method", "mode", "chunk", "passes", "time", "x f", "peak mem", "tape", "runs", "status"]
        right = {"chunk", "passes", "time", "x f", "peak mem", "tape", "runs"}
        lines = []
        for row in self.table.itertuples(index=False):
            ok = row.status == "ok"
            lines.append([
                row.method, row.mode,
                "-" if _missing(row.chunk) else str(int(row.chunk)),
                "-" if _missing(row.passes) else str(int(row.passes)),
                fmt_seconds(row.seconds) if ok else "-",
                "-" if _missing(row.ratio_to_f) or not ok else _fmt_ratio(row.ratio_to_f),
                fmt_bytes(None if _missing(row.peak_bytes) else row.peak_bytes),
                fmt_bytes(None if _missing(row.tape_bytes) else row.tape_bytes),
                "-" if _missing(row.repeats) else str(int(row.repeats)),
                row.status if ok or _missing(row.error) else
                f"{row.status}: {_clip(str(row.error), error_width)}",
            ])
        widths = [max(len(h), *(len(r[j]) for r in lines)) for j, h in enumerate(head)]

        def join(cells: list[str]) -> str:
            out = []
            for j, (h, c) in enumerate(zip(head, cells)):
                last = j == len(head) - 1
                out.append(c.rjust(widths[j]) if h in right else (c if last else c.ljust(widths[j])))
            return "  ".join(out).rstrip()

        return "\n".join([join(head)] + [join(r) for r in lines])

    def __str__(self) -> str:
        parts = [self.description, self.format_table()]
        parts += self.notes
        parts.append(f"recommendation: {self.mode} -- {self.reason}")
        parts.append(f"use: {self.call}")
        return "\n".join(parts)

    __repr__ = __str__


def _missing(v: Any) -> bool:
    """None, nan or pandas' NA (whose truth value raises)."""
    if v is None:
        return True
    try:
        return bool(v != v)
    except TypeError:
        return True


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# ---- the decision -----------------------------------------------------------------------------------
def _footprint(row: dict[str, Any]) -> int | None:
    """Memory a method needs: the larger of its peak RSS and its tape (RSS misses small peaks)."""
    known = [v for v in (row.get("peak_bytes"), row.get("tape_bytes")) if v is not None]
    return max(known) if known else None


def _why_not(rows: list[dict[str, Any]], mode: str) -> str:
    """'forward failed (TypeError: ...)': the first unusable row of ``mode``, and how many alike."""
    bad = [r for r in rows if r["mode"] == mode and r["status"] != "ok"]
    r = bad[0]
    verb = {"error": "failed", "timeout": "did not finish", "skipped": "was not run"}[r["status"]]
    return f"{mode} {verb} ({r['error']})"


def _label(row: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """'forward', or 'forward (chunk_size=125)' when that mode has several rows."""
    same = [r for r in rows if r["mode"] == row["mode"]]
    return row["mode"] if len(same) == 1 or row is same[0] else f'{row["mode"]} (chunk_size={row["chunk"]})'


def _decide(rows: list[dict[str, Any]], n_in: int, n_out: int, scalar: bool,
            auto: str) -> tuple[str, str, dict[str, Any]]:
    t_f = rows[0]["seconds"]
    best: dict[str, dict[str, Any] | None] = {}
    for m in ("forward", "reverse"):
        default = next(r for r in rows if r["mode"] == m)  # the call without chunk_size
        ok = [r for r in rows if r["mode"] == m and r["status"] == "ok"]
        fastest = min(ok, key=lambda r: r["seconds"]) if ok else None
        # Another chunk is worth naming only when it is clearly faster than the default.
        if fastest is not None and default["status"] == "ok" and default["seconds"] <= TIE * fastest["seconds"]:
            fastest = default
        best[m] = fastest
    fw, rv = best["forward"], best["reverse"]

    def times_f(r: dict[str, Any]) -> str:
        return f"{_fmt_ratio(r['seconds'] / t_f)}x the time of f" if t_f else "f too fast to time"

    if fw is not None and rv is not None:
        fast, slow = (fw, rv) if fw["seconds"] <= rv["seconds"] else (rv, fw)
        ratio = slow["seconds"] / max(fast["seconds"], 1e-12)
        win, lose = fast, slow
        mf, mr = _footprint(fw), _footprint(rv)
        if ratio < TIE and mf is not None and mr is not None and mf != mr:
            win, lose = (fw, rv) if mf < mr else (rv, fw)
            reason = (f"forward and reverse take about the same time ({fmt_seconds(fw['seconds'])} vs "
                      f"{fmt_seconds(rv['seconds'])}, within {100 * (TIE - 1):.0f}%), so the one needing "
                      f"less memory is recommended: {_label(win, rows)} ({fmt_bytes(_footprint(win))} vs "
                      f"{fmt_bytes(_footprint(lose))}, the larger of peak RSS and tape)")
        else:
            reason = (f"{_label(fast, rows)} is {_fmt_ratio(ratio)}x faster than {_label(slow, rows)} "
                      f"({fmt_seconds(fast['seconds'])} vs {fmt_seconds(slow['seconds'])}; "
                      f"{times_f(fast)})")
            if win["mode"] == "reverse":
                reason += f"; its tape holds {fmt_bytes(win['tape_bytes'])}"
            else:
                reason += f"; it keeps no tape (reverse's holds {fmt_bytes(rv['tape_bytes'])})"
                pw, pl = win.get("peak_bytes"), lose.get("peak_bytes")
                if pw is not None and pl is not None and pw > 2 * pl and pw > 1e6:
                    reason += f", but its peak memory is {fmt_bytes(pw)} against {fmt_bytes(pl)}"
    else:
        win = fw or rv
        other = "reverse" if win is fw else "forward"
        reason = (f"{_why_not(rows, other)}; {_label(win, rows)} takes {fmt_seconds(win['seconds'])} "
                  f"({times_f(win)})")
        if win["mode"] == "reverse":
            reason += f"; its tape holds {fmt_bytes(win['tape_bytes'])}"
    rule = (f"modes' auto rule (cost_model.choose_mode(n_in={n_in}, n_out={n_out}), used by "
            'jacobian(mode="auto"))')
    if auto != win["mode"]:
        fails = " (which fails here)" if (fw if auto == "forward" else rv) is None else ""
        reason += f"; this differs from {rule}, which picks {auto}{fails}"
        if scalar and win["mode"] == "forward":
            reason += ' (grad defaults to reverse: pass mode="forward")'
    else:
        reason += f"; {rule} agrees"
    return win["mode"], reason, win


# ---- the public function ----------------------------------------------------------------------------
def recommend(f: Callable[..., Any], *args: Any, argnum: int | tuple[int, ...] = 0,
              out_index: int | None = None, budget: float = DEFAULT_BUDGET_S,
              max_seconds: float = DEFAULT_MAX_SECONDS, chunk_sizes: Sequence[int] | None = None,
              blas_threads: int | None = 1, isolate: bool | None = None) -> Recommendation:
    """Measure ``f(*args)`` and its derivative in both modes; recommend the faster mode.

    ``argnum`` (an int or a tuple) picks the differentiated arguments (containers allowed);
    ``out_index`` differentiates ``f(*args)[out_index]`` of a tuple-returning f. A scalar f is
    measured as ``grad`` in both modes, a vector (or container) output as ``jacobian`` (forward:
    chunks of directions; reverse: batches of cotangent rows) with the default chunk and, when the
    default carries everything at once, a chunk 8 times narrower (``chunk_sizes`` lists others).

    ``budget``: seconds shared by the timing repeats (the whole call also runs each method once
    more to measure its memory); a method estimated (passes x f's time) or found to take longer
    than ``max_seconds`` in one run is left out, its row says so. ``blas_threads``: BLAS threads
    while measuring (default 1, restored afterwards: on a shared machine BLAS's own threads can
    swing a small matmul from microseconds to a scheduler time slice; ``None`` keeps the current
    setting). ``isolate``: measure memory in forked children (default: on Linux). Keyword
    arguments of f: bind them with ``functools.partial``.

    Returns a ``Recommendation`` (``.mode``, ``.reason``, ``.table``, ``.call``), which prints as
    the table followed by ``recommendation: <mode> -- <reason>``. Raises ``RecommendError`` if f
    fails on ``args`` or if every derivative fails.
    """
    if blas_threads is not None and (not isinstance(blas_threads, int) or blas_threads < 1):
        raise ValueError(f"blas_threads must be a positive integer or None, got {blas_threads!r}")
    with pinned_blas_threads(blas_threads) as threads:
        rec = _recommend(f, args, argnum, out_index, budget, max_seconds, chunk_sizes, isolate)
    rec.notes[0] += f"; {threads}"
    return rec


def _recommend(f: Callable[..., Any], args: tuple, argnum: int | tuple[int, ...], out_index: int | None,
               budget: float, max_seconds: float, chunk_sizes: Sequence[int] | None,
               isolate: bool | None) -> Recommendation:
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError("modes.recommend returns its table as a pandas DataFrame: pip install pandas "
                          '(or pip install -e ".[experiments]")') from e

    if not callable(f):
        raise TypeError(f"recommend needs a function, got {type(f).__name__}")
    if not budget > 0 or not max_seconds > 0:
        raise ValueError(f"budget and max_seconds must be positive seconds, got {budget} and {max_seconds}")
    started = time.perf_counter()
    fname = _name(f)
    nums = argnum if isinstance(argnum, tuple) else (argnum,)
    for i in nums:
        if not isinstance(i, int) or not -len(args) <= i < len(args):
            raise ValueError(f"argnum {argnum!r} does not name one of the {len(args)} arguments given to "
                             f"{fname}")
    g = f
    if out_index is not None:
        def g(*a: Any) -> Any:
            return f(*a)[out_index]
        g.__qualname__ = f"{fname}(...)[{out_index}]"

    # f itself, once: does it run, and what does it return?
    start = time.perf_counter()
    try:
        full = f(*args)
    except Exception as e:
        raise RecommendError(f"{fname} failed on the given inputs: {_one_line(e)}") from e
    t_first = time.perf_counter() - start
    out = full
    if out_index is not None:
        try:
            out = full[out_index]
        except (TypeError, IndexError, KeyError) as e:
            raise RecommendError(f"out_index={out_index} given, but {fname} returned "
                                 f"{type(full).__name__} ({_one_line(e)}); give an index of its "
                                 "tuple of outputs") from e
    in_sizes = [s for i in nums for s in _sizes(args[i])]
    n_in, biggest = sum(in_sizes), max(in_sizes, default=1)
    out_leaves = flatten(out)[0]
    n_out = sum(int(np.size(x)) for x in out_leaves)
    scalar = len(out_leaves) == 1 and n_out == 1
    auto = cost_model.choose_mode(n_in, n_out)
    methods = _methods(g, args, argnum, scalar, n_in, n_out, max(biggest, 1), chunk_sizes)

    if isolate is None:
        isolate = sys.platform.startswith("linux") and hasattr(os, "fork")

    def run_once(call: Callable[[], Any], limit: float) -> dict[str, Any]:
        return _run_in_child(call, limit) if isolate else _measure(call)

    rows: list[dict[str, Any]] = []
    first: dict[int, float] = {}
    memory_how: set[str] = set()  # how the peaks were read: "peak" and/or "after"
    t_f_est = t_first
    for i, m in enumerate(methods):
        row = {"method": m.name, "mode": m.mode, "chunk": m.chunk, "passes": m.passes, "seconds": None,
               "peak_bytes": None, "tape_bytes": None, "repeats": None, "status": "ok", "error": None}
        rows.append(row)
        estimate = m.passes * t_f_est
        if i > 0 and estimate > max_seconds:
            row.update(status="skipped",
                       error=f"estimated at {fmt_seconds(estimate)} or more ({m.passes} passes, each "
                       f"at least f's {fmt_seconds(t_f_est)}), over max_seconds={max_seconds:g}")
            continue
        res = run_once(m.call, max_seconds)
        row["status"] = res["status"]
        row["error"] = res.get("error")
        if res["status"] == "ok":
            row["peak_bytes"] = res["peak_bytes"]
            row["tape_bytes"] = res["tape_bytes"]
            memory_how.add(res["memory"])
            first[i] = res["seconds"]
            if i == 0:
                t_f_est = min(t_f_est, res["seconds"])
        elif i == 0:  # f ran above, but not in its measuring run
            raise RecommendError(f"{fname} could not be measured on the given inputs: {row['error']}")

    errors: dict[int, str] = {}
    # A method slower than the whole budget is timed by its measuring run alone.
    slow = {i for i, t in first.items() if t > budget}
    timed = _time_all({i: methods[i].call for i in first if i not in slow},
                      {i: t for i, t in first.items() if i not in slow}, budget, errors)
    for i in slow:
        timed[i] = (first[i], 1)
    for i, row in enumerate(rows):
        if i in errors:
            row.update(status="error", error=errors[i], peak_bytes=None, tape_bytes=None)
        elif i in timed:
            row["seconds"], row["repeats"] = timed[i]
    if rows[0]["status"] != "ok":
        raise RecommendError(f"{fname} failed while being timed: {rows[0]['error']}")
    t_f = rows[0]["seconds"]
    for row in rows:
        row["ratio_to_f"] = row["seconds"] / t_f if row["seconds"] is not None and t_f else None

    if not any(r["status"] == "ok" for r in rows[1:]):
        what = "gradient" if scalar else "Jacobian"
        detail = "; ".join(_why_not(rows, m) for m in ("forward", "reverse"))
        errs = {r["error"] for r in rows[1:]}
        if len(errs) == 1 and all(r["status"] == "error" for r in rows[1:]):
            detail = f"both failed with {errs.pop()}"
        raise RecommendError(f"no {what} of {fname} could be measured, in either mode: {detail}")
    mode, reason, win = _decide(rows, n_in, n_out, scalar, auto)

    table = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("chunk", "passes", "peak_bytes", "tape_bytes", "repeats"):
        table[col] = pd.array([None if _missing(v) else int(v) for v in table[col]], dtype="Int64")
    for col in ("seconds", "ratio_to_f"):
        table[col] = pd.array([np.nan if v is None else float(v) for v in table[col]], dtype="float64")
    kind = "scalar" if scalar else f"{n_out} outputs"
    shapes = ", ".join(_describe_arg(a) for a in args)
    which = argnum if not isinstance(argnum, tuple) else ", ".join(map(str, argnum))
    picked = "" if out_index is None else f"[{out_index}]"
    description = (f"{fname}({shapes}){picked} -> {kind}; n_in = {n_in} (argument {which}), "
                   f"n_out = {n_out}")
    if "after" in memory_how:
        peak_note = "RSS after minus before (a lower bound)"
    elif isolate:
        peak_note = "peak RSS above the start, in a forked child"
    else:
        peak_note = "peak RSS above the start, in this process"
    notes = [f"time: min over interleaved repeats; x f: time / time of f; peak mem: {peak_note}; RSS "
             "counts pages, so a few hundred kB or less may read 0; tape: peak residual bytes of the "
             "tapes (modes.memory.track)"]
    call = win["method"]
    return Recommendation(mode=mode, reason=reason, table=table, call=call, auto_mode=auto,
                          n_in=n_in, n_out=n_out, scalar=scalar, description=description, notes=notes,
                          seconds_total=time.perf_counter() - started)


def _describe_arg(a: Any) -> str:
    leaves, d = flatten(a)
    if d.is_leaf:
        if isinstance(a, (int, float)):
            return type(a).__name__
        dtype = getattr(a, "dtype", None)
        return f"{dtype or type(a).__name__} {tuple(np.shape(a))}"
    return f"{type(a).__name__} of {len(leaves)} arrays"
