"""draw(): the expression graph as a picture; nodes, partials and bars checked against explain and by hand."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modes
from modes.draw import MAX_NODES, graph_of
from modes.explain import _fmt
from modes.graph_layout import _crossings, layered

pytest.importorskip("matplotlib")

PNG, GIF = b"\x89PNG\r\n\x1a\n", b"GIF89a"
POINT = (1.0, -3.0, 2.0)


def talk(x, y, z):
    return x * y + (x + y) * z


def vector(v):
    return np.sum(np.sin(v) * v)


def chain(x):
    return np.exp(np.sin(np.exp(np.sin(x))))


def thirty(x, y):
    """2 inputs and 28 steps: 30 nodes."""
    a, b = x, y
    for _ in range(4):
        a, b = np.sin(a * b) + a, np.exp(-b) * a
    return np.tanh(a + b) * x + y


def wide(x):
    """More nodes than a picture can hold."""
    return np.sum(np.stack([np.sin(x * k) for k in range(1, 25)]))


@pytest.fixture(scope="module")
def talk_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("talk")
    paths = {
        "png": modes.draw(talk, *POINT, path=out / "talk.png", mode="both"),
        "svg": modes.draw(talk, *POINT, path=out / "talk.svg", mode="both"),
        "gif": modes.draw(talk, *POINT, path=out / "sweep.gif", frames_dir=out / "frames"),
    }
    return out, paths


def _explain_steps(text):
    """``(name, expression, value)`` of each Wengert list line explain prints."""
    return re.findall(r"^  (w\d+) = (.+) = (\S+)$", text.split("\n\n")[0], flags=re.M)


def _explain_updates(text):
    """``(bar, total)`` of each ``u_bar += ...`` line explain prints, in sweep order."""
    return re.findall(r"^    (\S+)_bar \+= .*-> \S+_bar = (.+)$", text, flags=re.M)


# ---- the talk's example, by hand ---------------------------------------------------------------------

def test_talk_nodes_are_the_wengert_list_of_explain():
    g = graph_of(talk, *POINT)
    text = modes.explain(talk, *POINT)
    assert [n.name for n in g.nodes] == ["x", "y", "z", "w1", "w2", "w3", "w4"]
    assert [n.label for n in g.nodes] == ["x", "y", "z", "w1", "w2", "w3", "V"]
    assert [n.kind for n in g.nodes] == ["input"] * 3 + ["step"] * 3 + ["output"]
    steps = [(n.name, n.expr, _fmt(n.value)) for n in g.nodes[3:]]
    assert steps == _explain_steps(text)
    assert [n.expr for n in g.nodes[3:]] == ["x * y", "x + y", "w2 * z", "w1 + w3"]
    assert [n.value for n in g.nodes] == [1.0, -3.0, 2.0, -3.0, -2.0, -4.0, -7.0]


def test_talk_edges_carry_the_local_partials():
    x, y, z = POINT
    g = graph_of(talk, *POINT)
    got = {(g.nodes[e.out].label, g.nodes[e.arg].label): (e.name, e.formula, float(e.value)) for e in g.edges}
    assert got == {
        ("w1", "x"): ("∂w1/∂x", "y", y),
        ("w1", "y"): ("∂w1/∂y", "x", x),
        ("w2", "x"): ("∂w2/∂x", "1", 1.0),
        ("w2", "y"): ("∂w2/∂y", "1", 1.0),
        ("w3", "w2"): ("∂w3/∂w2", "z", z),
        ("w3", "z"): ("∂w3/∂z", "w2", x + y),
        ("V", "w1"): ("∂V/∂w1", "1", 1.0),
        ("V", "w3"): ("∂V/∂w3", "1", 1.0),
    }
    texts = {e.text for e in g.edges}
    assert {"∂w1/∂x = y = -3", "∂w3/∂w2 = z = 2", "∂w3/∂z = w2 = -2", "∂V/∂w1 = 1"} <= texts


def test_talk_bars_and_tangents_by_hand():
    x, y, z = POINT
    g = graph_of(talk, *POINT)
    bars = {n.label: float(n.bar) for n in g.nodes}
    # dV/dx = y + z, dV/dy = x + z, dV/dz = x + y; w1_bar = w3_bar = 1, w2_bar = z.
    assert bars == {"x": y + z, "y": x + z, "z": x + y, "w1": 1.0, "w2": z, "w3": 1.0, "V": 1.0}
    assert (bars["x"], bars["y"], bars["z"]) == (-1.0, 3.0, -2.0)
    tangents = {n.label: float(n.tangent) for n in g.nodes}  # along e_0 = d/dx
    assert tangents == {"x": 1.0, "y": 0.0, "z": 0.0, "w1": y, "w2": 1.0, "w3": z, "V": y + z}
    assert g.direction_label == "e₀ = d/dx"
    along_z = graph_of(talk, *POINT, direction=2)
    assert float(along_z.nodes[-1].tangent) == x + y and along_z.direction_label == "e₂ = d/dz"
    mixed = graph_of(talk, *POINT, direction=[1.0, 1.0, 1.0])
    assert float(mixed.nodes[-1].tangent) == (y + z) + (x + z) + (x + y)


def test_talk_sweep_is_one_update_per_edge_in_explains_order():
    g = graph_of(talk, *POINT)
    text = modes.explain(talk, *POINT)
    assert len(g.updates) == len(g.edges) == 8  # x*y, x+y, w2*z, w1+w3: two arguments each
    assert [(g.nodes[u.arg].name, _fmt(u.total)) for u in g.updates] == _explain_updates(text)
    assert g.updates[0].text == "w1_bar += ∂V/∂w1 * V_bar = 1 * 1 = 1  ->  w1_bar = 1"
    assert g.updates[-1].text == "y_bar += ∂w1/∂y * w1_bar = 1 * 1 = 1  ->  y_bar = 3"
    assert sorted(u.edge for u in g.updates) == list(range(8))  # every edge swept once
    # Bars part-way through: after the first four updates x and y have received nothing yet.
    after4 = dict(zip((n.label for n in g.nodes), g.bars_after(4)))
    assert after4 == {"x": 0.0, "y": 0.0, "z": -2.0, "w1": 1.0, "w2": 2.0, "w3": 1.0, "V": 1.0}


# ---- files ---------------------------------------------------------------------------------------

def test_talk_files_have_the_right_headers(talk_files):
    out, paths = talk_files
    assert paths["png"].read_bytes()[:8] == PNG
    svg = paths["svg"].read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert paths["gif"].read_bytes()[:6] == GIF
    for p in paths.values():
        assert p.stat().st_size > 1000


def test_svg_shows_the_labels_of_the_wengert_list(talk_files):
    _, paths = talk_files
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", paths["svg"].read_text()))
    for label in ["x", "y", "z", "w₁ = x * y", "w₂ = x + y", "w₃ = w₂ * z", "V = w₁ + w₃",
                  "∂w₁/∂x = y = -3", "∂w₃/∂w₂ = z = 2", "∂w₃/∂z = w₂ = -2", "∂V/∂w₁ = 1",
                  # bars and dots as combining accents (U+0304, U+0307)
                  "x\u0304 = -1", "y\u0304 = 3", "z\u0304 = -2", "w\u0307\u2081 = -3", "V\u0307 = -1"]:
        assert label in texts, label


def test_talk_animation_has_one_frame_per_update(talk_files):
    Image = pytest.importorskip("PIL.Image")
    out, paths = talk_files
    with Image.open(paths["gif"]) as gif:
        assert gif.n_frames == 8
    frames = sorted((out / "frames").iterdir())
    assert [p.name for p in frames] == [f"frame_{k:03d}.png" for k in range(1, 9)]
    assert all(p.read_bytes()[:8] == PNG for p in frames)


def test_vector_input(tmp_path):
    v = np.array([1.0, 2.0, 3.0])
    g = graph_of(vector, v)
    assert [n.expr for n in g.nodes] == ["v", "sin(v)", "w1 * v", "sum(w2, axis=None, keepdims=False)"]
    by_edge = {(g.nodes[e.out].label, g.nodes[e.arg].label): e for e in g.edges}
    np.testing.assert_allclose(by_edge["w1", "v"].value, np.cos(v))
    assert by_edge["w1", "v"].formula == "cos(v)"
    np.testing.assert_allclose(by_edge["w2", "v"].value, np.sin(v))
    assert by_edge["V", "w2"].value is None  # sum: a JVP/VJP rule, not one number
    # v_bar = sin(v) + v cos(v), reached in two updates (the running total is the gradient).
    np.testing.assert_allclose(g.nodes[0].bar, np.sin(v) + v * np.cos(v))
    np.testing.assert_allclose([u.total for u in g.updates if u.arg == 0][-1], modes.grad(vector)(v))
    np.testing.assert_allclose(g.nodes[0].tangent, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(g.nodes[-1].tangent, np.sin(1.0) + np.cos(1.0))
    path = modes.draw(vector, v, path=tmp_path / "vector.png", mode="both")
    assert path.read_bytes()[:8] == PNG


def test_sin_exp_chain(tmp_path):
    x = 0.5
    g = graph_of(chain, x)
    assert [n.expr for n in g.nodes] == ["x", "sin(x)", "exp(w1)", "sin(w2)", "exp(w3)"]
    assert [e.formula for e in g.edges] == ["cos(x)", "w2", "cos(w2)", "V"]  # exp's partial is exp
    w1 = np.sin(x)
    w2 = np.exp(w1)
    w3 = np.sin(w2)
    dv = np.exp(w3) * np.cos(w2) * w2 * np.cos(x)
    assert g.nodes[0].bar == pytest.approx(dv, rel=1e-14)
    assert g.nodes[-1].tangent == pytest.approx(dv, rel=1e-14)
    path = modes.draw(chain, x, path=tmp_path / "chain.svg", mode="forward")
    assert "<svg" in path.read_text()


def test_thirty_nodes_layout_and_picture(tmp_path):
    g = graph_of(thirty, 0.3, 0.7)
    assert len(g.nodes) == 30
    lay = g.layout
    assert all(lay.layer[e.arg] < lay.layer[e.out] for e in g.edges)  # every edge points up
    assert lay.layer[:2] == [0, 0] and lay.layer[g.output] == max(lay.layer)
    for layer in set(lay.layer):  # boxes on one layer never overlap
        xs = sorted(x for x, l in zip(lay.x, lay.layer) if l == layer)
        assert all(b - a >= 1 - 1e-9 for a, b in zip(xs, xs[1:]))
    np.testing.assert_allclose([float(n.bar) for n in g.nodes[:2]], modes.grad(thirty, argnum=(0, 1))(0.3, 0.7))
    path = modes.draw(thirty, 0.3, 0.7, path=tmp_path / "thirty.png")
    assert path.read_bytes()[:8] == PNG


def test_containers_and_conditions(tmp_path):
    def f(p, c):
        return np.sum(np.where(p["a"] > 0, p["a"] * c, c)) + p["b"]

    g = graph_of(f, {"a": np.array([1.0, -1.0]), "b": 2.0}, 3.0)
    assert [n.label for n in g.nodes[:3]] == ["p['a']", "p['b']", "c"]
    path = modes.draw(f, {"a": np.array([1.0, -1.0]), "b": 2.0}, 3.0, path=tmp_path / "c.png", mode="both")
    assert path.read_bytes()[:8] == PNG


# ---- the layout -----------------------------------------------------------------------------------

def test_layout_talk_has_its_one_unavoidable_crossing():
    # x and y both feed w1 and w2 (a K_{2,2}): one crossing however the layer is ordered.
    lay = graph_of(talk, *POINT).layout
    assert lay.crossings == 1
    assert lay.layer == [0, 0, 0, 1, 1, 2, 3]


def test_layout_barycentres_remove_crossings():
    # Inputs 0, 1; node 2 uses 1, node 3 uses 0: Wengert order crosses, the barycentres do not.
    assert _crossings([[0, 1], [2, 3]], [[3], [2], [], []]) == 1
    lay = layered(4, [(1, 2), (0, 3)])
    assert lay.crossings == 0
    assert (lay.x[2] > lay.x[3]) == (lay.x[1] > lay.x[0])


def test_layout_long_edges_get_dummy_points():
    lay = layered(4, [(0, 1), (1, 2), (0, 3), (2, 3)], top=3)
    assert lay.layer == [0, 1, 2, 3]
    assert len(lay.routes[2]) == 4  # 0 -> 3 crosses layers 1 and 2
    with pytest.raises(ValueError, match="cycle"):
        layered(2, [(0, 1), (1, 0)])


# ---- errors -------------------------------------------------------------------------------------

def test_errors(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.gif.*'\.jpg'"):
        modes.draw(talk, *POINT, path=tmp_path / "g.jpg")
    with pytest.raises(ValueError, match="no suffix"):
        modes.draw(talk, *POINT, path=tmp_path / "g")
    with pytest.raises(ValueError, match="mode must be one of 'reverse', 'forward', 'both', got 'sideways'"):
        modes.draw(talk, *POINT, path=tmp_path / "g.png", mode="sideways")
    with pytest.raises(ValueError, match=r"scalar, got shape \(2,\).*mode='forward'"):
        modes.draw(lambda v: np.sin(v), np.ones(2), path=tmp_path / "g.png")
    with pytest.raises(ValueError, match="animate=True writes the sweep as a .gif"):
        modes.draw(talk, *POINT, path=tmp_path / "g.png", animate=True)
    with pytest.raises(ValueError, match="reverse sweep; use mode='reverse' or 'both'"):
        modes.draw(talk, *POINT, path=tmp_path / "g.gif", mode="forward")
    with pytest.raises(ValueError, match="direction has 2 entries; f's inputs have 3"):
        modes.draw(talk, *POINT, path=tmp_path / "g.png", direction=[1.0, 0.0])
    with pytest.raises(ValueError, match="direction=3 picks the unit vector e_3"):
        modes.draw(talk, *POINT, path=tmp_path / "g.png", direction=3)
    with pytest.raises(ValueError, match="nothing to animate"):
        modes.draw(lambda x: 3.0, 1.0, path=tmp_path / "g.gif")
    assert not any(tmp_path.iterdir())  # nothing written


def test_too_many_nodes_says_how_many_and_points_to_explain(tmp_path):
    n = len(graph_of(wide, 0.5).nodes)
    assert n > MAX_NODES
    with pytest.raises(ValueError, match=rf"has {n} nodes \(1 inputs, {n - 1} steps\).*up to {MAX_NODES}"
                                         rf".*modes\.explain\(f, \*args\).*max_nodes={n}"):
        modes.draw(wide, 0.5, path=tmp_path / "g.png")
    assert "Wengert list" in modes.explain(wide, 0.5)


def test_forward_mode_draws_vector_outputs(tmp_path):
    path = modes.draw(lambda v: np.sin(v) * 2.0, np.ones(2), path=tmp_path / "g.png", mode="forward")
    assert path.read_bytes()[:8] == PNG


def test_headless_without_pyplot(tmp_path):
    code = ("import sys, modes\n"
            f"modes.draw(lambda x, y: x * y + y, 2.0, 3.0, path={str(tmp_path / 'g.png')!r})\n"
            "print('matplotlib.pyplot' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=env, cwd=Path(__file__).resolve().parent.parent)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG


def test_without_pillow_the_sweep_is_written_as_frames(tmp_path, monkeypatch):
    from matplotlib.animation import PillowWriter

    monkeypatch.setattr(PillowWriter, "isAvailable", classmethod(lambda cls: False))
    with pytest.warns(UserWarning, match="Pillow is not installed, so no GIF; wrote 8 frames"):
        out = modes.draw(talk, *POINT, path=tmp_path / "sweep.gif")
    assert out == tmp_path / "sweep_frames" and not (tmp_path / "sweep.gif").exists()
    assert len(list(out.glob("frame_*.png"))) == 8
