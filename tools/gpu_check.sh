#!/usr/bin/env bash
# The GPU check (make gpu-check OUT=DIR): on a machine with a CUDA GPU, its own Python,
# torch and scikit-learn, and no network. Needs nothing from the project's virtual
# environment: what the machine lacks (skorch and its dependencies, pytest) is installed
# from the wheels in .gpu-wheels/, which `make gpu-wheels` downloads beforehand (bring
# the folder along). Then it
#   1. runs the device tests (tests/test_devices.py, and the sparse first layer's in
#      tests/test_sparse.py: the CUDA-only ones run here);
#   2. times every estimator on CUDA at 50,000 rows (benchmarks/speed.py, one repeat);
#   3. times plain cross-entropy and the recommended estimator at 1,000,000 rows;
# and writes the outputs and the speed tables to DIR, to be committed. About 5 minutes
# on an H200.
set -euo pipefail
OUT=${1:?usage: tools/gpu_check.sh OUTPUT_DIR}
PY=${PYTHON:-python3}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# module to import -> distribution name, for what the machine may lack
declare -A NEEDED=([skorch]=skorch [tabulate]=tabulate [tqdm]=tqdm [pytest]=pytest
                   [pluggy]=pluggy [iniconfig]=iniconfig [packaging]=packaging
                   [pygments]=pygments)
missing=()
for module in "${!NEEDED[@]}"; do
    "$PY" -c "import $module" 2>/dev/null || missing+=("${NEEDED[$module]}")
done
if ((${#missing[@]})); then
    echo "installing from .gpu-wheels: ${missing[*]}"
    "$PY" -m pip install --quiet --no-index --no-deps --find-links .gpu-wheels "${missing[@]}"
fi
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print('GPU:', torch.cuda.get_device_name(0), '| torch', torch.__version__)" | tee "$OUT/gpu.txt"

export PYTHONPATH=$PWD OMP_NUM_THREADS=4
status=0
"$PY" -m pytest -q -p no:cacheprovider -o addopts="-ra" tests/test_devices.py \
    tests/test_sparse.py -k "not test_sparse.py or gpu" 2>&1 \
    | tee "$OUT/tests_devices.txt" || status=1
"$PY" -m benchmarks.speed --device cuda --n-samples 50000 --repeats 1 2>&1 \
    | tee "$OUT/speed_cuda_50000.txt" || status=1
"$PY" -m benchmarks.speed --device cuda --n-samples 1000000 --repeats 1 \
    --estimators 'AutoClassifier()' 2>&1 | tee "$OUT/speed_cuda_1000000.txt" || status=1
cp benchmarks/results/speed_cuda*.md "$OUT/" 2>/dev/null || true
echo "results in $OUT (status $status)"
exit $status
