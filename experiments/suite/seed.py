"""``seed``: the talk's example V = x*y + (x+y)*z, explained and checked.

Saves ``modes.explain(V, x, y, z)`` as ``seed_explain.md`` and checks V and its gradient
(y + z, x + z, x + y) in both modes against those formulas. Rows: ``value``, ``reverse``,
``forward`` (``check_err`` = max abs error), ``explain`` (failed if explain gives no text) and
``draw``: the talk's picture ``talk_graph.png`` / ``talk_graph.svg`` (forward tangents and reverse
bars side by side) and the sweep ``talk_sweep.gif``, one update per frame (``value`` = the number
of frames; ``check_err`` = max abs error of the drawn bars against the gradient formulas).
"""

from __future__ import annotations

from typing import Any

import modes

from ..runner import Context, Method, value_row

NAME = "seed"
TITLE = "The seed example V = x*y + (x+y)*z"
POINT = (2.0, 3.0, 4.0)
EXPLAIN_FILE = "seed_explain.md"
GRAPH_FILES = ("talk_graph.png", "talk_graph.svg")
SWEEP_FILE = "talk_sweep.gif"


def V(x: Any, y: Any, z: Any) -> Any:
    """The seed example."""
    return x * y + (x + y) * z


def expected(x: float, y: float, z: float) -> tuple[float, tuple[float, float, float]]:
    """V and its gradient by the formulas (y + z, x + z, x + y)."""
    return x * y + (x + y) * z, (y + z, x + z, x + y)


def run(ctx: Context) -> None:
    x, y, z = POINT
    want_v, want_g = expected(x, y, z)
    config = {"problem": "V=x*y+(x+y)*z", "n": 3, "m": 1, "ops": 4}
    with ctx.progress(NAME, 5) as bar:
        bar.step("value")
        value_row(ctx, NAME, config, Method("value", "plain"),
                  lambda: {"value": V(x, y, z), "check_err": abs(V(x, y, z) - want_v)})
        for mode in ("reverse", "forward"):
            bar.step(f"{mode} gradient")

            def grad_check(mode: str = mode) -> dict[str, Any]:
                val, g = modes.value_and_grad(V, argnum=(0, 1, 2), mode=mode)(x, y, z)  # type: ignore[arg-type]
                err = max(abs(float(a) - b) for a, b in zip(g, want_g))
                out: dict[str, Any] = {"value": float(val), "check_err": err,
                                       "note": "gradient " + ", ".join(f"{float(a):g}" for a in g)}
                if err > 1e-12:
                    out.update(status="failed", error=f"gradient {g} != (y+z, x+z, x+y) = {want_g}")
                return out

            value_row(ctx, NAME, config, Method(mode, mode), grad_check)
        bar.step("explain")
        value_row(ctx, NAME, config, Method("explain", "both"), lambda: _explain(ctx))
        bar.step("draw")
        value_row(ctx, NAME, config, Method("draw", "both"), lambda: _draw(ctx))


def _explain(ctx: Context) -> dict[str, Any]:
    x, y, z = POINT
    text = modes.explain(V, x, y, z)
    want_v, want_g = expected(x, y, z)
    path = ctx.out_dir / EXPLAIN_FILE
    body = (f"# explain: V = x*y + (x+y)*z at x = {x:g}, y = {y:g}, z = {z:g}\n\n"
            f"Expected: V = {want_v:g}, gradient (y+z, x+z, x+y) = "
            f"({', '.join(f'{g:g}' for g in want_g)}).\n\n"
            "Output of `modes.explain(V, x, y, z)`:\n\n```text\n" + str(text).rstrip() + "\n```\n")
    path.write_text(body)
    if not isinstance(text, str) or not text.strip():
        return {"status": "failed", "error": f"modes.explain returned no text ({text!r})"}
    found = [f"{v:g}" for v in (want_v, *want_g) if f"{v:g}" in text]
    return {"note": f"{len(text.splitlines())} lines; V and gradient values found in the text: "
                    f"{', '.join(found) or 'none'}", "value": want_v}


def _draw(ctx: Context) -> dict[str, Any]:
    """The talk's picture and its sweep, frame by frame, drawn from the Wengert list of explain."""
    from modes.draw import graph_of

    x, y, z = POINT
    _, want_g = expected(x, y, z)
    for name in GRAPH_FILES:
        modes.draw(V, x, y, z, path=ctx.out_dir / name, mode="both")
    sweep = modes.draw(V, x, y, z, path=ctx.out_dir / SWEEP_FILE)  # frames in a folder without Pillow
    graph = graph_of(V, x, y, z)
    err = max(abs(float(n.bar) - g) for n, g in zip(graph.nodes, want_g))
    files = [*GRAPH_FILES, sweep.name]
    out: dict[str, Any] = {"value": len(graph.updates), "check_err": err,
                           "note": f"{', '.join(files)}: {len(graph.nodes)} nodes, "
                                   f"{len(graph.updates)} sweep updates (one per frame)"}
    if err > 1e-12:
        out.update(status="failed", error=f"drawn bars {[n.bar for n in graph.nodes[:3]]} != {want_g}")
    return out
