#!/usr/bin/env python
"""``modes`` as a GradBench tool: ``python experiments/gradbench/run.py --mode forward|reverse|auto``.

Speaks the GradBench protocol on stdin/stdout (see ``experiments.gradbench.protocol``). ``--mode``
picks the mode of AD: ``forward`` / ``reverse`` run each problem's best method of that mode (for
example chunked forward for ht, per-observation blocks for ba, compiled methods where they were
measured faster), ``auto`` the best overall; a method name (``forward-chunked``,
``reverse-batched``, ``reverse-compiled``, ``rr-compiled``, ...) forces that method where a module
has it. A compiled method compiles for each input before its timed runs and reports that time as
GradBench's ``prepare`` timing (``experiments.adbench.compiled``).
``--blas-threads N|default`` (default 1): BLAS/OpenMP threads, pinned before numpy loads (BLAS's own
threads on a shared machine swing timings many times over); the ``start`` answer reports the
setting. ``--tape-bytes``: also report each evaluation's peak tape bytes (one extra untimed run
per evaluation; off by default). Runs from any directory (it puts the repository root on
``sys.path``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments import machine  # noqa: E402  (imports no numpy)

machine.pin_blas_threads(machine.blas_threads_from_argv(sys.argv[1:]))  # before numpy loads

from experiments.adbench.spec import TOOL_MODES  # noqa: E402
from experiments.gradbench.protocol import serve  # noqa: E402


def _blas_threads(text: str) -> str:
    try:
        return machine.check_blas_threads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", default="auto",
                    help=f"{' | '.join(TOOL_MODES)}, or a method name (default: auto)")
    tape = ap.add_mutually_exclusive_group()
    tape.add_argument("--tape-bytes", action="store_true",
                      help="also report each evaluation's peak tape bytes (one extra untimed run)")
    tape.add_argument("--no-tape", action="store_true", help="do not (the default)")
    ap.add_argument("--blas-threads", type=_blas_threads, default=machine.DEFAULT_BLAS_THREADS,
                    metavar="N|default",
                    help="BLAS/OpenMP threads (default 1; 'default': the library's own setting)")
    args = ap.parse_args(argv)
    machine.pin_blas_threads(args.blas_threads)  # for main(argv) called in-process
    try:
        serve(sys.stdin, sys.stdout, args.mode, track_tape=args.tape_bytes)
    except ValueError as exc:
        ap.error(str(exc))
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
