#!/usr/bin/env bash
# Stages 2-3 of the GPU recipe (training/presets/gpu.yaml) and the held-out predictions on ONE GPU, each stage
# capped by a time limit; data preparation and stage 1 run on CPU first (training/recipe.py's first steps).
# Usage: training/scripts/gpu.sh DATA ENCODER RUN [SFT_SECONDS] [DPO_SECONDS]
# The SFT model and the blind baseline train side by side on the one GPU; scoring runs later (evaluate.py reuses
# RUN/eval_*/main_predictions.json).
set -euo pipefail
D=$1 E=$2 R=$3 T=${4:-240} TD=${5:-60}
P=(--preset gpu --data "$D")
log() { tr '\r' '\n' | grep -E "step/s|q/s\]$|Error|error|Traceback" | tail -n 3; }
python3 training/train.py --stage 2 "${P[@]}" --run-dir "$R/blind" --encoder "$E" --blind --time-limit "$T" 2>&1 | log &
python3 training/train.py --stage 2 "${P[@]}" --run-dir "$R/sft" --encoder "$E" --time-limit "$T" 2>&1 | log
wait
python3 training/evaluate.py --predict-only "${P[@]}" --model "$R/blind/model" --out "$R/eval_blind" 2>&1 | log &
python3 training/evaluate.py --predict-only "${P[@]}" --model "$R/sft/model" --out "$R/eval_sft" 2>&1 | log &
python3 training/train.py --stage 3 "${P[@]}" --run-dir "$R/dpo" --init "$R/sft/model" --time-limit "$TD" 2>&1 | log
python3 training/evaluate.py --predict-only "${P[@]}" --model "$R/dpo/model" --out "$R/eval_dpo" 2>&1 | log
wait
