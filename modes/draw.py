"""``draw``: the talk's expression graph as a picture, and the reverse sweep as an animation.

The graph is the Wengert list ``explain`` prints (``modes.explain.wengert_list``): one node per
input and per primitive, named as ``explain`` names them (the output is called V), with its nominal
value; one edge per local partial, labelled with its symbolic name, the rule's formula and its
value (``∂w3/∂w2 = z = 2``). Beside it the forward tangents along one input direction and the
reverse bars of the sweep; the animation shows the sweep one update ``u_bar += dw/du * w_bar`` per
frame. Layout: ``modes.graph_layout`` (inputs at the bottom, output on top). Plain matplotlib,
headless (an Agg canvas, no pyplot); GIFs through matplotlib's PillowWriter.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .explain import NotScalarError, WengertList, _fmt, wengert_list
from .graph_layout import Layout, layered
from .pytree import flatten
from .registry import plain

MAX_NODES = 40  # beyond this a picture is no longer readable: explain() prints any size
MODES = ("reverse", "forward", "both")
SUFFIXES = (".png", ".svg", ".gif")
OUTPUT_LABEL = "V"  # the talk's name for the output

# Sizes in inches: one layout unit across, one layer up, a node's box.
DX, DY, BOX_W, BOX_H, MARGIN = 2.3, 1.55, 1.95, 0.78, 0.45
EDGE_FONT = 7.8
HEAD, FOOT = 0.95, 0.55  # room for the panel titles and the line under the panels
INK, MUTED = "#222222", "#9e9e9e"
TANGENT, BAR, ACTIVE, SOURCE, VALUE = "#1f5fbf", "#c62828", "#c62828", "#ef6c00", "#555555"
FILL = {"input": "#e8f5e9", "step": "#eef3fb", "output": "#fff3e0"}
_SIMPLE = re.compile(r"([A-Za-z]+)(\d*)")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_ACCENT = {"bar": "\u0304", "dot": "\u0307"}  # combining macron, combining dot above


def _m(label: str, accent: str = "") -> str:
    """A node's label as printed: ``w3`` -> w₃, with a bar (w̄₃) or a dot (ẇ₃) when asked."""
    match = _SIMPLE.fullmatch(label)
    if match is None:
        return label + ("_" + accent if accent else "")
    base, digits = match.groups()
    return base + _ACCENT.get(accent, "") + digits.translate(_SUBSCRIPT)


# ---- the graph as data ------------------------------------------------------------------------------

@dataclass
class GraphNode:
    """One node: ``name`` as ``explain`` prints it (x, w1, ...); ``label`` as drawn (the output is V);
    ``expr`` its right-hand side (``"x * y"``, the name for an input); ``tangent`` along the drawn
    direction; ``bar`` after the sweep (0 where no bar arrived); ``kind``: input, step or output."""

    name: str
    label: str
    expr: str
    value: Any
    tangent: Any
    bar: Any
    kind: str


@dataclass
class GraphEdge:
    """Node ``out`` uses node ``arg`` (its argument ``argnum``). ``name`` is the local partial
    (``"∂w3/∂w2"``), ``formula`` its rule's expression in the nodes' labels (``"z"``), ``value`` its
    value at the nominal point (None for a structural primitive, which has JVP/VJP rules instead;
    ``differentiable`` False for an argument with no derivative, a condition or a mask)."""

    arg: int
    out: int
    argnum: int
    name: str
    formula: str | None
    value: Any
    prim: str
    differentiable: bool = True

    @property
    def text(self) -> str:
        """``"∂w3/∂w2 = z = 2"``."""
        if not self.differentiable:
            return ""
        if self.value is None:
            return f"{self.name}: {self.prim} (JVP/VJP rule)"
        value = _val(self.value)
        shown = f" = {self.formula}" if self.formula is not None and self.formula != value else ""
        return f"{self.name}{shown} = {value}"


@dataclass
class SweepUpdate:
    """One update of the reverse sweep, ``nodes[arg].bar += partial * nodes[out].bar`` along
    ``edges[edge]``: ``contribution`` added, ``total`` the bar after it, ``text`` as on the board."""

    edge: int
    arg: int
    out: int
    partial: Any
    out_bar: Any
    contribution: Any
    total: Any
    text: str


