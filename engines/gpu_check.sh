#!/usr/bin/env bash
# One short (< 5 min) engine check on a machine with an NVIDIA GPU, run from a copy of the repository:
#   bash engines/gpu_check.sh                 # figures in $OUT (default runs/gpu_check)
# Uses the machine's python3 (override with PYTHON=...), no .venv. Installs only what is missing, with
# `pip install --user`, first from a local wheel folder (WHEELS=dir, or runs/wheels when present: the device may
# have no network), and carries on without what it could not install (NO_INSTALL=1 skips installing).
# Extra arguments go to engines/gpu_check.py. Writes $OUT/gpu_figures.json (one JSON line) + $OUT/manifests/.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-runs/gpu_check}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
export OUT PYTHONPATH="leovl_ros${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

echo "== machine"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$PY" --version
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "FAILED: torch is not importable with $PY; nothing can be checked" | tee "$OUT/gpu_check_error.txt"
    exit 1
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"

# module:pip-name pairs. Required: numpy, yaml (leovl_ros.model.config). Optional: the rest.
need=""
for pair in numpy:numpy yaml:pyyaml safetensors:safetensors onnx:onnx onnxruntime:onnxruntime tensorrt:tensorrt; do
    mod="${pair%%:*}"; pkg="${pair##*:}"
    if "$PY" -c "import $mod" 2>/dev/null; then echo "have   $mod"; else echo "MISSING $mod"; need="$need $pkg"; fi
done
[ -n "${NO_INSTALL:-}" ] && need=""  # NO_INSTALL=1: check with what is there (e.g. a managed venv)
WHEELS="${WHEELS:-}"
[ -z "$WHEELS" ] && [ -d runs/wheels ] && WHEELS=runs/wheels
user=()
[ "$("$PY" -c 'import sys; print(int(sys.prefix != sys.base_prefix))')" = 0 ] && user=(--user)  # not in a venv
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1  # --user installs next to a distro Python
pip_install() {  # $1: package. Local wheel folder first, then the index (fails fast where there is no network).
    if [ -n "$WHEELS" ] && timeout 60 "$PY" -m pip install ${user[@]+"${user[@]}"} -q --no-index --find-links "$WHEELS" "$1" \
        2>/dev/null; then return 0; fi
    timeout 45 "$PY" -m pip install ${user[@]+"${user[@]}"} -q --retries 0 --timeout 10 "$1"
}
for pkg in $need; do
    echo "== pip install $pkg"
    if pip_install "$pkg"; then echo "installed $pkg"; else echo "could NOT install $pkg (continuing without it)"; fi
done

echo "== engines/gpu_check.py"
timeout 300 "$PY" engines/gpu_check.py --out "$OUT" "$@"
rc=$?
[ $rc -eq 124 ] && echo "gpu_check.py hit its 300 s limit; $OUT/gpu_figures.json holds the steps that finished"
ls -l "$OUT" "$OUT/manifests" 2>/dev/null
exit $rc
