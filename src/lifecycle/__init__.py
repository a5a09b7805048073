"""A reproducible machine-learning lifecycle, one DVC stage per phase."""

import os

# One BLAS kernel on every x86-64 machine. OpenBLAS picks its kernels by CPU, and a logistic
# regression fitted with its AVX-512 kernels differs in the last bits from one fitted with its
# AVX2 kernels, so the linear baseline's bytes (and dvc.lock) would change from one machine to
# the next. Set before numpy loads (a stage imports this package first); a value you set wins.
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
