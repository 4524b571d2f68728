#!/usr/bin/env bash
# Regenerates every benchmark result and the tables of docs/ and the README (about 3 hours
# on 2 CPU cores). Run from the repository root on an otherwise idle machine:
#   pip install -e ".[cpu,test]"
#   pip install --no-deps keras-hub==0.32.0 && pip install regex kagglehub tokenizers sentencepiece
#   bash benchmarks/run_all.sh
set -euo pipefail
export TF_CPP_MIN_LOG_LEVEL=2
cd "$(dirname "$0")/.."
python benchmarks/zoo_table.py --update-docs
python benchmarks/accuracy.py
python benchmarks/throughput.py
python benchmarks/block_profile.py
python benchmarks/keras_hub_comparison.py
python benchmarks/token_learner_layer.py
python benchmarks/training_throughput.py
python benchmarks/training_throughput.py --whole-job --repeats 5 --jobs default own_model
python benchmarks/training_throughput.py --whole-job --repeats 2 --jobs vit_tiny_224  # 3.5-6 min a job
python benchmarks/resume_time.py
python benchmarks/pretrained_memory.py --repeats 3
python benchmarks/serving_batching.py
python benchmarks/mixed_precision.py
python benchmarks/report.py --update-readme
