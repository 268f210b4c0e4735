"""The helper as a file: Python 3.6 syntax, standard library only, shipped in the package
identical to ``helpers/``, and exported by ``bullet-trade helper export``."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helper_kit import HELPER_PATH, REPO

from bullet_trade.cli.main import main
from bullet_trade.jq_helper import HELPER_FILENAME, helper_source

HELPER_FILES = [HELPER_PATH, REPO / "helpers" / "jq_remote_strategy_example.py"]
STDLIB_ONLY_ALLOWED = {"pandas"}  # optional, imported under try/except


def _vermin() -> str:
    found = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    assert Path(found).exists(), "vermin is a dev dependency: pip install -e '.[dev]'"
    return found


def test_helpers_parse_as_python_3_6() -> None:
    result = subprocess.run(
        [_vermin(), "--target=3.6-", "--no-tips", "--violations", str(REPO / "helpers")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", HELPER_FILES, ids=lambda p: p.name)
def test_grammar_of_python_3_6(path: Path) -> None:
    """Belt and braces next to vermin: constructs 3.6 cannot parse at all."""
    tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 6))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.NamedExpr), f"walrus at line {node.lineno}"
        if isinstance(node, ast.ImportFrom):
            assert node.module != "__future__" or all(
                a.name != "annotations" for a in node.names
            ), "from __future__ import annotations needs 3.7"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            assert not node.args.posonlyargs, f"positional-only parameters at line {node.lineno}"


def test_helper_imports_only_the_standard_library() -> None:
    tree = ast.parse(HELPER_PATH.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    third_party = {n for n in names if n not in sys.stdlib_module_names}
    assert third_party <= STDLIB_ONLY_ALLOWED


def test_repository_copy_matches_the_shipped_file() -> None:
    assert HELPER_PATH.read_bytes() == helper_source(), (
        "helpers/bullet_trade_jq_remote_helper.py differs from "
        "bullet_trade/jq_helper/bullet_trade_jq_remote_helper.py (the canonical file): copy it"
    )


def test_cli_export_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "upload"
    assert main(["helper", "export", "--out", str(out)]) == 0
    written = out / HELPER_FILENAME
    assert written.read_bytes() == helper_source()
    assert str(written) in capsys.readouterr().out


def test_cli_export_reports_unwritable_target(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["helper", "export", "--out", str(blocker / "sub")]) == 1
