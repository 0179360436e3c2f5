#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compares imgbuild's layer writer with shell pipelines on a tree shaped
# like a Python install with headers.
#
#   bench/run-layer-bench.sh [--short]
#
# Full mode: about 240 MB in about 14,000 files (a copy of /usr/lib/python3.11
# and /usr/include, topped up with generated source-like text). --short: about
# 24 MB in 1,400 generated files, for CI (under a minute).
# Environment: BUILD_DIR (default build-layer), LAYER_BENCH_DIR (default
# /var/tmp/imgbuild-layer-bench, where the tree is kept for reuse).
set -euo pipefail

short=0
[[ ${1:-} == --short ]] && short=1
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$source_dir/build-layer}
work=${LAYER_BENCH_DIR:-/var/tmp/imgbuild-layer-bench}
bench="$build_dir/bench/layer_bench"

if [[ ! -x $bench ]]; then
  cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build_dir" layer_bench
fi
for tool in tar gzip pigz zstd sha256sum python3; do
  command -v "$tool" >/dev/null || { echo "run-layer-bench: $tool not found; run scripts/install-deps.sh" >&2; exit 1; }
done

# Generated files are real Python sources from this machine with renamed
# functions, cut to an even size, so they compress like code. Without a
# Python install they are words from a fixed vocabulary. A fixed order and
# seed give the same bytes on every run.
generate_text() {
  python3 - "$1" "$2" "$3" <<'PY'
import glob, os, random, sys
root, files, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sources = sorted(glob.glob("/usr/lib/python3*/**/*.py", recursive=True))
texts = []
for path in sources[:3000]:
    try:
        texts.append(open(path, encoding="utf-8").read())
    except (OSError, UnicodeDecodeError):
        pass
rng = random.Random(1234)
words = "def class return import self value index buffer result error None for in if else while with".split()
def filler(size):
    return "".join(" ".join(rng.choice(words) for _ in range(8)) + "\n" for _ in range(size // 40 + 1))
per_file = max(total // max(files, 1), 1)
source = 0
for i in range(files):
    path = os.path.join(root, "gen%02d" % (i % 50), "file%05d.py" % i)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = "# generated copy %d\n" % i
    while len(text) < per_file:
        chunk = texts[source % len(texts)] if texts else filler(per_file)
        source += 1
        text += chunk.replace("def ", "def v%d_" % (i % 13))
    with open(path, "w", encoding="utf-8") as out:
        out.write(text[:per_file])
PY
}

make_tree() {
  local tree=$1
  [[ -f $tree/.complete ]] && return
  rm -rf "$tree"
  mkdir -p "$tree/usr/lib" "$tree/usr/share/generated"
  if ((short)); then
    generate_text "$tree/usr/share/generated" 1400 24000000
  else
    [[ -d /usr/lib/python3.11 ]] && cp -a /usr/lib/python3.11 "$tree/usr/lib/"
    [[ -d /usr/include ]] && cp -a /usr/include "$tree/usr/"
    local files bytes
    files=$(find "$tree" -type f | wc -l)
    bytes=$(du -sb "$tree" | cut -f1)
    generate_text "$tree/usr/share/generated" $((files < 14000 ? 14000 - files : 1)) \
      $((bytes < 240000000 ? 240000000 - bytes : 1000))
  fi
  touch "$tree/.complete"
}

tree="$work/tree"
((short)) && tree="$work/tree-short"
make_tree "$tree"
out="$work/out"
rm -rf "$out"
mkdir -p "$out"

warm() { find "$tree" -type f -print0 | xargs -0 cat >/dev/null; }
now() { date +%s.%N; }

results=()
run_pipeline() {
  local name=$1 compressor=$2
  warm
  local start end cpu
  export tree out name compressor
  start=$(now)
  # /usr/bin/time adds up the CPU time of every process in the pipeline.
  cpu=$(/usr/bin/time -f "%U %S" sh -c \
    'tar --sort=name --numeric-owner -C "$tree" -cf - . | $compressor | tee "$out/$name.blob" | sha256sum >/dev/null' \
    2>&1 >/dev/null | tail -n 1 | awk '{print $1 + $2}')
  end=$(now)
  results+=("$name $(echo "$end - $start" | bc) $cpu $(stat -c %s "$out/$name.blob") -")
  rm -f "$out/$name.blob"
}

run_imgbuild() {
  local compression=$1
  warm
  rm -rf "$out/store"
  local line
  line=$("$bench" "$compression" "$tree" "$out/store")
  local seconds cpu blob tar rss
  seconds=$(sed -E 's/.* seconds=([^ ]+).*/\1/' <<<"$line")
  cpu=$(sed -E 's/.* cpu_seconds=([^ ]+).*/\1/' <<<"$line")
  blob=$(sed -E 's/.* blob_bytes=([^ ]+).*/\1/' <<<"$line")
  tar=$(sed -E 's/.* tar_bytes=([^ ]+).*/\1/' <<<"$line")
  rss=$(sed -E 's/.* peak_rss_kb=([^ ]+).*/\1/' <<<"$line")
  tar_bytes=$tar
  results+=("imgbuild-$compression $seconds $cpu $blob $rss")
  rm -rf "$out/store"
}

tar_bytes=0
run_imgbuild gzip
run_imgbuild zstd
run_pipeline tar-gzip6 "gzip -6 -n"
run_pipeline tar-pigz6 "pigz -6 -n"
run_pipeline tar-zstd-T2 "zstd -q -T2 -3"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tree: $tree ($(find "$tree" -type f | wc -l) files, tar $tar_bytes bytes); cores: $(nproc)"
printf '%-14s %9s %9s %9s %12s %7s %12s\n' contender seconds cpu_s MB/s blob_bytes ratio peak_rss_MB
declare -A seconds_of blob_of
for row in "${results[@]}"; do
  read -r name seconds cpu blob rss <<<"$row"
  seconds_of[$name]=$seconds
  blob_of[$name]=$blob
  rate=$(echo "scale=1; $tar_bytes / 1000000 / $seconds" | bc)
  ratio=$(echo "scale=3; $blob / $tar_bytes" | bc)
  [[ $rss != - ]] && rss=$(echo "scale=1; $rss / 1024" | bc)
  printf '%-14s %9.2f %9.2f %9s %12s %7s %12s\n' "$name" "$seconds" "$cpu" "$rate" "$blob" "$ratio" "$rss"
done
speedup() { echo "scale=2; ${seconds_of[$2]} / ${seconds_of[$1]}" | bc; }
echo "imgbuild gzip vs tar|gzip -6: $(speedup imgbuild-gzip tar-gzip6)x, vs tar|pigz -6: $(speedup imgbuild-gzip tar-pigz6)x," \
  "blob size vs gzip -6: ${blob_of[imgbuild-gzip]} / ${blob_of[tar-gzip6]}"
echo "imgbuild zstd vs tar|zstd -T2 -3: $(speedup imgbuild-zstd tar-zstd-T2)x"
