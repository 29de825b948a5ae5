#!/usr/bin/env bash
# Checks the package layering of STYLE.md §1/§4/§8: cmd → vfs → catalog → backing, go-fuse and
# errno constants only in vfs/cmd, the process-wide logger set only in cmd. Prints every violation
# and exits 1 if there is any (like gocryptfs test.bash, which greps its source for its own rules).
set -euo pipefail
cd "$(dirname "$0")/.."

mod=$(go list -m)
fuse=github.com/hanwen/go-fuse
status=0
bad() { echo "layering: $*" >&2; status=1; }

# under PKG TOP: is PKG the package TOP or one below it?
under() { [[ $1 == "$2" || $1 == "$2"/* ]]; }

# Captured first, so that a failing go list fails the script (set -e).
imports=$(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)
while read -r pkg deps; do
	for dep in $deps; do
		# cmd/n4ws may have helper packages of its own under cmd/.
		if under "$dep" "$mod/cmd" && ! under "$pkg" "$mod/cmd"; then
			bad "$pkg imports $dep: nothing imports cmd"
		fi
		if under "$pkg" "$mod/backing"; then
			for top in "$mod/vfs" "$mod/catalog" "$mod/cmd" "$fuse"; do
				under "$dep" "$top" && bad "$pkg imports $dep: backing knows nothing above it"
			done
		fi
		if under "$pkg" "$mod/catalog"; then
			for top in "$mod/vfs" "$mod/cmd" "$fuse"; do
				under "$dep" "$top" && bad "$pkg imports $dep: catalog knows nothing above it"
			done
		fi
	done
done <<<"$imports"

# Go files to grep, leaving out the demo store/mount and build output.
gofiles() { find . \( -path ./.git -o -path ./demo -o -path ./bin "$@" \) -prune -o -name '*.go' -print; }

# Errno values and go-fuse belong to the vfs boundary (and cmd, integration tests); the word
# "go-fuse" in a comment is fine, so the grep looks for the import path.
hits=$(gofiles -o -path ./vfs -o -path ./cmd -o -path ./integration | grep -v '_test\.go$' |
	xargs -r grep -nE 'syscall\.(E[A-Z0-9]|Errno)|"github\.com/hanwen/go-fuse' || true)
[[ -z $hits ]] || bad "errno or go-fuse outside vfs/ and cmd/:"$'\n'"$hits"

hits=$(gofiles -o -path ./cmd | xargs -r grep -n 'slog\.SetDefault' || true)
[[ -z $hits ]] || bad "slog.SetDefault outside cmd/:"$'\n'"$hits"

[[ $status == 0 ]] && echo "layering: ok"
exit "$status"
