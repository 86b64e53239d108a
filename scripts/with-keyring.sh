#!/bin/sh
# with-keyring.sh CMD... : runs CMD inside a private D-Bus session with a fresh, unlocked
# gnome-keyring (the Secret Service), so keychain tests talk to a real one and leave nothing behind.
# Without dbus-run-session or gnome-keyring-daemon it runs CMD as it is (keychain tests then skip,
# or fail under CI=true).
set -eu
if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
  echo "with-keyring: no dbus-run-session or gnome-keyring-daemon; running without a keychain" >&2
  exec "$@"
fi
KEYRING_HOME=$(mktemp -d)
trap 'rm -rf "$KEYRING_HOME"' EXIT INT TERM
export XDG_DATA_HOME="$KEYRING_HOME/data" XDG_RUNTIME_DIR="$KEYRING_HOME/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
dbus-run-session -- sh -c '
  eval "$(printf "%s\n" "ci-keyring-password" | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  "$@"' sh "$@"
