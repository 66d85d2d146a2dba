#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Fetch and unpack Debian's linux-source-7.3 (mainline, issue 19):
#
#   kernel/fetch-mainline.sh BUILD_DIR
#
# - The archive URI is read at run time from the machine's own apt sources
#   (the deb822 entry of /etc/apt/sources.list.d/*.sources whose Suites
#   name bookworm, or a one-line "deb URI bookworm" entry); no host name is
#   written anywhere in the repo.
# - apt runs with a private state in BUILD_DIR/mainline/apt (its own
#   sources list naming that URI with kernel/mainline.conf's SUITES, its
#   own lists and cache): the system's apt state is never touched and
#   nothing is installed.
# - The .deb is kept in BUILD_DIR/mainline/debs. The pinned version is
#   taken from there when present (the newer suites keep only their
#   newest version); its sha256 must equal the pin. A newer 7.3.y is used
#   with a warning; another series only with MAINLINE_SERIES=7.x.
# - The tree is unpacked into BUILD_DIR/linux-mainline; BUILD_DIR/mainline/
#   source.env records PKG, VERSION, DEB_SHA256, TARBALL_SHA256 and whether
#   the pin was met, for every result that uses the kernel.
#
# Prints the tree's path. Any failure is one message saying what to do.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(mkdir -p "$1" && cd "$1" && pwd)
. "$here/mainline.conf"

want_series=${MAINLINE_SERIES:-$SERIES}
if [ "$want_series" != "$SERIES" ]; then
	PKG=linux-source-$want_series
	echo "mainline: WARNING: MAINLINE_SERIES=$want_series: building $PKG, not the pinned $SERIES" >&2
fi

top=$build/mainline
apt=$top/apt
debs=$top/debs
tree=$build/linux-mainline
mkdir -p "$debs"

die() {
	for l in "$@"; do echo "mainline: $l" >&2; done
	exit 1
}

# The archive URI of this machine's bookworm sources (MAINLINE_APT_ETC: another
# directory in /etc/apt's layout, for the tests).
etc=${MAINLINE_APT_ETC:-/etc/apt}
archive_uri() {
	for f in "$etc"/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas are separated by blank lines
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			uri = ""; ok = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uri = u[1] }
				if ($i ~ /^Suites:/ && $i ~ /(^|[ \t])bookworm([ \t]|$)/) ok = 1
				if ($i ~ /^Types:/ && $i !~ /deb([ \t]|$)/) ok = -1
			}
			if (ok == 1 && uri != "") { print uri; exit }
		}' "$f"
	done | head -n 1
	for f in "$etc"/sources.list "$etc"/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == "bookworm") { print $i; exit } }' "$f"
	done | head -n 1
}

debname() { # version -> the file apt-get download writes
	echo "${PKG}_$(echo "$1" | sed 's/:/%3a/')_all.deb"
}

have_pinned=
if [ "$PKG" = "linux-source-$SERIES" ] && [ -f "$debs/$(debname "$VERSION")" ]; then
	have_pinned=$debs/$(debname "$VERSION")
fi

deb=
if [ -n "$have_pinned" ] && [ -z "${MAINLINE_UPDATE:-}" ]; then
	deb=$have_pinned
	version=$VERSION
