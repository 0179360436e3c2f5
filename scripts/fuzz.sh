#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang in build-fuzz and runs the layer
# unpacker fuzzer for SECONDS (default 60) on a seed corpus of small layers.
# Exits non-zero when the fuzzer finds a crash; the reproducer is left in
# build-fuzz/findings/.
set -euo pipefail

seconds=${1:-60}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$source_dir/build-fuzz"

cmake -S "$source_dir" -B "$build_dir" -G Ninja -DIMGBUILD_FUZZ=ON -DIMGBUILD_TESTS=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build_dir" unpack_fuzz

corpus="$build_dir/corpus/unpack"
findings="$build_dir/findings"
mkdir -p "$corpus" "$findings"

# Seeds: one small tree as plain tar, gzip (two members) and zstd, plus the
# hostile shapes the unpacker must reject or confine.
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds/tree/dir/sub"
printf 'hello\n' >"$seeds/tree/dir/file"
ln "$seeds/tree/dir/file" "$seeds/tree/dir/hardlink"
ln -s ../dir/file "$seeds/tree/dir/sub/symlink"
touch "$seeds/tree/dir/.wh.gone" "$seeds/tree/dir/sub/.wh..wh..opq"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=pax \
  -C "$seeds/tree" -cf "$corpus/plain.tar" dir
head -c 1024 "$corpus/plain.tar" | gzip -n >"$corpus/members.tar.gz"
tail -c +1025 "$corpus/plain.tar" | gzip -n >>"$corpus/members.tar.gz"
zstd -q -f "$corpus/plain.tar" -o "$corpus/plain.tar.zst"
python3 - "$corpus" <<'PY'
import io, sys, tarfile
def craft(name, members):
    with tarfile.open(f"{sys.argv[1]}/{name}", "w", format=tarfile.PAX_FORMAT) as archive:
        for path, kind, value in members:
            info = tarfile.TarInfo(path)
            if kind == "f":
                info.size = len(value)
                archive.addfile(info, io.BytesIO(value.encode()))
                continue
            info.type = {"l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE, "d": tarfile.DIRTYPE}[kind]
            info.linkname = value
            archive.addfile(info)
craft("dotdot.tar", [("../../escape", "f", "x")])
craft("absolute.tar", [("/abs", "f", "x")])
craft("through-link.tar", [("lnk", "l", "/"), ("lnk/etc/evil", "f", "x")])
craft("hardlink-out.tar", [("hl", "h", "../../etc/passwd")])
craft("dirlink.tar", [("up", "l", "../../.."), ("up/escape", "f", "x")])
PY

status=0
"$build_dir/tests/fuzz/unpack_fuzz" "$corpus" -max_total_time="$seconds" -max_len=65536 \
  -artifact_prefix="$findings/" -print_final_stats=1 2>"$build_dir/fuzz.log" || status=$?
grep -E '^(stat::|#[0-9]+ +DONE|==[0-9]+==ERROR|SUMMARY)' "$build_dir/fuzz.log" || true
if ((status != 0)); then
  tail -n 60 "$build_dir/fuzz.log"
  echo "fuzz: the unpacker fuzzer failed (exit $status); reproducer in $findings" >&2
  exit "$status"
fi
echo "fuzz: no findings in ${seconds} s"