@dataclass
class Graph:
    """The expression graph of ``f`` at a point: what ``draw`` draws."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    updates: list[SweepUpdate]
    output: int | None
    direction: np.ndarray
    direction_label: str
    layout: Layout
    wengert: WengertList
    title: str

    def bars_after(self, k: int) -> list[Any]:
        """Every node's bar after the first ``k`` updates of the sweep (0 where none arrived yet)."""
        bars: list[Any] = [0.0] * len(self.nodes)
        if self.output is not None and self.wengert.swept:
            bars[self.output] = 1.0
        for u in self.updates[:k]:
            bars[u.arg] = u.total
        return bars


def graph_of(f: Callable[..., Any], *args: Any, direction: Any = None, sweep: bool = True) -> Graph:
    """The graph ``draw`` draws for ``f`` at ``args``: nodes, labelled edges, sweep updates, layout.

    ``direction``: the input direction of the forward tangents, an index ``k`` (the unit vector
    e_k of the flattened inputs; default 0) or a vector of the inputs' total size. ``sweep=False``
    skips the reverse sweep (then ``f`` may return an array).
    """
    n = sum(int(np.size(leaf)) for leaf in flatten(tuple(args))[0])
    d = _direction(direction, n)
    wl = wengert_list(f, *args, sweep=sweep, seeds=d[None, :])
    steps = wl.steps
    names = {s.name for s in steps}
    labels = [s.name for s in steps]
    output = wl.output
    if output is not None and output >= wl.n_inputs and OUTPUT_LABEL not in names:
        labels[output] = OUTPUT_LABEL

    def relabel(text: str) -> str:
        if output is None or labels[output] == steps[output].name:
            return text
        return re.sub(rf"(?<![\w'\]]){re.escape(steps[output].name)}(?![\w\[])", labels[output], text)

    nodes = []
    for k, s in enumerate(steps):
        kind = "input" if k < wl.n_inputs else ("output" if k == output else "step")
        tangent = None if s.tangent is None else np.asarray(s.tangent)[0]
        bar = 0.0 if s.bar is None else s.bar
        expr = s.name if s.prim is None else relabel(s.expr(steps))
        nodes.append(GraphNode(s.name, labels[k], expr, s.value, tangent, bar, kind))

    edges = [GraphEdge(p.arg, p.out, p.argnum, f"∂{labels[p.out]}/∂{labels[p.arg]}",
                       None if p.formula is None else relabel(p.formula), p.value,
                       steps[p.out].prim or "")
             for p in wl.partials]
    with_partial = {(e.out, e.argnum) for e in edges}
    for o, s in enumerate(steps):
        for k, (kind, a) in enumerate(s.args):
            if kind == "node" and (o, k) not in with_partial:  # a condition, a mask: no derivative
                edges.append(GraphEdge(a, o, k, "", None, None, s.prim or "", differentiable=False))

    updates = []
    for u in wl.updates:
        arg, out = labels[u.arg], labels[u.out]
        if u.value is not None:
            how = (f"{edges[u.partial].name if u.partial >= 0 else '?'} * {out}_bar = "
                   f"{_val(u.value)} * {_val(u.out_bar)}")
        else:
            how = f"vjp_{steps[u.out].prim}({out}_bar)"
        text = f"{arg}_bar += {how} = {_val(u.contribution)}  ->  {arg}_bar = {_val(u.total)}"
        updates.append(SweepUpdate(u.partial, u.arg, u.out, u.value, u.out_bar, u.contribution,
                                   u.total, text))

    layout = layered(len(nodes), [(e.arg, e.out) for e in edges], top=output)
    if len(d) and np.count_nonzero(d) == 1 and d[np.flatnonzero(d)[0]] == 1:
        k = int(np.flatnonzero(d)[0])
        label = f"e{str(k).translate(_SUBSCRIPT)} = {wl.directions[k]}"
    else:
        label = "(" + ", ".join(_val(v) for v in d) + ")"
    fname = getattr(f, "__name__", "f")
    point = ", ".join(f"{nd.label} = {_short(_val(nd.value), 18)}" for nd in nodes[: wl.n_inputs])
    title = f"{'f' if fname == '<lambda>' else fname} at {point}"
    return Graph(nodes, edges, updates, output, d, label, layout, wl, title)


