#!/usr/bin/env bash
# The real-OBS tests (pytest -m obs) inside a newer OBS Studio than the host's, in a Debian
# chroot on a Debian (or Debian-like, with debootstrap) host:
#
#   trixie -> OBS 30.2.x, Python 3.13        sid -> OBS 32.x, Python 3.14 (moves with sid)
#
# usage (as root):  tests/obs/chroot.sh SUITE [PYTEST_ARGS...]
#   e.g.  tests/obs/chroot.sh trixie       tests/obs/chroot.sh sid -x tests/obs/test_reload.py
#
# The chroot is built on the first run (debootstrap ~1 min, apt ~1-3 min, ~2.5 GB) and kept in
# $BGREPLACE_CHROOTS/SUITE (default /var/tmp/bgreplace-obs-chroots) for the next runs; delete
# that folder (after a run, when nothing is mounted in it) to rebuild with newer packages.
# Every run copies this checkout (its working tree, without .git and .venv) to /root/bgreplace
# inside, sets it up like ./test does (.venv with the dev tools, ./install for OBS's Python;
# both kept between runs), then runs pytest -m "obs and not slow" (default: tests/obs; the
# 2-minute soak, marked slow, runs with the host's OBS in ./test). Logs go to
# $BGREPLACE_CHROOTS/logs/SUITE/ (pytest.log: the last run's). Processes left in the chroot
# are ended and everything this script mounted is unmounted when it exits, whatever happened.
#
# environment: BGREPLACE_CHROOTS (see above), BGREPLACE_MIRROR (default http://deb.debian.org/debian),
#   BGREPLACE_CHROOT_MARKS (pytest -m expression, default "obs and not slow"; "obs" adds the soak)
# needs: root (debootstrap, chroot, mount), network (the Debian mirror, PyPI), ~2.5 GB per suite.
set -euo pipefail

