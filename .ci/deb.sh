#!/bin/sh
# Builds the Debian package with dpkg-buildpackage and checks it with
# lintian. The build uses the Go toolchain on the machine (GOTOOLCHAIN=local)
# and the Go module proxy, nothing else from the network. Artifacts go to
# dist/.
set -eu
cd "$(dirname "$0")/.."
need=""
for p in debhelper lintian; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || need="$need $p"
done
if [ -n "$need" ]; then
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
fi
go mod download
dpkg-buildpackage -us -uc -b
mkdir -p dist
name=$(dpkg-parsechangelog -S Source)_$(dpkg-parsechangelog -S Version)
mv ../"$name"_*.deb ../"$name"_*.buildinfo ../"$name"_*.changes dist/
lintian --fail-on error,warning dist/"$name"_*.changes
ls -l dist/
