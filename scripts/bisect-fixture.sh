#!/usr/bin/env bash
# A real kernel history for a zlab bisect demonstration:
#
#   scripts/bisect-fixture.sh DEST
#
# makes DEST a git repository holding Debian's linux-source-6.12 (the source
# kernels/recipes builds) as its base commit, and five commits on top:
#
#   1. zram: a comment fixed in zram_write_page          (harmless)
#   2. mm/Kconfig: ZSWAP's help text says more            (harmless)
#   3. zram: a pause after every compressed write         (THE REGRESSION)
#   4. Documentation: zram.rst says what compact compacts (harmless)
#   5. zsmalloc: a comment in the header                  (harmless)
#
# Commit 3 busy-waits ZRAM_WRITE_PACE_US (250 us) after each page zram
# compresses, in kswapd's and direct reclaim's swap-out path, which lowers
# the reclaim rate (pgsteal_anon_per_sec) on the virtual device several
# times over. Authors and dates are fixed, so the same tarball always gives
# the same commit ids. The last lines printed are the base, the tip and the
# planted commit, for zlab bisect start --good BASE --bad TIP.
#
# Debian's top-level .gitignore ignores every top-level path (its packaging
# lives there), so every file is added with -f.
#
# The base tree is copied from the kernel build cache when an earlier build
# unpacked the same package there (ZLAB_CACHE_DIR/kernel-src/VERSION/tree),
# otherwise unpacked from the tarball. DEST must not exist yet (or be empty)
# and must lie outside the zlab checkout. It takes about 2 GB of disk.
set -euo pipefail

die() {
  echo "bisect-fixture: error: $*" >&2
  exit 2
}
say() { echo "bisect-fixture: $*" >&2; }
trap 'echo "bisect-fixture: error: line $LINENO: $BASH_COMMAND failed" >&2' ERR

