#!/bin/sh
# Builds the Debian package with dpkg-buildpackage and checks it with
# lintian. The build uses the Go toolchain on the machine (GOTOOLCHAIN=local)
# and the Go module proxy, nothing else from the network. Artifacts go to
# dist/.
#
# MAILPULL_DEB_VERSION=V builds version V (e.g. 0.1.1-1): a changelog entry
# for it is added for the build and taken out afterwards. GOCACHE, if set,
# is the build cache the package build uses (default: its own, emptied).
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
if [ -n "${MAILPULL_DEB_VERSION:-}" ]; then
	saved=$(mktemp)
	cp debian/changelog "$saved"
	trap 'cat "$saved" >debian/changelog; rm -f "$saved"' EXIT
	source=$(dpkg-parsechangelog -S Source)
	dist=$(dpkg-parsechangelog -S Distribution)
	maint=$(dpkg-parsechangelog -S Maintainer)
	# The entry is dated after the one before it, as lintian wants.
	prev=$(dpkg-parsechangelog -S Timestamp)
	now=$(date +%s)
	[ "$now" -gt "$prev" ] || now=$((prev + 1))
	{
		printf '%s (%s) %s; urgency=medium\n\n' "$source" "$MAILPULL_DEB_VERSION" "$dist"
		printf '  * Build of version %s.\n\n' "$MAILPULL_DEB_VERSION"
		printf ' -- %s  %s\n\n' "$maint" "$(LC_ALL=C date -u -R -d "@$now")"
		cat "$saved"
	} >debian/changelog
fi
dpkg-buildpackage -us -uc -b
mkdir -p dist
name=$(dpkg-parsechangelog -S Source)_$(dpkg-parsechangelog -S Version)
mv ../"$name"_*.deb ../"$name"_*.buildinfo ../"$name"_*.changes dist/
lintian --fail-on error,warning dist/"$name"_*.changes
ls -l dist/
