"""``bullet-trade live``: configuration precedence and the in-process simulator."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("DEFAULT_BROKER", "RUNTIME_DIR")}
    full.update({"NO_COLOR": "1", **env})
    return subprocess.run([sys.executable, "-m", "bullet_trade", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120, check=False)


def test_env_file_beats_process_env_and_dotenv_flags_beat_all(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DEFAULT_BROKER=qmt\nRUNTIME_DIR=from-dotenv\n")
    (tmp_path / "live.env").write_text("DEFAULT_BROKER=sim\nRUNTIME_DIR=from-env-file\n")
    strategy = ROOT / "strategies" / "buy_and_hold_etf.py"
    args = ["live", str(strategy), "--clock", "replay", "--start", "2025-06-03 09:00:00",
            "--days", "1", "--env-file", "live.env"]
    proc = run_cli(args, tmp_path, {"DEFAULT_BROKER": "qmt-remote"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "510300.XSHG" in proc.stdout
    assert (tmp_path / "from-env-file" / "live" / "g.pkl").exists()
    assert (tmp_path / "from-env-file" / "live" / "live_state.json").exists()

    proc = run_cli([*args, "--runtime-dir", "from-flag", "--broker", "sim"], tmp_path, {})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "from-flag" / "live" / "g.pkl").exists()


def test_dotenv_is_used_when_nothing_else_is_set(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DEFAULT_BROKER=qmt\n")
    strategy = ROOT / "strategies" / "demo_strategy.py"
    proc = run_cli(["live", str(strategy), "--clock", "replay", "--days", "1"], tmp_path, {})
    assert proc.returncode != 0
    assert "qmt" in proc.stderr  # DEFAULT_BROKER=qmt from .env was used (and needs miniQMT)