def _direction(direction: Any, n: int) -> np.ndarray:
    if direction is None:
        direction = 0
    if isinstance(direction, (int, np.integer)) and not isinstance(direction, bool):
        if not 0 <= direction < max(n, 1):
            raise ValueError(f"draw: direction={direction} picks the unit vector e_{direction}, but "
                             f"f's inputs have {n} entries (directions 0 to {n - 1})")
        return np.eye(n)[int(direction)] if n else np.zeros(0)
    d = np.asarray(direction, dtype=float).ravel()
    if d.size != n:
        raise ValueError(f"draw: direction has {d.size} entries; f's inputs have {n} in all (give a "
                         f"vector of that size, flattened in argument order, or an index k for e_k)")
    return d


def _val(v: Any) -> str:
    """A value as ``explain`` prints it, without its negative zeros (0 * -1 in a tangent)."""
    return _fmt(np.asarray(plain(v), dtype=float) + 0.0 if np.ndim(plain(v)) else v)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# ---- draw ---------------------------------------------------------------------------------------

def draw(f: Callable[..., Any], *args: Any, path: str | Path = "graph.png", mode: str = "reverse",
         direction: Any = None, animate: bool = False, frames_dir: str | Path | None = None,
         max_nodes: int = MAX_NODES, dpi: int = 100) -> Path:
    """Draw the expression graph of ``f`` at ``args`` to ``path`` and return the path.

    Nodes are the Wengert list of ``modes.explain`` (inputs at the bottom, the output V on top),
    each with its nominal value; each edge carries its local partial (``∂w3/∂w2 = z = 2``).
    ``mode``: ``"reverse"`` the bars of the reverse sweep (``f`` must return a scalar),
    ``"forward"`` the tangents along ``direction`` (an index k: the unit vector e_k of the
    flattened inputs, default 0; or a vector of their total size; ``f`` may return an array),
    ``"both"`` the two panels side by side. The format follows the suffix: ``.png``, ``.svg``
    (text kept as text), or ``.gif``: the reverse sweep animated, one update
    ``u_bar += ∂w/∂u * w_bar`` per frame (without Pillow the frames go to ``<stem>_frames/`` and
    that folder is returned). ``frames_dir=`` writes the same frames as ``frame_001.png``, ...
    besides the picture; ``animate=True`` asks for the animation and needs one of the two.
    Graphs of more than ``max_nodes`` nodes are refused (``explain`` prints any size).
    ``graph_of(f, *args)`` returns what is drawn as data.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("modes.draw needs matplotlib: pip install matplotlib (or pip install -e "
                          "'.[experiments]'); modes.explain(f, *args) prints the same graph as "
                          "text") from None
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"draw writes {', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]} (the animation); "
                         f"got {path.suffix or 'no suffix'!r} in {str(path)!r}")
    if mode not in MODES:
        raise ValueError(f"draw: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    animate = animate or suffix == ".gif" or frames_dir is not None
    if animate and suffix != ".gif" and frames_dir is None:
        raise ValueError("draw: animate=True writes the sweep as a .gif (path='sweep.gif') or as one "
                         "PNG per frame (frames_dir='frames/')")
    if animate and mode == "forward":
        raise ValueError("draw: the animation shows the reverse sweep; use mode='reverse' or 'both'")
    try:
        graph = graph_of(f, *args, direction=direction, sweep=mode != "forward")
    except NotScalarError as exc:
        raise ValueError(f"draw(mode={mode!r}): the reverse sweep needs f to return a scalar, got "
                         f"shape {exc.shape}; draw its forward tangents with mode='forward', or "
                         "reduce f to one number (a sum, one entry)") from None
    if len(graph.nodes) > max_nodes:
        k = len(graph.nodes)
        raise ValueError(
            f"draw: the Wengert list of f has {k} nodes ({graph.wengert.n_inputs} inputs, "
            f"{k - graph.wengert.n_inputs} steps); a picture stays readable up to {max_nodes}. "
            f"Print it with modes.explain(f, *args) instead, or pass max_nodes={k} to draw it anyway")
    if animate and not graph.updates:
        raise ValueError("draw: the reverse sweep of f makes no update (f does not depend on its "
                         "inputs), so there is nothing to animate")
    picture = _Picture(graph, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames_dir is not None:
        _write_frames(picture, Path(frames_dir), dpi)
    if suffix == ".gif":
        return _write_gif(picture, path, dpi)
    from matplotlib import rc_context

    with rc_context({"svg.fonttype": "none"}):  # SVG text stays text: searchable, selectable
        picture.figure().savefig(path, dpi=dpi, format=suffix[1:])
    return path


def _write_frames(picture: _Picture, folder: Path, dpi: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fig = None
    for k in range(len(picture.graph.updates)):
        fig = picture.figure(frame=k, fig=fig)
        fig.savefig(folder / f"frame_{k + 1:03d}.png", dpi=dpi)
    return folder


def _write_gif(picture: _Picture, path: Path, dpi: int) -> Path:
    from matplotlib.animation import PillowWriter

    n = len(picture.graph.updates)
    if not PillowWriter.isAvailable():  # no Pillow: the frames instead, next to the path
        frames = _write_frames(picture, path.with_name(path.stem + "_frames"), dpi)
        warnings.warn(f"draw: Pillow is not installed, so no GIF; wrote {n} frames to {frames}",
                      stacklevel=3)
        return frames
    fig = picture.figure(frame=0)
    writer = PillowWriter(fps=1)
    with writer.saving(fig, str(path), dpi):
        for k in range(n):
            picture.figure(frame=k, fig=fig)
            writer.grab_frame()
    return path


# ---- the picture -------------------------------------------------------------------------------------

class _Picture:
    """Geometry and drawing of one graph in one or two panels (forward tangents, reverse bars).

    Coordinates are inches inside a panel; ``figure(frame=k)`` draws the sweep after its update k.
    """

    def __init__(self, graph: Graph, mode: str) -> None:
        self.graph = graph
        self.panels = ["forward", "reverse"] if mode == "both" else [mode]
        lay = graph.layout
        xs = list(lay.x) + [p[0] for r in lay.routes for p in r]
        self.x0 = min(xs, default=0.0)
        drawing = (max(xs, default=0.0) - self.x0) * DX + BOX_W
        self.panel_w = max(drawing + 2 * MARGIN, 5.2)
        self.panel_h = max(lay.n_layers - 1, 0) * DY + BOX_H + 2 * MARGIN + HEAD + FOOT
        self.left = (self.panel_w - drawing) / 2
        self.labels = {nd.label for nd in graph.nodes}

    def figure(self, frame: int | None = None, fig: Any = None) -> Any:
        """The picture (``frame=None``) or frame ``frame`` of the sweep, on a new or cleared figure."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if fig is None:
            fig = Figure(figsize=(self.panel_w * len(self.panels), self.panel_h), facecolor="white")
            FigureCanvasAgg(fig)
        else:
            fig.clear()
        for k, panel in enumerate(self.panels):
            ax = fig.add_axes((k / len(self.panels), 0, 1 / len(self.panels), 1))
            ax.set_xlim(0, self.panel_w)
            ax.set_ylim(0, self.panel_h)
            ax.set_axis_off()
            self._panel(ax, panel, frame)
        _text(fig, 0.5, 1 - 0.18 / self.panel_h, self._labelled(self.graph.title), ha="center",
              va="top", fontsize=10.5, color=INK)
        _text(fig, 0.5, 0.22 / self.panel_h, self._footer(frame), ha="center", va="bottom",
              fontsize=9.5, color=BAR if frame is not None else INK)
        return fig

    # ---- text ---------------------------------------------------------------------------------------

    def _labelled(self, text: str) -> str:
        """Text with the nodes' labels as printed: ``1 - w1 * w1`` -> 1 - w₁ * w₁, ``x_bar`` -> x̄."""
        def label(m: re.Match) -> str:
            return _m(m[1], m[2] or "") if m[1] in self.labels else m[0]

        return re.sub(r"(?<![\w'\]\[])([A-Za-z]+\d*)(?:_(bar|dot))?(?![\w'\[])", label, text)

    def _footer(self, frame: int | None) -> str:
        g = self.graph
        if frame is not None:
            text = g.updates[frame].text.replace(" * ", " · ").replace("->", "→")
            return f"update {frame + 1} of {len(g.updates)}:  {self._labelled(text)}"
        parts = []
        if "forward" in self.panels and g.output is not None:
            out = g.nodes[g.output]
            parts.append(f"{_m(out.label, 'dot')} = {_short(_val(out.tangent), 30)} along "
                         f"{g.direction_label}")
        if "reverse" in self.panels and g.wengert.swept:
            parts.append("gradient: " + ", ".join(f"{_m(nd.label, 'bar')} = {_short(_val(nd.bar), 30)}"
                                                  for nd in g.nodes[: g.wengert.n_inputs]))
        return "     ".join(parts)

    def _edge_label(self, e: GraphEdge) -> str:
        name = f"∂{_m(self.graph.nodes[e.out].label)}/∂{_m(self.graph.nodes[e.arg].label)}"
        if e.value is None:
            return f"{name} (JVP/VJP)"
        value = _short(_val(e.value), 24)
        formula = e.formula if e.formula is not None and e.formula != _val(e.value) else None
        sep = " " if len(e.text) <= 22 else "\n"
        return name + (f" = {self._labelled(formula)}" if formula else "") + f"{sep}= {value}"

    @staticmethod
    def _expr(nd: GraphNode) -> str:
        # Keyword arguments at their defaults are left out: sum(w1), not sum(w1, axis=None, ...).
        return _short(re.sub(r", \w+=(None|False)(?=[,)])", "", nd.expr), 24)

    # ---- one panel ------------------------------------------------------------------------------------

    def _xy(self, x: float, layer: float) -> tuple[float, float]:
        return self.left + BOX_W / 2 + (x - self.x0) * DX, FOOT + MARGIN + BOX_H / 2 + layer * DY

    def _panel(self, ax: Any, panel: str, frame: int | None) -> None:
        g = self.graph
        top = self.panel_h - 0.45
        if panel == "forward":
            title, colour = f"Forward mode: tangents along {g.direction_label}", TANGENT
            rule = f"{_m('w', 'dot')} = Σ ∂w/∂u · {_m('u', 'dot')}, over the arguments u of w"
        else:
            out = g.nodes[g.output].label if g.output is not None else OUTPUT_LABEL
            title, colour = f"Reverse sweep: bars, from {_m(out, 'bar')} = 1 down", BAR
            rule = f"{_m('u', 'bar')} += ∂w/∂u · {_m('w', 'bar')}, for each edge u → w, walking back"
        _text(ax, self.panel_w / 2, top, title, ha="center", va="top", fontsize=10, color=colour,
              weight="bold")
        _text(ax, self.panel_w / 2, top - 0.3, rule, ha="center", va="top", fontsize=9, color=INK)
        active = g.updates[frame] if frame is not None and panel == "reverse" else None
        centres = [self._xy(x, y) for x, y in zip(g.layout.x, g.layout.y)]
        self._edges(ax, centres, active)
        bars = g.bars_after(frame + 1) if frame is not None else [nd.bar for nd in g.nodes]
        self._nodes(ax, centres, panel, bars, active)

    def _edges(self, ax: Any, centres: list[tuple[float, float]], active: SweepUpdate | None) -> None:
        from matplotlib.patches import FancyArrowPatch
        from matplotlib.path import Path as MPath

        g = self.graph
        # Where several edges meet a box they leave and arrive side by side, ordered by direction.
        ends: dict[tuple[int, int], float] = {}
        for side, node_of in ((0, lambda e: e.arg), (-1, lambda e: e.out)):
            meeting: dict[int, list[int]] = {}
            for k, e in enumerate(g.edges):
                meeting.setdefault(node_of(e), []).append(k)
            for ks in meeting.values():
                ks.sort(key=lambda k: g.layout.routes[k][1 if side == 0 else -2][0])
                gap = min(0.26, BOX_W * 0.7 / len(ks))
                for i, k in enumerate(ks):
                    ends[k, side] = (i - (len(ks) - 1) / 2) * gap
        taken = [(cx - BOX_W / 2, cy - BOX_H / 2, cx + BOX_W / 2, cy + BOX_H / 2) for cx, cy in centres]
        for k, e in enumerate(g.edges):
            pts = [self._xy(x, y) for x, y in g.layout.routes[k]]
            pts[0] = (centres[e.arg][0] + ends[k, 0], centres[e.arg][1] + BOX_H / 2)
            pts[-1] = (centres[e.out][0] + ends[k, -1], centres[e.out][1] - BOX_H / 2)
            lit = active is not None and active.edge == k
            colour = ACTIVE if lit else (INK if e.differentiable else MUTED)
            path = MPath(pts, [MPath.MOVETO] + [MPath.LINETO] * (len(pts) - 1))
            ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=11,
                                         lw=2.6 if lit else 1.0, color=colour, zorder=2,
                                         linestyle="-" if e.differentiable else "--"))
            if e.differentiable:
                label = self._edge_label(e)
                x, y = _free_spot(pts, label, EDGE_FONT, taken)
                _text(ax, x, y, label, ha="center", va="center", fontsize=EDGE_FONT, color=colour,
                      weight="bold" if lit else "normal", zorder=4,
                      bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))

    def _nodes(self, ax: Any, centres: list[tuple[float, float]], panel: str, bars: list[Any],
               active: SweepUpdate | None) -> None:
        from matplotlib.patches import FancyBboxPatch

        for k, nd in enumerate(self.graph.nodes):
            cx, cy = centres[k]
            ec, lw = INK, 0.9
            if active is not None and k == active.arg:  # the bar being updated
                ec, lw = ACTIVE, 2.6
            elif active is not None and k == active.out:  # the bar it comes from
                ec, lw = SOURCE, 2.0
            ax.add_patch(FancyBboxPatch((cx - BOX_W / 2, cy - BOX_H / 2), BOX_W, BOX_H, zorder=3,
                                        boxstyle="round,pad=0,rounding_size=0.12", fc=FILL[nd.kind],
                                        ec=ec, lw=lw))
            head = _m(nd.label)
            if nd.kind != "input":
                head += f" = {self._labelled(self._expr(nd))}"
            _text(ax, cx, cy + 0.2, head, ha="center", va="center", fontsize=8.8, color=INK, zorder=5)
            _text(ax, cx, cy - 0.02, "= " + _short(_val(nd.value), 26), ha="center", va="center",
                  fontsize=8, color=VALUE, zorder=5)
            if panel == "forward":
                tangent = "?" if nd.tangent is None else _short(_val(nd.tangent), 22)
                text = f"{_m(nd.label, 'dot')} = {tangent}"
                colour = TANGENT
            else:
                text = f"{_m(nd.label, 'bar')} = {_short(_val(bars[k]), 22)}"
                colour = BAR
            _text(ax, cx, cy - 0.24, text, ha="center", va="center", fontsize=8.3, color=colour,
                  zorder=5, weight="bold" if active is not None and k == active.arg else "normal")


