#!/bin/bash
# lab/install.sh [postfix] [exim4] [opensmtpd] [sendmail] [haraka] -- install the real MTAs the
# integration tests start (default: postfix exim4).
#
# Idempotent, for Debian 12 as root. Debian's MTA packages conflict with each other
# (all Provide mail-transport-agent), so Postfix comes from apt ("No configuration":
# no main.cf, nothing started) and Exim is unpacked with `apt-get download` +
# `dpkg -x` into /opt/mta/exim4, which apt never sees; OpenSMTPD and Sendmail likewise into
# /opt/mta/<name> (only their missing libraries from apt, plus system users), and Haraka from
# npm into /opt/mta/haraka with lab/haraka/package.json + package-lock.json (needs Node >= 20).
# Service starts are denied while apt runs (a temporary /usr/sbin/policy-rc.d) so nothing listens on port 25.
# One line per MTA with the time it took; details in lab/run/install.log.
set -euo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
HERE=$(cd "$(dirname "$0")" && pwd)
LOG=${LAB_INSTALL_LOG:-$HERE/run/install.log}
POLICY=/usr/sbin/policy-rc.d
OPT=/opt/mta
EXIM_DEBS="exim4-daemon-light exim4-base exim4-config"

node_major_ok() {   # Haraka 3.3 needs Node >= 20 (Debian 12's own nodejs is 18)
  command -v node >/dev/null && command -v npm >/dev/null \
    && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" -ge 20 ] 2>/dev/null
}

[ $# -gt 0 ] || set -- postfix exim4
for m in "$@"; do
  case $m in postfix|exim4|opensmtpd|sendmail|haraka) ;;
    *) echo "lab/install.sh: unknown MTA '$m' (known: postfix exim4 opensmtpd sendmail haraka)" >&2; exit 2;; esac
done
case " $* " in *" haraka "*)
  node_major_ok || { echo "lab/install.sh: Haraka needs Node.js 20 or newer with npm on PATH" \
    "(found node $(node -v 2>/dev/null || echo none)), so nothing was installed." >&2; exit 3; };;
esac
# the checks above need no privileges, so they answer first; installing does
[ "$(id -u)" = 0 ] || { echo "lab/install.sh: must run as root" >&2; exit 1; }
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

# ---- OpenSMTPD, Sendmail, Haraka (see lab/<mta>/README.md)
deb_file() { ls -1 "$OPT/debs/$1"_*.deb 2>/dev/null | sort -V | tail -n 1; }
have_files() { local root=$1 f; shift; for f in "$@"; do [ -e "$root/$f" ] || return 1; done; }
have_user() { getent passwd "$1" >/dev/null; }
have_group() { getent group "$1" >/dev/null; }
unpack_debs() {   # $1 destination, rest: packages; download what /opt/mta/debs lacks, then dpkg -x
  local dest=$1 p need=(); shift
  mkdir -p "$OPT/debs" "$dest"
  for p in "$@"; do [ -n "$(deb_file "$p")" ] || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then apt_update_once; (cd "$OPT/debs" && run apt-get download "${need[@]}"); fi
  for p in "$@"; do run dpkg -x "$(deb_file "$p")" "$dest"; done
}
libs_resolved() { local b; for b in "$@"; do [ -e "$b" ] && [ -z "$(missing_libs "$b")" ] || return 1; done; }
ensure_libs() {   # $1 the recipe's libraries, $2 the .debs, rest: binaries whose libraries must resolve
  local libs=$1 debs=$2 p deps; shift 2
  apt_install $libs
  libs_resolved "$@" && return 0
  deps=$(for p in $debs; do dpkg-deb -f "$(deb_file "$p")" Depends Pre-Depends; done \
    | sed 's/^[A-Za-z-]*: //' | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | { grep '^lib' || true; } | sort -u)
  apt_install $deps
  libs_resolved "$@"
}
system_user() {   # $1 user, $2 home, $3 group (made as a system group when missing)
  command -v adduser >/dev/null || apt_install adduser
  have_group "$3" || run addgroup --system "$3"
  have_user "$1" || run adduser --system --home "$2" --no-create-home --disabled-password --ingroup "$3" "$1"
}

