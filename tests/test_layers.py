"""The layout's rules: the import layers (import-linter's contracts in .importlinter) and no private helper reached across modules."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "useraccount", "chat", "backend")


def test_the_import_layers_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(ROOT / ".importlinter")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _application_modules():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_no_module_imports_another_modules_private_names():
    reached = []
    for path in _application_modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in APPS):
                reached += [f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
                            for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert reached == []


# Settings are one module grouped by section, by design (docs/architecture.md), not a module of logic.
LONG_BY_DESIGN = {"backend/settings.py"}


def test_no_application_module_is_over_400_lines():
    long = [f"{name}: {lines}" for path in _application_modules()
            if (name := str(path.relative_to(ROOT))) not in LONG_BY_DESIGN
            and (lines := len(path.read_text().splitlines())) > 400]
    assert long == []