else
	uri=$(archive_uri | head -n 1)
	[ -n "$uri" ] || die "no bookworm entry with a URI in $etc/sources.list.d/*.sources or sources.list;" \
		"add the machine's Debian archive there, or put $(debname "$VERSION") into $debs"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/prefs"
	: > "$apt/sources.list"
	for s in $SUITES; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s main" >> "$apt/sources.list"
	done
	: > "$apt/status"
	set -- -q -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts="$apt/parts" \
		-o Dir::Etc::PreferencesParts="$apt/prefs" -o Dir::Etc::Preferences="$apt/prefs/none" \
		-o Dir::State="$apt" -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status" \
		-o Dir::Cache="$apt/cache" -o Dir::Cache::Archives="$apt/cache/archives" \
		-o APT::Sandbox::User=root -o Debug::NoLocking=1 -o Acquire::Languages=none \
		-o Acquire::Retries="${MAINLINE_APT_RETRIES:-3}" \
		-o APT::Architecture=amd64 -o APT::Architectures=amd64
	echo "mainline: apt-get update (private state in $apt; suites: $SUITES)" >&2
	if ! apt-get "$@" update > "$apt/update.log" 2>&1 || grep -qE '^(E:|Err:)' "$apt/update.log"; then
		sed 's/^/mainline:   /' "$apt/update.log" | grep -E 'Err|E:' >&2 || true
		if [ -n "$have_pinned" ]; then
			echo "mainline: WARNING: the newer suites are unreachable; using the kept $have_pinned" >&2
			deb=$have_pinned; version=$VERSION
		else
			die "the newer suites ($SUITES) of the machine's archive are missing or unreachable" \
				"(log: $apt/update.log); check the network or the archive, or put" \
				"$(debname "$VERSION") (sha256 $DEB_SHA256) into $debs"
		fi
	fi
	if [ -z "$deb" ]; then
		version=$(apt-cache "$@" policy "$PKG" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
		{ [ -n "$version" ] && [ "$version" != "(none)" ]; } || \
			die "$PKG is in none of the suites $SUITES of the machine's archive;" \
				"pick another series with MAINLINE_SERIES=7.x, or put $(debname "$VERSION") into $debs"
		if [ -f "$debs/$(debname "$version")" ]; then
			deb=$debs/$(debname "$version")
		else
			echo "mainline: downloading $PKG $version" >&2
			(cd "$debs" && apt-get "$@" download "$PKG=$version" >&2) || \
				die "apt-get download $PKG=$version failed; see the messages above"
			deb=$debs/$(debname "$version")
		fi
	fi
fi
[ -f "$deb" ] || die "internal: $deb not found after download"

deb_sum=$(sha256sum "$deb" | cut -d' ' -f1)
pinned=yes
if [ "$PKG" = "linux-source-$SERIES" ] && [ "$version" = "$VERSION" ]; then
	[ "$deb_sum" = "$DEB_SHA256" ] || die "$deb: sha256 differs from the pin in kernel/mainline.conf:" \
		"  expected $DEB_SHA256" "  got      $deb_sum" \
		"remove the file to download it again; if Debian rebuilt $VERSION, review it and update the pin"
elif [ "$PKG" = "linux-source-$SERIES" ]; then
	pinned=no
	echo "mainline: WARNING: $PKG $version is not the pinned $VERSION (the archive moved on);" >&2
	echo "mainline: WARNING: building on $version (deb sha256 $deb_sum) and recording it" >&2
else
	pinned=no
fi

stamp=$top/source.env
if [ -f "$stamp" ] && grep -qx "DEB_SHA256=$deb_sum" "$stamp" && [ -f "$tree/Makefile" ]; then
	echo "$tree"
	exit 0
fi

echo "mainline: unpacking $deb into $tree" >&2
tmp=$top/unpack.tmp
rm -rf "$tmp" "$tree"
mkdir -p "$tmp"
dpkg-deb -x "$deb" "$tmp/deb"
tarball=$(ls "$tmp"/deb/usr/src/linux-source-*.tar.xz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || die "$deb holds no usr/src/linux-source-*.tar.xz; is it a linux-source package?"
tar_sum=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$pinned" = yes ] && [ "$tar_sum" != "$TARBALL_SHA256" ]; then
	die "$tarball: sha256 differs from the pin in kernel/mainline.conf:" \
		"  expected $TARBALL_SHA256" "  got      $tar_sum"
fi
tar -C "$tmp" -xf "$tarball"
src=$(ls -d "$tmp"/linux-source-* | grep -v '\.tar' | head -n 1)
[ -f "$src/Makefile" ] || die "the tarball in $deb unpacked into no kernel tree"
mv "$src" "$tree"
rm -rf "$tmp"
kver=$(make -s -C "$tree" kernelversion 2>/dev/null || echo unknown)
cat > "$stamp" <<EOF
PKG=$PKG
VERSION=$version
KERNELVERSION=$kver
PINNED=$pinned
DEB=$(basename "$deb")
DEB_SHA256=$deb_sum
TARBALL_SHA256=$tar_sum
EOF
echo "mainline: $PKG $version (kernel $kver, deb sha256 $deb_sum) in $tree" >&2
echo "$tree"
