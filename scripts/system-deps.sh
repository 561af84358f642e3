#!/usr/bin/env bash
# The real servers the tests talk to, from Debian's packages: Chromium (browser tests), dovecot
# (IMAP tests), PostgreSQL's server binaries (fault tests start a private cluster). Installed
# when missing and we may (root, apt-get present); otherwise says what is missing and stops.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts dovecot as a system service on install; the tests start their own.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now dovecot >/dev/null 2>&1 || true; fi
  # Without systemd the package's init script may have started it: stop that one only (the
  # tests' own servers run with -c <their config>).
  for pid in $(pgrep -x dovecot || true); do
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- ' -c ' || kill "$pid" 2>/dev/null || true
  done
  exit 0
fi
echo "system-deps: the tests need these Debian packages: ${missing[*]}" >&2
echo "system-deps: install them (sudo apt-get install ${missing[*]}) and run make test again" >&2
exit 1