SUITE=${1:?usage: tests/obs/chroot.sh trixie|sid [PYTEST_ARGS...]}
shift
PROJ=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(realpath -m "${BGREPLACE_CHROOTS:-/var/tmp/bgreplace-obs-chroots}")
MIRROR=${BGREPLACE_MIRROR:-http://deb.debian.org/debian}
ROOT=$WORK/$SUITE
LOGS=$WORK/logs/$SUITE
INSIDE=/root/bgreplace
# What ./test installs on the host, plus what a minimal Debian lacks for the setup (venv, pip,
# a C compiler for bgobs/layout.c). No recommends: they add VLC and ~1 GB that no test uses.
PACKAGES="obs-studio obs-plugins libobs-dev xvfb xdotool python3-venv python3-pip python3-tk gcc libc6-dev ca-certificates"

say() { echo "chroot $SUITE: $*"; }
die() { echo "chroot $SUITE: error: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mount)"
case $WORK/ in "$PROJ"/*) die "BGREPLACE_CHROOTS must be outside the checkout ($WORK)";; esac
mkdir -p "$WORK" "$LOGS"

# One run per chroot at a time: the cleanup ends every process inside the chroot.
exec 9>"$WORK/$SUITE.lock"
flock -n 9 || { say "waiting for another run in $ROOT"; flock 9; }

timed() {  # timed NAME LOGFILE CMD...: run CMD with its output in LOGFILE, note the seconds
  local name=$1 log=$2 start=$SECONDS rc=0
  shift 2
  "$@" > "$log" 2>&1 || rc=$?
  echo "$(date -u +%FT%TZ) $name: $((SECONDS - start)) s (exit $rc)" >> "$LOGS/times.txt"
  say "$name: $((SECONDS - start)) s"
  if [ $rc != 0 ]; then
    tail -n 30 "$log" >&2
    die "$name failed (exit $rc); the whole output is in $log"
  fi
}

in_chroot() {  # a clean environment inside the chroot
  local extra=()
  [ -f "$ROOT/etc/ssl/certs/host-ca-bundle.crt" ] && extra+=(PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt)
  [ -n "${PIP_DEFAULT_TIMEOUT:-}" ] && extra+=(PIP_DEFAULT_TIMEOUT="$PIP_DEFAULT_TIMEOUT")
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 "${extra[@]}" "$@"
}

MOUNTS="proc sys dev dev/pts dev/shm tmp/.X11-unix"  # what this script mounts, in that order

cleanup() {
  local rc=$? p pids=()
  # processes still running inside this chroot (a test that timed out, a stray Xvfb): by pid
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && pids+=("${p#/proc/}")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    say "ending processes left in the chroot: ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 1
  fi
  local m
  for m in $(echo "$MOUNTS" | tr ' ' '\n' | tac); do
    if mountpoint -q "$ROOT/$m"; then
      umount "$ROOT/$m" 2>/dev/null || umount -l "$ROOT/$m" || say "warning: could not unmount $ROOT/$m"
    fi
  done
  exit $rc
}

# 1. debootstrap and Debian's archive key on the host (Ubuntu has both as packages too)
if ! command -v debootstrap >/dev/null || [ ! -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
  command -v apt-get >/dev/null || die "needs debootstrap and debian-archive-keyring (no apt-get here to install them)"
  timed "apt-get install debootstrap (host)" "$LOGS/host-apt.log" bash -c 'apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap debian-archive-keyring'
fi

# 2. the chroot (minbase), unless a previous run made it
if [ ! -f "$ROOT/.bgreplace-debootstrap-ok" ]; then
  if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then  # never rm -rf a tree with /dev bound in it
    die "$ROOT is incomplete and has mounts in it: unmount them (findmnt | grep $ROOT), then run again"
  fi
  rm -rf --one-file-system "$ROOT"
  timed debootstrap "$LOGS/debootstrap.log" debootstrap --variant=minbase \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$SUITE" "$ROOT" "$MIRROR"
  touch "$ROOT/.bgreplace-debootstrap-ok"
fi
# the mirror reachable may be a frozen snapshot whose Release files have expired
echo 'Acquire::Check-Valid-Until "false";' > "$ROOT/etc/apt/apt.conf.d/99bgreplace-no-valid-until"
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d" && chmod +x "$ROOT/usr/sbin/policy-rc.d"  # no daemons
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# the CA bundle the host's pip trusts (it may include a TLS-intercepting proxy's CA)
HOST_CA=${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-}}}
if [ -n "$HOST_CA" ] && [ -f "$HOST_CA" ]; then
  install -D -m 644 "$HOST_CA" "$ROOT/etc/ssl/certs/host-ca-bundle.crt"
fi

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
mountpoint -q "$ROOT/sys" || mount -t sysfs sys "$ROOT/sys"
mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
mountpoint -q "$ROOT/dev/pts" || mount --bind /dev/pts "$ROOT/dev/pts"
mountpoint -q "$ROOT/dev/shm" || mount -t tmpfs -o mode=1777 shm "$ROOT/dev/shm"  # OBS and Qt need it
# The host's X socket folder: X servers started inside show up outside too (Xvfb -displayfd
# avoids taken numbers through the abstract sockets, shared through the network namespace).
[ -d /tmp/.X11-unix ] || install -d -m 1777 /tmp/.X11-unix
install -d -m 1777 "$ROOT/tmp/.X11-unix"
mountpoint -q "$ROOT/tmp/.X11-unix" || mount --bind /tmp/.X11-unix "$ROOT/tmp/.X11-unix"

# 3. OBS and the tools, unless installed by a previous run with the same package list
if [ "$(cat "$ROOT/.bgreplace-packages" 2>/dev/null)" != "$PACKAGES" ]; then
  timed "apt-get install" "$LOGS/apt.log" in_chroot bash -c \
    "apt-get update && apt-get install -y --no-install-recommends $PACKAGES && apt-get clean"
  echo "$PACKAGES" > "$ROOT/.bgreplace-packages"
fi
OBS_VERSION=$(in_chroot dpkg-query -W -f '${Version}' obs-studio)
PY_VERSION=$(in_chroot python3 -c 'import sys; print(sys.version.split()[0])')
say "obs-studio $OBS_VERSION, Python $PY_VERSION" | tee -a "$LOGS/times.txt"

# 4. this checkout's working tree (the .venv inside is kept: pip then only checks it)
mkdir -p "$ROOT$INSIDE"
find "$ROOT$INSIDE" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf --one-file-system {} +
tar -C "$PROJ" --exclude=./.git --exclude=./.venv --exclude=./.mypy_cache --exclude=./.ruff_cache \
  --exclude=./.pytest_cache --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -C "$ROOT$INSIDE" -xf -

# 5. ./test's setup: the dev .venv, and ./install for OBS's Python (the step a user runs)
timed setup "$LOGS/setup.log" in_chroot bash -c "cd $INSIDE && set -e
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q -e '.[dev]'
  ./install --quiet"

# 6. the real-OBS tests; the soak (marked slow) runs with the host's OBS only, unless asked for
rm -f "$ROOT"/tmp/bgreplace-gui-failure-*.png
[ $# -gt 0 ] || set -- tests/obs
MARKS=${BGREPLACE_CHROOT_MARKS:-obs and not slow}
LOG=$LOGS/pytest-$(date -u +%Y%m%dT%H%M%SZ).log
say "pytest -m '$MARKS' $* (OBS $OBS_VERSION)"
start=$SECONDS
rc=0
in_chroot bash -c 'cd "$0" && exec .venv/bin/python -m pytest -q -rfE -p no:cacheprovider "$@"' \
  "$INSIDE" -m "$MARKS" "$@" 2>&1 | tee "$LOG" || rc=$?
ln -sfn "$(basename "$LOG")" "$LOGS/pytest.log"
echo "$(date -u +%FT%TZ) pytest -m '$MARKS' $*: $((SECONDS - start)) s (exit $rc)" >> "$LOGS/times.txt"
for shot in "$ROOT"/tmp/bgreplace-gui-failure-*.png; do
  [ -f "$shot" ] && cp "$shot" "$LOGS/" && say "GUI failure screenshot: $LOGS/$(basename "$shot")"
done
say "OBS $OBS_VERSION (Python $PY_VERSION): pytest exit code $rc after $((SECONDS - start)) s; log $LOG"
exit $rc
