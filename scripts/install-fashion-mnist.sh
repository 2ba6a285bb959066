#!/usr/bin/env bash
# Debian's official Fashion-MNIST files for the built-in fashion_mnist benchmark (no download from Zalando's
# servers: the package puts the IDX files in /usr/share/datasets/fashion-mnist, which the benchmark reads).
set -euo pipefail
if [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
else
  echo "note: Fashion-MNIST is not installed; its benchmark stays 'not installed' (as root: apt-get install" \
    "dataset-fashion-mnist, or archarena data import fashion_mnist --from DIR)." >&2
fi
