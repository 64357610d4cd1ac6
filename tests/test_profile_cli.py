"""``python -m modes.profile``: a real subprocess on a module in tmp_path and on the repository's own
functions, and every bad input a one-line error with exit status 2 (most of those in-process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modes import profile

pytest.importorskip("pandas")

REPO = Path(__file__).resolve().parent.parent
PREFIX = "python -m modes.profile: error: "

MODULE = textwrap.dedent('''
    import numpy as np

    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    T = np.linspace(0.0, 1.0, 1000)

    def wave(x):
        return np.tanh(np.sin(x[0] * T) * np.exp(-x[1] * T) + x[0]) ** 2

    def pair(w, b):
        """Two inputs of different shapes, a tuple of two outputs."""
        return np.sum(w ** 2) + np.sum(b), np.tanh(w @ b)

    def scale(s, x):
        return np.sum(s * x)

    def broken(x):
        raise RuntimeError("broken on purpose,\\nover two lines")

    def no_float(x):
        return float(np.sum(x))

    class Model:
        @staticmethod
        def loss(x):
            return np.sum(x * x)

    NOT_A_FUNCTION = 3
''')


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    (tmp_path / "usermod.py").write_text(MODULE)
    return tmp_path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "modes.profile", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def table_methods(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("method "))
    end = next(i for i, line in enumerate(lines) if line.startswith("time: "))
    return [line.split("  ")[0] for line in lines[start + 1:end]]


# ---- subprocesses --------------------------------------------------------------------------------------
def test_cli_on_a_user_module_recommends_reverse_for_rosenbrock(module_dir):
    p = run_cli("usermod:rosen", "--shape", "1000", "--budget", "0.3", cwd=module_dir)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    lines = p.stdout.splitlines()
    assert lines[0] == "usermod:rosen: random float64 inputs of shape (1000,), uniform in [-1, 1), seed 0"
    assert table_methods(p.stdout) == ["f", 'grad(f, mode="forward")',
                                       'jacobian(f, mode="forward", chunk_size=125)', 'grad(f, mode="reverse")']
    assert [line for line in lines if line.startswith("recommendation:")][0].startswith(
        "recommendation: reverse -- reverse is ")
    assert lines[-1] == 'use: grad(f, mode="reverse")'


def test_cli_several_shapes_and_out_index(module_dir):
    p = run_cli("usermod:pair", "--shape", "3,40", "--shape", "40", "--out-index", "1", "--budget", "0.3",
                cwd=module_dir)
    assert p.returncode == 0, p.stderr
    assert "of shape (3, 40), (40,)" in p.stdout.splitlines()[0]
    assert "pair(float64 (3, 40), float64 (40,))[1] -> 3 outputs; n_in = 120 (argument 0)" in p.stdout
    assert 'jacobian(f, mode="reverse")' in table_methods(p.stdout)
    assert any(line.startswith("recommendation: ") for line in p.stdout.splitlines())


def test_cli_on_the_repositorys_own_function():
    p = run_cli("experiments.problems:rosenbrock", "--shape", "1000", "--budget", "0.3", "--seed", "3",
                cwd=REPO)
    assert p.returncode == 0, p.stderr
    assert "rosenbrock(float64 (1000,)) -> scalar" in p.stdout
    assert "recommendation: reverse -- " in p.stdout


# ---- main() in-process: the same command without the interpreter's start-up ----------------------------
def test_file_path_spec_from_another_folder(module_dir, tmp_path_factory, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "usermod", raising=False)
    assert profile.main([f"{module_dir / 'usermod.py'}:wave", "--shape", "2", "--budget", "0.3"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("recommendation:")][0].startswith(
        "recommendation: forward -- forward is ")
    assert table_methods(out)[1:] == ['jacobian(f, mode="forward")', 'jacobian(f, mode="forward", chunk_size=1)',
                                      'jacobian(f, mode="reverse")', 'jacobian(f, mode="reverse", chunk_size=125)']


def test_dtype_range_scalar_input_and_argnum(module_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(REPO)
    assert profile.main(["experiments/problems.py:speelpenning", "--shape", "30", "--dtype", "float32",
                         "--low", "0.5", "--high", "1.5", "--budget", "0.3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("experiments/problems.py:speelpenning: random float32 inputs of shape (30,), "
                          "uniform in [0.5, 1.5), seed 0\nspeelpenning(float32 (30,)) -> scalar")
    monkeypatch.chdir(module_dir)
    monkeypatch.syspath_prepend(str(module_dir))
    monkeypatch.delitem(sys.modules, "usermod", raising=False)
    assert profile.main(["usermod:scale", "--shape", "()", "--shape", "5", "--argnum", "0,1",
                         "--budget", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "scale(float, float64 (5,)) -> scalar; n_in = 6 (argument 0, 1)" in out
    assert 'grad(f, argnum=(0, 1), mode="reverse")' in table_methods(out)


@pytest.mark.parametrize("args, message", [
    (["usermod"], "expected package.module:function or path/to/file.py:function, got 'usermod'"),
    (["usermod:broken", "--shape", "3"], "broken failed on the given inputs: RuntimeError: broken on "
     "purpose, over two lines (inputs of shape (3,)"),
])
def test_cli_errors_are_one_line_with_exit_2(module_dir, args, message):
    p = run_cli(*args, cwd=module_dir)
    assert p.returncode == 2
    assert len(p.stderr.splitlines()) == 1, p.stderr
    assert p.stderr.startswith(PREFIX + message)
    assert "Traceback" not in p.stdout + p.stderr


# ---- errors, in-process --------------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["usermod.rosen", "--shape", "3"], "expected package.module:function or path/to/file.py:function"),
    ([":rosen", "--shape", "3"], "expected package.module:function"),
    (["usermod:", "--shape", "3"], "expected package.module:function"),
    (["nosuchmodule:f", "--shape", "3"], "cannot import module 'nosuchmodule': no module named 'nosuchmodule'"),
    (["usermod.sub:f", "--shape", "3"], "cannot import module 'usermod.sub'"),
    (["usermod:nope", "--shape", "3"], "'usermod' has no attribute 'nope'; it defines Model, broken, no_float, pair, "
     "rosen, scale, wave"),
    (["usermod:Model.nope", "--shape", "3"], "'usermod' has no attribute 'Model.nope'"),
    (["usermod:NOT_A_FUNCTION", "--shape", "3"], "'usermod:NOT_A_FUNCTION' is a int, not a function"),
    (["missing.py:f", "--shape", "3"], "no file 'missing.py'"),
    (["usermod:rosen"], "give the shape of each argument of the function"),
    (["usermod:rosen", "--shape", "10,a"], "argument --shape: bad shape '10,a': expected positive integers"),
    (["usermod:rosen", "--shape", "10,0"], "argument --shape: bad shape '10,0': every dimension must be at "
     "least 1"),
    (["usermod:rosen", "--shape", "-3"], "argument --shape: bad shape '-3': every dimension must be at least 1"),
    (["usermod:rosen", "--shape", "100000,100000"], "argument --shape: bad shape '100000,100000': "
     "10,000,000,000 entries is more than 100,000,000"),
    (["usermod:rosen", "--shape", "3", "--shape", "4"], "rosen(x) takes 1 required argument(s) but 2 --shape "
     "option(s) were given"),
    (["usermod:pair", "--shape", "3"], "pair(w, b) takes 2 required argument(s) but 1 --shape option(s)"),
    (["usermod:rosen", "--shape", "3", "--argnum", "1"], "--argnum 1 names no argument"),
    (["usermod:rosen", "--shape", "3", "--argnum", "x"], "argument --argnum: bad --argnum 'x'"),
    (["usermod:rosen", "--shape", "3", "--out-index", "1"], "out_index=1 given, but rosen returned float64"),
    (["usermod:rosen", "--shape", "3", "--budget", "0"], "--budget must be a positive number of seconds"),
    (["usermod:rosen", "--shape", "3", "--max-seconds", "nan"], "--max-seconds must be a positive number"),
    (["usermod:rosen", "--shape", "3", "--low", "1", "--high", "1"], "--low 1.0 and --high 1.0: need finite"),
    (["usermod:rosen", "--shape", "3", "--blas-threads", "0"], "argument --blas-threads: bad --blas-threads '0'"),
    (["usermod:rosen", "--shape", "3", "--dtype", "int8"], "argument --dtype: invalid choice: 'int8'"),
    (["usermod:rosen", "--shape", "()"], "rosen failed on the given inputs: TypeError"),
    (["usermod:no_float", "--shape", "4", "--budget", "0.2"], "no gradient of no_float could be measured, in "
     "either mode: both failed with TracedConversionError"),
])
def test_bad_inputs_are_one_line_errors(module_dir, monkeypatch, capsys, args, message):
    monkeypatch.chdir(module_dir)
    monkeypatch.syspath_prepend(str(module_dir))
    monkeypatch.delitem(sys.modules, "usermod", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        profile.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(PREFIX), err
    assert message in err, err


def test_file_spec_imports_neighbours_and_class_attributes(module_dir, monkeypatch):
    (module_dir / "uses_neighbour.py").write_text("from usermod import rosen\n\ndef f(x):\n    return rosen(x)\n")
    monkeypatch.delitem(sys.modules, "usermod", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    f = profile.load(f"{module_dir / 'uses_neighbour.py'}:f")
    assert f.__name__ == "f"
    monkeypatch.syspath_prepend(str(module_dir))
    assert profile.load("usermod:Model.loss").__name__ == "loss"
    (module_dir / "bad_syntax.py").write_text("def f(:\n")
    monkeypatch.chdir(module_dir)
    with pytest.raises(profile.SpecError, match=r"importing 'bad_syntax\.py' raised SyntaxError"):
        profile.load("bad_syntax.py:f")


def test_shapes_and_inputs():
    assert [profile.parse_shape(s) for s in ("1000", "10,20", "10x20", "(3, 4)", "5,", "()", "scalar")] == \
        [(1000,), (10, 20), (10, 20), (3, 4), (5,), (), ()]
    xs = profile.make_inputs([(3,), (2, 2), ()], "float32", seed=1, low=0.5, high=1.5)
    assert [getattr(x, "shape", None) for x in xs[:2]] == [(3,), (2, 2)]
    assert all(x.dtype.name == "float32" for x in xs[:2]) and xs[2].dtype.name == "float32"
    assert all(((0.5 <= x) & (x < 1.5)).all() for x in xs)
    again = profile.make_inputs([(3,), (2, 2), ()], "float32", seed=1, low=0.5, high=1.5)
    assert all((a == b).all() for a, b in zip(xs, again))
    assert isinstance(profile.make_inputs([()], "float64", 0, -1.0, 1.0)[0], float)
