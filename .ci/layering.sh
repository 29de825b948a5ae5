#!/usr/bin/env bash
# Checks the package layering of STYLE.md §1/§4/§8: cmd → vfs → catalog → backing, go-fuse and
# errno constants only in vfs/cmd, the process-wide logger set only in cmd. Prints every violation
# and exits 1 if there is any (like gocryptfs test.bash, which greps its source for its own rules).
#
# Inside catalog/ (non-test imports; tests may use any package, e.g. demo data):
#   catalog/nirs4all  parsers of nirs4all's files: imports no package of n4ws at all
#   catalog/demo      demo generator: may import catalog/nirs4all only
#   catalog           the core: may import backing and catalog/nirs4all, no other sub-package
#                     (it reaches the reports through its Reports interface)
#   catalog/importer, catalog/bundle, catalog/report
#                     features built on the core: may import backing, catalog, catalog/nirs4all,
#                     not one another nor demo
#   catalog/live      the live projection of a nirs4all store.sqlite: may import backing,
#                     catalog, catalog/nirs4all and catalog/importer (whose mapping it shares)
#   catalog/importer/standintest
#                     test helper running the nirs4all stand-in: imports no package of n4ws
#   importer, bundle, report, demo are imported only by cmd and vfs (and importer by live);
#   live only by cmd.
# A new package under catalog/ must be added to these rules (the script fails until it is).
set -euo pipefail
cd "$(dirname "$0")/.."

mod=$(go list -m)
fuse=github.com/hanwen/go-fuse
status=0
bad() { echo "layering: $*" >&2; status=1; }

# under PKG TOP: is PKG the package TOP or one below it?
under() { [[ $1 == "$2" || $1 == "$2"/* ]]; }

cat=$mod/catalog
features=("$cat/importer" "$cat/bundle" "$cat/report" "$cat/demo" "$cat/live")

# catalogRule PKG DEP: the rules inside catalog/ (see the header) for PKG importing DEP, a
# package of this module.
catalogRule() {
	local pkg=$1 dep=$2 f
	for f in "${features[@]}"; do
		if [[ $dep == "$f" ]] && ! under "$pkg" "$mod/cmd" && ! under "$pkg" "$mod/vfs" &&
			! [[ $pkg == "$cat/live" && $dep == "$cat/importer" ]]; then
			bad "$pkg imports $dep: only cmd and vfs import ${f#"$mod"/}"
		fi
	done
	case $pkg in
	"$cat/nirs4all" | "$cat/importer/standintest")
		bad "$pkg imports $dep: ${pkg#"$mod"/} imports no package of n4ws" ;;
	"$cat/live")
		[[ $dep == "$cat" || $dep == "$cat/nirs4all" || $dep == "$cat/importer" ]] || under "$dep" "$mod/backing" ||
			bad "$pkg imports $dep: catalog/live may import backing, catalog, catalog/nirs4all and catalog/importer only" ;;
	"$cat/demo")
		[[ $dep == "$cat/nirs4all" ]] || bad "$pkg imports $dep: catalog/demo may import catalog/nirs4all only" ;;
	"$cat")
		[[ $dep == "$cat/nirs4all" ]] || under "$dep" "$mod/backing" ||
			bad "$pkg imports $dep: the catalog core imports backing and catalog/nirs4all only" ;;
	"$cat/importer" | "$cat/bundle" | "$cat/report")
		[[ $dep == "$cat" || $dep == "$cat/nirs4all" ]] || under "$dep" "$mod/backing" ||
			bad "$pkg imports $dep: ${pkg#"$mod"/} may import backing, catalog and catalog/nirs4all only" ;;
	esac
}

# Every package under catalog/ has its rule above: a new one must be placed in the layering.
catpkgs=$(go list ./catalog/...)
for pkg in $catpkgs; do
	case $pkg in
	"$cat" | "$cat/nirs4all" | "$cat/importer" | "$cat/bundle" | "$cat/report" | "$cat/demo" | "$cat/live" | "$cat/importer/standintest") ;;
	*) bad "$pkg: a package under catalog/ that .ci/layering.sh has no rule for" ;;
	esac
done

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
		[[ $dep == "$mod" || $dep == "$mod"/* ]] && catalogRule "$pkg" "$dep"
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
