#!/usr/bin/env python
"""``modes`` as a GradBench tool: ``python experiments/gradbench/run.py --mode forward|reverse|auto``.

Speaks the GradBench protocol on stdin/stdout (see ``experiments.gradbench.protocol``). ``--mode``
picks the mode of AD: ``forward`` / ``reverse`` run each problem's best method of that mode (for
example chunked forward for ht, per-observation blocks for ba), ``auto`` the best overall; a method
name (``forward-chunked``, ``reverse-batched``, ...) forces that method where a module has it.
Runs from any directory (it puts the repository root on ``sys.path``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments.adbench.spec import TOOL_MODES  # noqa: E402
from experiments.gradbench.protocol import serve  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", default="auto",
                    help=f"{' | '.join(TOOL_MODES)}, or a method name (default: auto)")
    ap.add_argument("--no-tape", action="store_true",
                    help="do not measure peak tape bytes (saves the extra untimed run)")
    args = ap.parse_args(argv)
    try:
        serve(sys.stdin, sys.stdout, args.mode, track_tape=not args.no_tape)
    except ValueError as exc:
        ap.error(str(exc))
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
