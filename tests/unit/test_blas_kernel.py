"""Stages fit with one OpenBLAS kernel whatever the CPU, so model bytes match across machines."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="OpenBLAS's x86-64 kernel names")
PROBE = ("import lifecycle, numpy; from threadpoolctl import threadpool_info; "
         "print({i['architecture'] for i in threadpool_info() if i['internal_api'] == 'openblas'})")


def blas_architectures(env: dict) -> str:
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_a_process_that_imports_the_package_first_uses_the_haswell_kernels():
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_CORETYPE"}

    assert blas_architectures(env) == "{'Haswell'}"


def test_a_kernel_the_user_chose_is_kept():
    env = {**os.environ, "OPENBLAS_CORETYPE": "Sandybridge"}

    assert blas_architectures(env) == "{'Sandybridge'}"
