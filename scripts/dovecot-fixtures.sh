#!/bin/sh
# dovecot-fixtures.sh [EML...] : records a real Dovecot's answers for the MIME corpus.
# Starts a private Dovecot (Debian dovecot-imapd) on a free 127.0.0.1 port, APPENDs each
# test/fixtures/mime/*.eml, FETCHes ENVELOPE, BODYSTRUCTURE, BODY, RFC822.SIZE and every section,
# and writes Dovecot's exact bytes to test/fixtures/mime/dovecot/<name>.json (see the .py file).
# Runs as root (imap-login then runs as nobody through setpriv) or as an ordinary user.
set -eu
cd "$(dirname "$0")/.."
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}
[ -x "$DOVECOT" ] || { echo "no $DOVECOT: apt-get install dovecot-imapd" >&2; exit 1; }

D=$(mktemp -d /tmp/dovecot-fixtures.XXXXXX)
chmod 755 "$D"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$D"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" = 0 ]; then
  RUN_AS="setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env"
  U=nobody G=nogroup
else
  RUN_AS="" U=$(id -un) G=$(id -gn)
fi
mkdir -p "$D/run" "$D/home/alice"
printf 'alice:{PLAIN}secret:%s:%s::%s/home/alice\n' "$(id -u "$U")" "$(getent group "$G" | cut -d: -f3)" "$D" >"$D/passwd"
cat >"$D/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/run
log_path = $D/dovecot.log
ssl = no
disable_plaintext_auth = no
default_internal_user = $U
default_internal_group = $G
default_login_user = $U
mail_location = maildir:~/Maildir
mail_max_userip_connections = 50
passdb {
  driver = passwd-file
  args = scheme=PLAIN $D/passwd
}
userdb {
  driver = passwd-file
  args = $D/passwd
}
service imap-login {
  chroot =
  inet_listener imap {
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
CONF
[ "$(id -u)" = 0 ] && chown -R nobody:nogroup "$D"
# -F keeps the master in the foreground, so $PID is the process to stop.
$RUN_AS "$DOVECOT" -F -c "$D/dovecot.conf" &
PID=$!
python3 scripts/dovecot-fixtures.py "$PORT" "$@"
