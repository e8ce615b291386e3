"""The engine CLIs as users run them: export prints one JSON line and passes; build_trt says why it cannot run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from leovl_ros.agent.paths import REPO_ROOT
from leovl_ros.runtime.manifest import read_manifest

pytest.importorskip("onnxruntime")
SMALL = ["--fresh", "--image-size", "32", "48", "--tokens", "1", "8", "32", "--bins", "1", "4", "8", "--max-batch", "2"]


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "engines" / script), *args], capture_output=True,
                          text=True, timeout=240, cwd=REPO_ROOT)


def test_export_cli_writes_checked_onnx_files_and_one_json_line(tmp_path):
    proc = _run("export.py", *SMALL, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["ok"] and set(report["export"]) == {"image_encoder", "cfg_encoder"}
    for name, entry in report["export"].items():
        assert entry["max_abs_err"] <= 1e-4 and entry["exported"] == f"{name}.onnx missing"
        assert read_manifest(tmp_path / f"{name}.onnx").file_sha256 == entry["sha256"]
    shapes = [(c["N"], c["L"]) for c in report["export"]["cfg_encoder"]["cases"]]
    assert shapes == [(1, 1), (8, 4), (32, 8), (750, 10)]


def test_build_trt_cli_reports_why_it_cannot_build(tmp_path):
    try:
        import tensorrt  # noqa: F401
        import torch

        if torch.cuda.is_available():
            pytest.skip("TensorRT and CUDA present: the GPU tests cover building")
    except ImportError:
        pass
    proc = _run("build_trt.py", *SMALL, "--which", "cfg_encoder", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "no usable backend: tensorrt: " in json.loads(proc.stdout.strip())["error"]
