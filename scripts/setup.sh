#!/usr/bin/env bash
# Installs every Debian (bookworm) package sigx needs. Idempotent: quiet and fast when
# everything is already there. Run as root (or with sudo available). Extra package names
# given as arguments are installed too.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libboost-filesystem-dev
  libtomlplusplus-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libfftw3-dev
  # Recordings in and extracted components out (WAV, FLAC, OGG); speech for the hum demo.
  libsndfile1-dev libsamplerate0-dev espeak-ng
  libtorch-dev
  # The Gloo headers LibTorch's c10d process group needs (data-parallel training).
  libgloo-dev
  # The causal LSTM's own inference path for streaming (Eigen's vectorised kernels).
  libeigen3-dev
  # Debian's LibTorch falls back to the reference BLAS without this: ~10x slower LSTMs.
  libopenblas0-openmp
  catch2
  gnuplot-nox
  # `import sigx` and model plugins written in Python (Debian's /usr/bin/python3); the
  # Python examples and their tests use scipy, MNE and PyTorch (the same LibTorch 1.13).
  pybind11-dev python3-dev python3-numpy python3-pytest python3-scipy python3-mne python3-torch
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
