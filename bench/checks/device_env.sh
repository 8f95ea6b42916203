# Sourced by the device scripts beside it: the carried wheels on PYTHONPATH, the weak sandbox (the
# strict layers are not available on the lent machines), and `mps_on`, which starts NVIDIA's
# multi-process service so several processes' kernels share the GPU instead of taking turns
# (3-4x faster toy runs with 16 Solver processes: README), probes that a CUDA client can start
# under it, else runs without it, and stops it when the script exits.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD ARCFARM_SANDBOX=weak PYTHONUNBUFFERED=1
[ -f .gpu/commit ] && export ARCFARM_GIT_COMMIT=$(cat .gpu/commit)

mps_on() {
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  if { nvidia-cuda-mps-control -d || pgrep -x nvidia-cuda-mps >/dev/null; } \
      && timeout 60 python3 -c "import torch; torch.ones(1).cuda().sum().item()"; then
    trap 'echo quit | nvidia-cuda-mps-control' EXIT
    echo "mps: on"
  else
    echo quit | nvidia-cuda-mps-control 2>/dev/null
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "mps: failed to start, running without it"
  fi
}
