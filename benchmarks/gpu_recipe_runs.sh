#!/bin/bash
# The recipe runs of issue 20 made on a lent GPU (one H200), in one command: the world, UserU versions 3 and 4 and
# the text cache come from the CPU machine as artifacts/gpu_bundle.tgz (64 MiB travel; built there with
#   cd artifacts && tar czf gpu_bundle.tgz default/world-*/{spec.json,*.jsonl,userU_stats-*.json} text_cache
# ); every run is benchmarks/recipe_search.py with its own results file, so that runs
# in parallel never interleave their lines. A 4-step smoke runs first and the batch only starts if it passes.
#
#   run on the device:  bash benchmarks/gpu_recipe_runs.sh "$OUT"
set -u
OUT=${1:?usage: gpu_recipe_runs.sh OUT_DIR}
mkdir -p artifacts "$OUT"
tar xzf artifacts/gpu_bundle.tgz -C artifacts
# the pinned transformers and the packages it needs, when the machine has older ones (a device with transformers
# 5.17 lacks the `cache` output of 5.24): artifacts/wheels, if carried, holds them, downloaded on the CPU machine
# with `pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 ...`
if ls artifacts/wheels/*.whl > /dev/null 2>&1; then
  python -m pip install -q --no-deps --no-index --target /tmp/pinned artifacts/wheels/*.whl 2>&1 | tail -2
fi
export PYTHONPATH=/tmp/pinned:$PWD HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python -c "import torch, transformers, peft; print(torch.__version__, transformers.__version__, torch.cuda.is_available())"
C1="numeric_init_scale=0.05 readout=anchor+prefix head=residual"
go() {  # name, group, limit in seconds, overrides...
  local name=$1 group=$2 limit=$3; shift 3
  timeout "$limit" python benchmarks/recipe_search.py --name "$name" --group "$group" \
    --results "$OUT/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').jsonl" "$@" > "$OUT/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').log" 2>&1
  echo "$(date +%T) $name rc=$?"
}
start=$(date +%s)
go "gpu smoke" "gpu smoke" 200 --steps 4 eval_every=2 $C1
tail -3 "$OUT/gpu_smoke.log"
grep -q '"error": null' "$OUT/gpu_smoke.jsonl" || { echo "smoke failed"; cat "$OUT/gpu_smoke.log" | tail -30; exit 1; }
left=$(( ${LIMIT:-560} - ($(date +%s) - start) - 20 ))
echo "batch limit ${left}s"
go "C1 (seed 1)" C1 $left train_seed=1 $C1 &
go "C1 (seed 2)" C1 $left train_seed=2 $C1 &
go "today, seed 0 (common held-out users)" v6-baseline $left train_seed=0 &
go "today, seed 1 (common held-out users)" v6-baseline $left train_seed=1 &
go "C1 + lr 5e-4" "C1 + lr 5e-4" $left $C1 lr=0.0005 &
go "C1 + lr floor 0.1" "C1 + lr floor 0.1" $left $C1 lr_floor=0.1 &
go "C1 + batch_topics 2" "C1 + batch_topics 2" $left $C1 batch_topics=2 &
go "C1 + ntp_weight 0.3" "C1 + ntp_weight 0.3" $left $C1 ntp_weight=0.3 &
go "C1 + emb_dim 128" "C1 + emb_dim 128" $left $C1 emb_dim=128 &
go "C1, 3000 steps" "C1, 3000 steps" $left --steps 3000 eval_every=500 $C1 &
go "C1, 6000 steps" "C1, 6000 steps" $left --steps 6000 eval_every=1000 $C1 &
wait
cat "$OUT"/*.jsonl > "$OUT/runs.all"; for f in "$OUT"/*.log; do echo "== $f"; tail -5 "$f"; done > "$OUT/logs.all"
rm "$OUT"/*.jsonl "$OUT"/*.log; mv "$OUT/runs.all" "$OUT/gpu_runs.jsonl"; mv "$OUT/logs.all" "$OUT/gpu_runs.log"
grep -c '"error": null' "$OUT/gpu_runs.jsonl"
