#!/bin/sh
# Installs, from Debian's archive, what the tests need (and the packages
# given as arguments, e.g. the benchmark's), without starting or enabling the
# system's own Dovecot or slapd: a policy-rc.d that refuses every start is in
# place for the duration of the install, and removed afterwards unless it was
# already there.
set -eu

# dpkg-dev, debhelper and lintian build and check the package that
# e2e.TestPackage installs; mmdebstrap builds the test hosts' base image.
# --servers leaves them out (make demo needs the servers only).
tools="dpkg-dev debhelper lintian mmdebstrap"
if [ "${1:-}" = --servers ]; then
	tools=""
	shift
fi
pkgs="dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-ldap slapd ldap-utils systemd $tools $*"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	ours=1
fi
cleanup() { [ -n "$ours" ] && $sudo rm -f "$policy"; }
trap cleanup EXIT

echo "installing:$missing" >&2
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
# Debian enables the packages' services; tests start their own instances only.
for s in dovecot slapd; do
	command -v systemctl >/dev/null 2>&1 && $sudo systemctl disable "$s" >/dev/null 2>&1 || true
done
