#!/usr/bin/env bash
# The model and RL benchmarks on a GPU host, printing the same tables as on CPU (issue #17):
#   1. ModelBench (services/model): training and generation tokens/s, on gpu:0;
#   2. PpoBench (services/policy-trainer): one PPO iteration's phases, on gpu:0, at the default
#      workload and at the generation-heavy one;
#   3. RolloutPipelineBench: the learner sampling itself against rollout workers, S = 0, 1, 2.
#
# Needs an NVIDIA driver and a CUDA build of libtorch 2.7.1 (the version DJL 0.36's JNI bridge is
# built for; its cu128 bridge ships in pytorch-jni). The registries this project may use do not serve
# DJL's pytorch-native-cu128 jar, so the build leaves the PyTorch native out (-Dcuda, see
# services/model/pom.xml) and DJL loads the one PYTORCH_LIBRARY_PATH names, e.g. the lib/ folder of
# the torch==2.7.1+cu128 wheel:
#   PYTORCH_LIBRARY_PATH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__) + "/lib")') \
#     bash infra/gpu-bench.sh
# CHECK=cpu runs the same path on a machine without a GPU, against the CPU libtorch (the check that
# the override loads, not a GPU measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export PYTORCH_VERSION=2.7.1
device=gpu
if [ "${CHECK:-}" = cpu ]; then
  export PYTORCH_FLAVOR=cpu
  device=cpu
  if [ -z "${PYTORCH_LIBRARY_PATH:-}" ]; then
    # the CPU libtorch from the default build's own jar
    jar=$(find ~/.m2/repository/ai/djl/pytorch/pytorch-native-cpu -name '*linux-x86_64.jar' | head -1)
    PYTORCH_LIBRARY_PATH=$(mktemp -d)
    (cd "$PYTORCH_LIBRARY_PATH" && unzip -q -j "$jar" 'pytorch/cpu/linux-x86_64/*')
    export PYTORCH_LIBRARY_PATH
  fi
else
  export PYTORCH_FLAVOR="${PYTORCH_FLAVOR:-cu128}"
  : "${PYTORCH_LIBRARY_PATH:?the lib/ folder of a CUDA build of libtorch 2.7.1 (see the top of this script)}"
  nvidia-smi -L
fi
echo "libtorch ${PYTORCH_VERSION} ${PYTORCH_FLAVOR} from ${PYTORCH_LIBRARY_PATH}; models on ${device}"

mvn="mvn -B -ntp -q -Dcuda"
$mvn -DskipTests install -pl services/policy-trainer -am
echo "== ModelBench"
$mvn -pl services/model test-compile exec:java -Dexec.args="--device ${device}"
echo "== PpoBench, default workload"
$mvn -pl services/policy-trainer test-compile exec:java -Dexec.args="--device ${device} --iterations 5"
echo "== PpoBench, generation-heavy"
$mvn -pl services/policy-trainer exec:java \
  -Dexec.args="--device ${device} --iterations 5 --epochs 1 --mini-batch 32 --max-new 128"
echo "== RolloutPipelineBench"
$mvn -pl services/policy-trainer exec:java \
  -Dbench.main=dev.flywheel.policy.service.RolloutPipelineBench \
  -Dexec.args="--device ${device} --iterations 6 --max-new 128 --epochs 1 --mini-batch 64"
