#!/usr/bin/env bash
# A Python for `tests/bench/fits.ts --torch-python DIR/bin/python`, made outside the repository:
#   bash tests/bench/torch-venv.sh DIR
# torch and numpy are required; laplace-torch and BackPACK are tried, and where the package index
# does not have them laplace_torch.py times BackPACK's arithmetic written with torch alone instead.
set -euo pipefail
dir=${1:?usage: bash tests/bench/torch-venv.sh DIR (a folder outside the repository)}
python3 -m venv "$dir"
"$dir/bin/pip" install torch numpy
if ! "$dir/bin/pip" install laplace-torch backpack-for-pytorch; then
  echo "laplace-torch or BackPACK could not be installed; fits.ts will compare with laplace_torch.py's torch-only fits." >&2
fi
"$dir/bin/python" -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'
echo "Run: npx tsx tests/bench/fits.ts --torch-python $dir/bin/python"