def _free_spot(pts: list[tuple[float, float]], label: str, size: float,
               taken: list[tuple[float, float, float, float]]) -> tuple[float, float]:
    """A point on the edge for its label, clear of the boxes and labels placed so far (tried from
    the middle outwards; the least covered one if none is clear). Its box joins ``taken``."""
    lines = label.split("\n")
    w = max(len(t) for t in lines) * 0.58 * size / 72 + 0.08
    h = len(lines) * 1.3 * size / 72 + 0.04
    best, best_cover = None, np.inf
    for t in (0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85):
        x, y = _along(pts, t)
        box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        cover = sum(max(0.0, min(box[2], b[2]) - max(box[0], b[0]))
                    * max(0.0, min(box[3], b[3]) - max(box[1], b[1])) for b in taken)
        if cover < best_cover:
            best, best_cover = (x, y, box), cover
        if cover == 0:
            break
    assert best is not None
    taken.append(best[2])
    return best[0], best[1]


def _along(pts: list[tuple[float, float]], t: float) -> tuple[float, float]:
    """The point a fraction ``t`` of the way along a polyline."""
    seg = [float(np.hypot(b[0] - a[0], b[1] - a[1])) for a, b in zip(pts, pts[1:])]
    goal = t * sum(seg)
    for (a, b), s in zip(zip(pts, pts[1:]), seg):
        if goal <= s and s > 0:
            r = goal / s
            return a[0] + r * (b[0] - a[0]), a[1] + r * (b[1] - a[1])
        goal -= s
    return pts[-1]


def _text(where: Any, x: float, y: float, s: str, **kw: Any) -> Any:
    """Text as given: a ``$`` in a name or a value is not mathtext."""
    return where.text(x, y, s, parse_math=False, **kw)
