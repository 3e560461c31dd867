#!/bin/bash
# Phase 7 of the longkv-tiny base model on a GPU: from the phase-5 weights, a 4096 then 8192
# stage with 16 (8) sequences per step. The number of steps is fitted to the time limit from a
# 20-step speed probe, so the cosine schedule ends inside the call.
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch,tokenizers;print('torch',torch.__version__,'tokenizers',tokenizers.__version__)"
BUDGET=${BUDGET:-420}
COMMON="--tokenizer .gpu/tokenizer.json --corpus .gpu/corpus.json --device cuda --data-workers 14 \
  --rope-theta 500000 --init-from .gpu/init-v4b.pt --tokens-per-step 65536 --micro-tokens 65536 \
  --repeat-fraction 0.3 --random-copy 0.3 --lm-weight 0.1 --text-fraction 0.1"
t0=$(date +%s)
python3 tools/train/train.py --run-dir /tmp/probe $COMMON --curriculum 4096:10,8192:10 \
  --lr 1e-5 --warmup 5 --eval-every 100000 --ckpt-every 100000 --max-steps 20 > /tmp/probe.out 2>&1 || { cat /tmp/probe.out; exit 1; }
tail -3 /tmp/probe.out
S=$(python3 -c "
import json
r=[json.loads(l) for l in open('/tmp/probe/log.jsonl') if '\"loss\"' in l]
print(max(x['s_per_step'] for x in r if x['step']>=10))")
left=$(( BUDGET - ($(date +%s) - t0) ))
N=$(python3 -c "print(min(3000, int($left*0.85/$S)))")
A=$((N*6/10)); B=$((N-A))
echo "probe: ${S}s/step at 8192; ${left}s left -> curriculum 4096:$A,8192:$B"
python3 tools/train/train.py --run-dir /tmp/run7 $COMMON --curriculum 4096:$A,8192:$B \
  --lr 8e-4 --min-lr-frac 0.1 --warmup 50 --eval-every $((N/4)) --eval-n 20 --ckpt-every 50 \
  > /tmp/run7.out 2>&1
rc=$?
grep -E '"eval"|Error|error' /tmp/run7.out | tail -8; tail -2 /tmp/run7.out
python3 -c "
import torch
ck=torch.load('/tmp/run7/ckpt.pt',map_location='cpu')
torch.save({k:v for k,v in ck.items() if k!='opt'}, '$OUT/ckpt.pt')
print('saved step', ck['step'])"
cp /tmp/run7/log.jsonl /tmp/run7/args.json /tmp/run7.out $OUT/
echo "train rc $rc, total $(( $(date +%s) - t0 ))s"
