#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
#   kernel/check-config.sh DOTCONFIG FRAGMENT...
#
# After olddefconfig, every option a fragment asks for must be set exactly
# as asked: Kconfig silently drops what it cannot honour (an unmet
# dependency, a symbol this kernel does not have). Names each option that
# is not, and fails.
set -eu

dotconfig=$1
shift
bad=0
# Merge the fragments as merge_config.sh does: a later fragment's value for
# an option replaces an earlier one's. One "CONFIG_X value fragment" line per
# option ("# CONFIG_X is not set" counts as n).
for frag in "$@"; do
	[ -f "$frag" ] || { echo "config: fragment $frag not found" >&2; exit 1; }
	sed -n -e "s|^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)\$|\1 \2 $(basename "$frag")|p" \
		-e "s|^# \(CONFIG_[A-Za-z0-9_]*\) is not set\$|\1 n $(basename "$frag")|p" "$frag"
done | awk '{ v[$1] = $0; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
	END { for (i = 0; i < n; i++) print v[order[i]] }' |
while read -r opt want frag; do
	have=$(sed -n -e "s/^$opt=\(.*\)\$/\1/p" \
		-e "s/^# $opt is not set\$/n/p" "$dotconfig")
	[ -n "$have" ] || have=n
	[ "$have" = "$want" ] && continue
	if grep -q "^$opt=\|^# $opt is not set" "$dotconfig" || [ "$want" = n ]; then
		echo "config: $opt=$want asked by $frag, but the kernel config has $opt=$have (unmet dependency?)"
	else
		echo "config: $opt=$want asked by $frag, but this kernel has no such option"
	fi
done > "$dotconfig.check"
if [ -s "$dotconfig.check" ]; then
	cat "$dotconfig.check" >&2
	echo "config: $(wc -l < "$dotconfig.check") option(s) not as asked; stopping" >&2
	bad=1
fi
rm -f "$dotconfig.check"
exit $bad
