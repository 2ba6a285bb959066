"""The console script, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def archarena(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"ARCHARENA_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, check=False
    )


def test_flops_prints_published_counts(tmp_path: Path) -> None:
    done = archarena("flops", "--preset", "resnet18", home=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["params"] == 11_689_512  # torchvision/timm resnet18
    assert out["flops"] == 2 * out["macs"] and abs(out["macs"] - 1.82e9) / 1.82e9 < 0.01
    assert sum(out["breakdown"].values()) == out["macs"]


def test_flops_reads_a_spec_file_and_names_bad_fields(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"preset": "tiny_vit_digits", "overrides": {}}))
    done = archarena("flops", str(spec), "--input", "1x8x8", "--classes", "10", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["breakdown"]["attention"] > 0
    spec.write_text(json.dumps({"family": "resnet", "widths": [-4]}))
    done = archarena("flops", str(spec), home=tmp_path)
    assert done.returncode == 2 and "widths" in done.stderr


def test_token_is_printed_once_and_stored_hashed(tmp_path: Path) -> None:
    assert archarena("migrate", home=tmp_path).returncode == 0
    done = archarena("token", "create", "carol", home=tmp_path)
    token = done.stdout.strip()
    assert done.returncode == 0 and token.startswith("aa_")
    import sqlite3

    with sqlite3.connect(tmp_path / "archarena.sqlite3") as db:
        stored = [row[0] for row in db.execute("select token_hash from api_tokens")]
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64
    assert archarena("token", "create", "bad name!", home=tmp_path).returncode != 0
