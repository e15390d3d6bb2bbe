#!/bin/bash
# lab/install.sh [postfix] [exim4] -- install the real MTAs the integration tests start.
#
# Idempotent, for Debian 12 as root. Debian's MTA packages conflict with each other
# (all Provide mail-transport-agent), so Postfix comes from apt ("No configuration":
# no main.cf, nothing started) and Exim is unpacked with `apt-get download` +
# `dpkg -x` into /opt/mta/exim4, which apt never sees. Service starts are denied
# while apt runs (a temporary /usr/sbin/policy-rc.d) so nothing listens on port 25.
# One line per MTA with the time it took; details in lab/run/install.log.
set -euo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
HERE=$(cd "$(dirname "$0")" && pwd)
LOG=${LAB_INSTALL_LOG:-$HERE/run/install.log}
POLICY=/usr/sbin/policy-rc.d
OPT=/opt/mta
EXIM_DEBS="exim4-daemon-light exim4-base exim4-config"

[ "$(id -u)" = 0 ] || { echo "lab/install.sh: must run as root" >&2; exit 1; }
[ $# -gt 0 ] || set -- postfix exim4
for m in "$@"; do
  case $m in postfix|exim4) ;; *) echo "lab/install.sh: unknown MTA '$m' (known: postfix exim4)" >&2; exit 2;; esac
done
mkdir -p "$(dirname "$LOG")"
STATE=$(mktemp -d)
cleanup() { [ -f "$STATE/policy-made" ] && rm -f "$POLICY"; rm -rf "$STATE"; }
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "[$(date +%T)] $*" >> "$LOG"; }
run() { log "+ $*"; "$@" >> "$LOG" 2>&1; }
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
apt_update_once() { [ -f "$STATE/updated" ] || { run apt-get update; touch "$STATE/updated"; }; }
deny_starts() {
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY"; chmod 755 "$POLICY"; touch "$STATE/policy-made"
  fi
}
apt_install() {
  local p missing=()
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  deny_starts; apt_update_once
  run apt-get install -y --no-install-recommends --no-remove "${missing[@]}"
}
missing_libs() { { ldd "$1" 2>/dev/null || true; } | awk '/not found/ { print $1 }'; }

check_postfix() { installed postfix && [ -x /usr/sbin/postfix ] && [ -x /usr/sbin/postalias ]; }
install_postfix() {
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt_install postfix
}

EXIM=$OPT/exim4/usr/sbin/exim4
check_exim4() { [ -x "$EXIM" ] && [ -z "$(missing_libs "$EXIM")" ] && getent passwd Debian-exim >/dev/null; }
install_exim4() {
  if [ ! -x "$EXIM" ]; then
    mkdir -p "$OPT/debs" "$OPT/exim4"
    apt_update_once
    (cd "$OPT/debs" && run apt-get download $EXIM_DEBS)
    for d in $EXIM_DEBS; do run dpkg -x "$(ls -1 "$OPT/debs/${d}"_*.deb | sort -V | tail -n 1)" "$OPT/exim4"; done
  fi
  apt_install libidn12
  if [ -n "$(missing_libs "$EXIM")" ]; then   # fall back to the .debs' own library dependencies
    local deps
    deps=$(for d in $EXIM_DEBS; do dpkg-deb -f "$(ls -1 "$OPT/debs/${d}"_*.deb | tail -n 1)" Depends; done \
      | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep '^lib' | sort -u)
    apt_install $deps
  fi
  command -v adduser >/dev/null || apt_install adduser
  getent passwd Debian-exim >/dev/null || run adduser --system --group --quiet --allow-bad-names \
    --no-create-home --home /var/spool/exim4-lab --disabled-login Debian-exim
}

rc=0
log "==== lab/install.sh $*"
for m in "$@"; do
  t0=$(now)
  if "check_$m"; then printf '%-8s already installed  %5s s\n' "$m" "$(since "$t0")"; continue; fi
  set +e; ( set -e; "install_$m" ); st=$?; set -e
  if [ $st = 0 ] && "check_$m"; then
    printf '%-8s installed          %5s s\n' "$m" "$(since "$t0")"
  else
    printf '%-8s FAILED             %5s s  (see %s)\n' "$m" "$(since "$t0")" "$LOG" >&2
    tail -n 15 "$LOG" | sed 's/^/    | /' >&2
    rc=1
  fi
done
exit $rc