[[ $# -eq 1 && -n "$1" ]] || die "give the destination folder: scripts/bisect-fixture.sh DEST"
checkout=$(cd "$(dirname "$0")/.." && pwd -P)
dest=$(realpath -m "$1")
case "$dest/" in
  "$checkout"/*) die "$dest is inside the zlab checkout $checkout; put the fixture elsewhere (e.g. /var/tmp/zlab-bisect-fixture)" ;;
esac
if [[ -e "$dest" ]]; then
  [[ -d "$dest" ]] || die "$dest exists and is not a folder"
  [[ -z "$(ls -A "$dest")" ]] || die "$dest is not empty; remove it or name another folder"
fi

# The tarball the recipes use (the newest match of their glob).
tarball=$(ls /usr/src/linux-source-6.12*.tar.xz 2>/dev/null | sort -V | tail -n 1 || true)
[[ -n "$tarball" ]] || die "no /usr/src/linux-source-6.12*.tar.xz; install Debian's linux-source-6.12 (scripts/bootstrap.sh does)"
package=$(dpkg-query -S "$tarball" 2>/dev/null | cut -d: -f1 || true)
version=$( [[ -n "$package" ]] && dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true)

# harness/kernel/source.ts keeps a complete unpacked tree beside its source.json.
cache=${ZLAB_CACHE_DIR:-$HOME/.cache/zlab}
cached=""
if [[ -n "$version" ]]; then
  safe=$(printf '%s' "$version" | sed 's/[^A-Za-z0-9.+~_-]/_/g')
  if [[ -f "$cache/kernel-src/$safe/source.json" && -f "$cache/kernel-src/$safe/tree/Makefile" ]]; then
    cached="$cache/kernel-src/$safe/tree"
  fi
fi

mkdir -p "$dest" || die "cannot create $dest"
start=$(date +%s)
if [[ -n "$cached" ]]; then
  say "copying the unpacked $package $version from $cached"
  # A real copy, not hard links: edits in the fixture must never reach the cache.
  cp -a "$cached/." "$dest/"
else
  say "unpacking $tarball"
  tar -xf "$tarball" -C "$dest" --strip-components=1
fi
[[ -f "$dest/Makefile" && -f "$dest/drivers/block/zram/zram_drv.c" ]] || die "$dest: no kernel tree after unpacking $tarball"
say "tree ready in $(($(date +%s) - start)) s"

cd "$dest"
git init -q -b master .
# ~87k files: index v4 and the untracked cache keep git status quick; no automatic gc.
git config feature.manyFiles true
git config core.untrackedCache true
git config gc.auto 0
git config user.name "zlab bisect fixture"
git config user.email "zlab-bisect-fixture@localhost"

# Fixed dates (from the tarball's Makefile, one hour apart) make the ids reproducible.
epoch=$(stat -c %Y Makefile)
n=0
commit() {
  local when=$((epoch + n * 3600))
  n=$((n + 1))
  GIT_AUTHOR_DATE="@$when +0000" GIT_COMMITTER_DATE="@$when +0000" git commit -q "$@"
  git rev-parse HEAD
}

# Replace exactly one occurrence of a literal line block in a file (perl, no regex
# surprises), writing a new file rather than through any link.
replace_once() {
  local file=$1 old=$2 new=$3
  OLD=$old NEW=$new perl -0777 -i -pe '
    my $n = () = /\Q$ENV{OLD}\E/g;
    die "expected the text once, found it $n times\n" unless $n == 1;
    s/\Q$ENV{OLD}\E/$ENV{NEW}/;
  ' "$file" || die "$file: could not apply an edit (has the source changed?)"
}

start=$(date +%s)
say "committing the base tree (every file, .gitignore'd ones too: the tree is exactly the tarball)"
git add -A -f .
base=$(commit -m "Linux $(make -s kernelversion) from $(basename "$tarball") (${package:-linux-source} ${version:-unknown})")
say "base commit in $(($(date +%s) - start)) s"

replace_once drivers/block/zram/zram_drv.c \
'	/*
	 * Free memory associated with this sector
	 * before overwriting unused sectors.
	 */' \
'	/*
	 * Free the memory this slot held before publishing the new
	 * handle: a slot is overwritten in place.
	 */'
git add -f drivers/block/zram/zram_drv.c
commit -m "zram: say why zram_write_page frees the slot before publishing the handle" >/dev/null

replace_once mm/Kconfig \
'	  in the case where decompressing from RAM is faster than swap device
	  reads, can also improve workload performance.
' \
'	  in the case where decompressing from RAM is faster than swap device
	  reads, can also improve workload performance.

	  zswap sits in front of any swap device, zram included; with zram
	  as the only swap device it usually only adds a second copy.
'
git add -f mm/Kconfig
commit -m "mm: Kconfig: ZSWAP help says how it combines with zram" >/dev/null

# The planted regression.
replace_once drivers/block/zram/zram_drv.c \
'#include <linux/kernel_read_file.h>
' \
'#include <linux/kernel_read_file.h>
#include <linux/delay.h>
'
replace_once drivers/block/zram/zram_drv.c \
'	zs_unmap_object(zram->mem_pool, handle);
	atomic64_add(comp_len, &zram->stats.compr_data_size);
out:' \
'	zs_unmap_object(zram->mem_pool, handle);
	atomic64_add(comp_len, &zram->stats.compr_data_size);
	/*
	 * Pace compressed writes so that zsmalloc compaction keeps up with
	 * a burst of swap-out.
	 */
	udelay(ZRAM_WRITE_PACE_US);
out:'
replace_once drivers/block/zram/zram_drv.c \
'static size_t huge_class_size;
' \
'static size_t huge_class_size;
/* Microseconds zram_write_page waits after storing a compressed page. */
#define ZRAM_WRITE_PACE_US 250
'
git add -f drivers/block/zram/zram_drv.c
planted=$(commit -m "zram: pace compressed writes so zsmalloc compaction keeps up")

replace_once Documentation/admin-guide/blockdev/zram.rst \
'compact           	WO	trigger memory compaction
' \
'compact           	WO	trigger memory compaction (zsmalloc; see mm_stat)
'
git add -f Documentation/admin-guide/blockdev/zram.rst
commit -m "Documentation: zram: compact triggers zsmalloc compaction" >/dev/null

replace_once mm/zsmalloc.c \
' * Usage of struct page flags:
 *	PG_private: identifies the first component page
' \
' * Usage of struct page flags (see also SetZsPageMovable()):
 *	PG_private: identifies the first component page
'
git add -f mm/zsmalloc.c
tip=$(commit -m "zsmalloc: point the page-flag notes at SetZsPageMovable")

git log --oneline >&2
echo "base $base"
echo "tip $tip"
echo "planted $planted"
