"""The resumable store: a rerun skips recorded trials; --force reruns; failures are retried."""

from __future__ import annotations

from pathlib import Path

from experiments.runner import PROFILES, Context, Method, timing_trial
from experiments.store import COLUMNS, Store, config_key, json_list, load_csv


def _ctx(tmp_path: Path, force: bool = False, machine: str = "m1") -> Context:
    return Context(tmp_path, PROFILES["tiny"], {"machine_id": machine, "code_version": "x"}, force=force)


def _trial(ctx: Context, calls: list, n: int = 1, fail: bool = False) -> list:
    def setup():  # noqa: ANN202
        calls.append(n)

        def g() -> float:
            if fail:
                raise RuntimeError("fails")
            return 2.0

        return {"f": lambda: 1.0, "g": g}, {"*": {"ops": 3}}

    return timing_trial(ctx, "exp", {"problem": "p", "n": n}, [Method("f", "plain"), Method("g", "reverse")],
                        setup)


def test_rerun_skips_recorded_and_force_reruns(tmp_path: Path) -> None:
    calls: list = []
    rows = _trial(_ctx(tmp_path), calls)
    assert calls == [1] and all(r["status"] == "ok" for r in rows)
    assert rows[1]["ratio_median"] > 0 and len(json_list(rows[1]["times"])) == 5
    # same configuration, same machine: resumed from the CSV, nothing runs
    rows2 = _trial(_ctx(tmp_path), calls)
    assert calls == [1]
    assert [r["t_median"] for r in rows2] == [r["t_median"] for r in rows]
    # a new configuration runs
    _trial(_ctx(tmp_path), calls, n=2)
    assert calls == [1, 2]
    # --force reruns and the newer rows win on reading
    _trial(_ctx(tmp_path, force=True), calls)
    assert calls == [1, 2, 1]
    df = load_csv(tmp_path / "exp.csv")
    assert len(df) == 4  # (f, g) x (n=1, n=2), duplicates collapsed
    raw = (tmp_path / "exp.csv").read_text().splitlines()
    assert len(raw) == 1 + 6  # appended incrementally, never rewritten
    # another machine does not resume this machine's rows
    _trial(_ctx(tmp_path, machine="m2"), calls)
    assert calls == [1, 2, 1, 1]


def test_failed_rows_are_retried(tmp_path: Path) -> None:
    calls: list = []
    rows = _trial(_ctx(tmp_path), calls, fail=True)
    assert {r["method"]: r["status"] for r in rows} == {"f": "ok", "g": "failed"}
    _trial(_ctx(tmp_path), calls, fail=False)
    assert calls == [1, 1]
    store = Store(tmp_path / "exp.csv", "m1")
    df = store.load()
    assert set(df["status"]) == {"ok"}


def test_store_schema_and_keys(tmp_path: Path) -> None:
    assert config_key({"b": 1, "a": 2}) == config_key({"a": 2, "b": 1})
    store = Store(tmp_path / "s.csv", "m")
    store.record([{"experiment": "e", "status": "ok", "config_key": "k", "times": [1.0, 2.0]}])
    assert store.is_done("k") and not store.is_done("other")
    df = load_csv(tmp_path / "s.csv")
    assert list(df.columns) == list(COLUMNS)
    assert json_list(df["times"].iloc[0]) == [1.0, 2.0]
    assert Store(tmp_path / "s.csv", "m").is_done("k")  # persisted