SMTPD_ROOT=$OPT/opensmtpd
SMTPD_FILES="usr/sbin/smtpd usr/sbin/smtpctl usr/libexec/opensmtpd/mail.maildir"
check_opensmtpd() {
  have_files "$SMTPD_ROOT" $SMTPD_FILES && libs_resolved "$SMTPD_ROOT/usr/sbin/smtpd" "$SMTPD_ROOT/usr/sbin/smtpctl" \
    && have_user opensmtpd && have_user opensmtpq && have_user labmail && [ -d /var/lib/opensmtpd/empty ] \
    && [ -e /usr/libexec/opensmtpd ]
}
install_opensmtpd() {
  have_files "$SMTPD_ROOT" $SMTPD_FILES || unpack_debs "$SMTPD_ROOT" opensmtpd
  ensure_libs libevent-2.1-7 opensmtpd "$SMTPD_ROOT/usr/sbin/smtpd" "$SMTPD_ROOT/usr/sbin/smtpctl"
  # the users the package's postinst would make: smtpd refuses to start without them
  system_user opensmtpd /var/lib/opensmtpd/empty opensmtpd
  system_user opensmtpq /var/lib/opensmtpd/empty opensmtpq
  system_user labmail /var/lib/mta-lab-mail labmail
  mkdir -p /var/lib/opensmtpd/empty
  # its helpers (mail.maildir, mail.local) are looked up at this compiled-in path
  [ -e /usr/libexec/opensmtpd ] || ln -s "$SMTPD_ROOT/usr/libexec/opensmtpd" /usr/libexec/opensmtpd
}

SM_ROOT=$OPT/sendmail
SENDMAIL_DEBS="sendmail-bin sendmail-base sendmail-cf"
SENDMAIL_FILES="usr/libexec/sendmail/sendmail usr/libexec/sendmail/makemap usr/share/sendmail/cf/m4/cf.m4"
check_sendmail() {
  have_files "$SM_ROOT" $SENDMAIL_FILES && command -v m4 >/dev/null && command -v unshare >/dev/null \
    && libs_resolved "$SM_ROOT/usr/libexec/sendmail/sendmail" "$SM_ROOT/usr/libexec/sendmail/makemap" \
    && have_user labmail
}
install_sendmail() {
  have_files "$SM_ROOT" $SENDMAIL_FILES || unpack_debs "$SM_ROOT" $SENDMAIL_DEBS
  ensure_libs "libwrap0 liblockfile1 libldap-2.5-0" "$SENDMAIL_DEBS" \
    "$SM_ROOT/usr/libexec/sendmail/sendmail" "$SM_ROOT/usr/libexec/sendmail/makemap"
  command -v m4 >/dev/null || apt_install m4             # builds each .cf from lab/sendmail/lab.mc.in
  command -v unshare >/dev/null || apt_install util-linux  # own UTS + mount namespace: host name, hosts file
  system_user labmail /var/lib/mta-lab-mail labmail      # DefaultUser of the lab's local mailer
}

HARAKA_DIR=$OPT/haraka
check_haraka() {
  [ -x "$HARAKA_DIR/node_modules/.bin/haraka" ] && node_major_ok \
    && cmp -s "$HERE/haraka/package-lock.json" "$HARAKA_DIR/package-lock.json"
}
install_haraka() {
  mkdir -p "$HARAKA_DIR"
  cp "$HERE/haraka/package.json" "$HERE/haraka/package-lock.json" "$HARAKA_DIR/"
  (cd "$HARAKA_DIR" && run npm ci --no-audit --no-fund)
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
