"""The package's layering: the page is a thin layer over a library that runs headless.

Only ``gru_viz/dashboard/`` may import streamlit; the rest of gru_viz must import (and train)
with streamlit absent; ``app.py`` only starts the page; benchmarks never import from tests/.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gru_viz"
DASHBOARD = PACKAGE / "dashboard"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (a function-level import counts too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


LIBRARY = sorted(p for p in PACKAGE.rglob("*.py") if DASHBOARD not in p.parents)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_dashboard_imports_streamlit(path):
    streamlit = {m for m in imported_modules(path) if m.split(".")[0] == "streamlit"}
    assert not streamlit, f"{path.relative_to(ROOT)} imports {streamlit}"


def test_the_guard_sees_an_import_inside_a_function(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    import streamlit.runtime as rt\n    return rt\n")
    assert "streamlit.runtime" in imported_modules(sneaky)


def test_the_library_imports_and_trains_with_streamlit_absent():
    # A meta-path finder that refuses streamlit, in a fresh interpreter: every library module
    # imports, and a run trains, probes, reports and exports without it.
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in LIBRARY
        if p.name not in ("__main__.py",)
    )
    script = f"""
import importlib, sys
class NoStreamlit:
    def find_spec(self, name, path=None, target=None):
        if name == "streamlit" or name.startswith("streamlit."):
            raise ImportError("streamlit is absent in this test")
sys.meta_path.insert(0, NoStreamlit())
for name in {modules!r}:
    importlib.import_module(name)
from gru_viz.config import RunConfig
from gru_viz.trainer import Trainer
from gru_viz.report import build_report
from gru_viz import export
trainer = Trainer(RunConfig(seq_len=8, hidden_size=4, batch_size=4, probe_every=2))
trainer.step(3)
assert "<html" in build_report(trainer)
assert export.metrics_csv(trainer).startswith("step,")
assert not any(m == "streamlit" or m.startswith("streamlit.") for m in sys.modules)
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_app_py_only_starts_the_page():
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 60
    assert imported_modules(ROOT / "app.py") <= {"gru_viz.dashboard", "gru_viz.dashboard.page"}


@pytest.mark.parametrize("path", sorted((ROOT / "bench").rglob("*.py")), ids=lambda p: p.name)
def test_benchmarks_never_import_from_tests(path):
    assert not {m for m in imported_modules(path) if m.split(".")[0] == "tests"}
