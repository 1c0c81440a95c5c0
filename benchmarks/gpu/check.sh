#!/bin/bash
# The GPU checks the README's "Measured on a GPU" quotes, run from the repository root on a machine
# with a CUDA GPU and PyTorch installed. Each step is timed and logged under $OUT (default: runs/gpu):
#   tests     tests/test_devices.py (the CUDA cases run instead of skipping)
#   bench     benchmarks/bench.py --device cuda
#   breakdown benchmarks/step_breakdown.py --device cuda (each part of a training step alone)
#   train     idk train --device cuda (the default preset, timed whole; the checkpoint is kept in $OUT)
#   evaluate  idk evaluate --device cuda of that checkpoint
#   experiments  scripts/validation_experiment.py for every "NAME JSON" line of the file $EXPERIMENTS
#             (lines starting with # are comments; e.g. benchmarks/gpu/experiments-wider.txt),
#             all at once (a training is bound by kernel launches: several share one GPU well), two
#             CPU threads each, on EXP_DEVICE (default cuda); logs $OUT/exp-NAME.log, checkpoints in
#             $OUT/experiments
# Choose with STEPS="train evaluate" (default: all but experiments); each step has a time limit
# T_<STEP> in seconds (defaults: 150, 200, 120, 600, 120, and 540 for each experiment: the first
# five about 20 minutes in all; where one command may run less, run the steps over several calls,
# e.g. STEPS="tests bench breakdown", then STEPS=train, then STEPS=evaluate with the same OUT). A
# step past its limit is stopped (killed 30 s later).
# Without network (the lent machines): pip download the pure-Python wheels idk needs beside torch
# into .whl/ first, e.g. `pip download --no-deps --only-binary=:all: -d .whl pyro-ppl==1.9.2
# pyro-api==0.1.2`; they are installed into /tmp/site. IDK_DATA_DIR must hold the data sets.
set -u
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
STEPS=${STEPS:-tests bench breakdown train evaluate}
{
  nvidia-smi -L; nproc
  python3 -c "import torch, pyro, numpy; print('torch', torch.__version__, 'pyro', pyro.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())"
} 2>&1 | tee "$OUT/machine.log"

step() {  # step NAME LIMIT COMMAND...: run COMMAND under LIMIT seconds, log and time it
  local name=$1 limit=$2 start rc; shift 2
  case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
  start=$(date +%s)
  timeout -k 30 "$limit" "$@" 2>&1 | tr '\r' '\n' | grep -v "it/s\]$" | tee "$OUT/$name.log"
  rc=${PIPESTATUS[0]}
  echo "$name: $(( $(date +%s) - start )) s (limit $limit s, exit $rc)" | tee -a "$OUT/$name.log"
}

experiments() {  # every "NAME JSON" line of $EXPERIMENTS at once, each under T_EXPERIMENTS; fails if one fails
  local name spec pids=() rc=0
  while read -r name spec || [ -n "$name" ]; do
    case "$name" in "" | "#"*) continue ;; esac
    OMP_NUM_THREADS=2 timeout -k 10 "${T_EXPERIMENTS:-540}" python3 scripts/validation_experiment.py "$name" "$spec" \
      --out "$OUT/experiments" --device "${EXP_DEVICE:-cuda}" > "$OUT/exp-$name.log" 2>&1 &
    pids+=("$!:$name")
  done < "$EXPERIMENTS"
  for p in "${pids[@]}"; do
    wait "${p%%:*}" || { echo "experiment ${p#*:} failed: $OUT/exp-${p#*:}.log"; rc=1; }
    grep -h -A4 "^RESULT" "$OUT/exp-${p#*:}.log"
  done
  return $rc
}
export -f experiments
export OUT
case " $STEPS " in *" experiments "*)
  [ -f "${EXPERIMENTS:-}" ] || { echo "STEPS has experiments: set EXPERIMENTS to a file of \"NAME JSON\" lines" >&2; exit 2; } ;;
esac

step tests "${T_TESTS:-150}" python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/test_devices.py -rs
step bench "${T_BENCH:-200}" python3 benchmarks/bench.py --device cuda --out "$OUT/bench-cuda.json"
step breakdown "${T_BREAKDOWN:-120}" python3 benchmarks/step_breakdown.py --device cuda
step train "${T_TRAIN:-600}" python3 -m idk train --out "$OUT/default.pt" --device cuda --overwrite
step evaluate "${T_EVALUATE:-120}" python3 -m idk evaluate --model "$OUT/default.pt" --device cuda \
  --noise 1000 --gaussian 1000 --ood notmnist-10k --json "$OUT/report.json"
step experiments "$(( ${T_EXPERIMENTS:-540} + 20 ))" bash -c experiments
