#!/bin/bash
# DMS retrofits (4x and 8x, neuron form) of the phase-7 base, both at once on one GPU.
# Inputs in .gpu/ as for base_phase7.sh, with init-v5.pt (the phase-7 weights, $OUT/ckpt.pt of
# base_phase7.sh) instead of init-v4b.pt. Outputs in $OUT: dms{4,8}.tar (the exported HF
# folders) and dms{4,8}-log.jsonl. FORM=proj runs the separate-projection form instead of the
# repurposed query neuron.
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
t0=$(date +%s)
for cr in 4 8; do
  timeout ${BUDGET:-480} python3 tools/train/dms_retrofit.py --base .gpu/init-v5.pt \
    --tokenizer .gpu/tokenizer.json --corpus .gpu/corpus.json --run-dir /tmp/dms$cr \
    --form ${FORM:-neuron} --cr $cr --window 128 --length 2048 --batch 8 --steps ${STEPS:-800} --lr 3e-4 \
    --device cuda --eval-every 200 --eval-n 20 --out /tmp/dms$cr/export > /tmp/dms$cr.out 2>&1 &
done
wait
for cr in 4 8; do
  grep -E '"eval"|Error|rror' /tmp/dms$cr.out | tail -6; tail -2 /tmp/dms$cr.out
  cp /tmp/dms$cr/log.jsonl $OUT/dms$cr-log.jsonl
  tar -C /tmp/dms$cr/export -cf $OUT/dms$cr.tar .
done
echo "total $(( $(date +%s) - t0 ))s"
