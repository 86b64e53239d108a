#!/usr/bin/env bash
# install-garage.sh: makes sure a `garage` binary (S3 + K2V) is available for the tests.
# Garage is not packaged in Debian, so it is built once from Rust's package registry with `cargo install` and
# cached in ~/.cargo/bin (28-35 minutes on 2 cores the first time; seconds afterwards).
# Prints the path of the binary it found or built.
set -euo pipefail
version="${GARAGE_VERSION:-}"
for candidate in "${GARAGE_BIN:-}" "$(command -v garage 2>/dev/null || true)" "$HOME/.cargo/bin/garage"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "garage: using $candidate ($("$candidate" --version 2>/dev/null | head -1))"
    exit 0
  fi
done
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "garage: not found and no cargo to build it; install Rust (rustup) or put garage on PATH" >&2
    exit 1
  fi
fi
echo "garage: building from Rust's package registry with cargo install (first time only, about 30 minutes on 2 cores)"
started=$(date +%s)
if [ -n "$version" ]; then
  cargo install garage --locked --version "$version"
else
  cargo install garage --locked
fi
echo "garage: built in $(($(date +%s) - started)) s at $HOME/.cargo/bin/garage"
