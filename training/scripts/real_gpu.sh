#!/usr/bin/env bash
# The real-scan GPU recipe (training/presets/real_gpu.yaml; docs/training_real.md): SFT and SceneDPO under torchrun
# on this node's GPUs (or across nodes), then every official evaluation set of the data folder, one by one.
# Usage: training/scripts/real_gpu.sh DATA TOWER LLM RUN [GPUS_PER_NODE]
#   DATA  from `python -m training.prepare scenes --source scannet ... --encoder TOWER --out DATA`
#   TOWER / LLM  local Hugging Face folders of the frozen vision tower and the pretrained LLM
#   across nodes: NNODES=2 NODE_RANK=0 (1 on the second node) MASTER_ADDR=first-node-host [MASTER_PORT=29500],
#   the same command on every node, RUN on a filesystem all nodes share.
set -euo pipefail
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0;; esac
[ $# -ge 4 ] || { usage >&2; exit 2; }
D=$1 TOWER=$2 LLM=$3 R=$4
PY=${PYTHON:-python3}
N=${5:-$($PY -c 'import torch; print(max(1, torch.cuda.device_count()))')}
if [ -n "${NNODES:-}" ]; then
  L=($PY -m torch.distributed.run --nnodes "$NNODES" --node_rank "$NODE_RANK" --nproc_per_node "$N"
     --master_addr "$MASTER_ADDR" --master_port "${MASTER_PORT:-29500}")
else
  L=($PY -m torch.distributed.run --standalone --nproc_per_node "$N")
fi
P=(--preset real_gpu --data "$D")
"${L[@]}" training/train.py --stage 2 "${P[@]}" --run-dir "$R/sft" --encoder "$TOWER" --llm "$LLM"
"${L[@]}" training/train.py --stage 3 "${P[@]}" --run-dir "$R/dpo" --init "$R/sft/model"
[ "${NODE_RANK:-0}" = 0 ] || exit 0
for f in "$D"/eval/*.jsonl; do  # sqa3d_test, scanqa_val, scan2cap_val, beacon3d_test, ... (sets without answers are empty)
  [ -s "$f" ] || continue
  $PY training/evaluate.py "${P[@]}" --model "$R/dpo/model" --sft "$R/sft/model" --heldout "$f" \
    --out "$R/eval_$(basename "$f" .jsonl)"
done
