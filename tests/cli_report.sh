#!/usr/bin/env bash
# `unblur eval --report`: a tiny paired set made from the bundled scene (in a folder whose name needs
# HTML escaping), methods identity + a random model; the report has the table, the curve and one
# thumbnail (JPEG) and one crop (PNG) per shown image and column, and nothing external; headless
# Chromium renders it to a screenshot that is not blank. Skipped (77) without chromium.
# usage: cli_report.sh UNBLUR WORKDIR SOURCE_DIR
set -u
u=$1 work=$2 src=$3
if ! command -v chromium > /dev/null; then
  echo "SKIP: chromium is not installed (scripts/install-deps installs it)"
  exit 77
fi
rm -rf "$work"; mkdir -p "$work"
work=$(cd "$work" && pwd)  # file:// needs an absolute path
. "$(dirname "$0")/harness.sh"
ex=$src/examples
set_dir="$work/p&<x>"
mkdir -p "$set_dir/blur" "$set_dir/sharp" "$work/run"

for i in 1 2 3; do
  $u synth "$ex/scene.png" -o "$set_dir/blur/s$i.png" --sharp-out "$set_dir/sharp/s$i.png" --preset shake \
     --seed $i --quiet
done
$u model init -o "$work/m.safetensors" --width 8 --blocks 1 --depth 1 --quiet
printf '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"><path d="M0 40 L200 10" stroke="red"/></svg>\n' \
  > "$work/run/curve.svg"
$u eval --set "pairs:$set_dir" --method identity --method "model:$work/m.safetensors" --method wiener \
   --report "$work/r.html" --report-images 2 --run "$work/run" --quiet > "$work/table.md"
check "report: exit 0" "[ $? -eq 0 ] && [ -s '$work/r.html' ]"
h=$work/r.html
check "the summary table, names escaped" "grep -q '<td>pairs:p&amp;&lt;x&gt;</td><td>identity</td><td>3</td>' '$h'"
check "no raw name in the page" "! grep -q 'p&<x>' '$h'"
check "the model's row and wiener n/a" "grep -q '/m</td><td>3</td>' '$h' && grep -q '<td>wiener</td><td>3</td><td>n/a' '$h'"
# 2 images x (blurry, identity, model, sharp): a JPEG thumbnail and a PNG crop each; wiener is n/a
check "8 thumbnails (JPEG)" "[ \$(grep -o 'data:image/jpeg;base64,' '$h' | wc -l) -eq 8 ]"
check "8 crops (PNG), zoomed nearest-neighbour" "[ \$(grep -o 'data:image/png;base64,' '$h' | wc -l) -eq 8 ] && grep -q 'image-rendering:pixelated' '$h'"
check "the run's curve embedded" "[ \$(grep -o 'data:image/svg+xml;base64,' '$h' | wc -l) -eq 1 ]"
check "a spread: the first and the last image" "grep -q '<h3>s1 ' '$h' && grep -q '<h3>s3 ' '$h' && ! grep -q '<h3>s2 ' '$h'"
check "nothing external" "! grep -Eq '(src|href)=\"(https?:|file:|//)' '$h'"
check "the PSNR under the thumbnails" "grep -q '[0-9] dB</b>' '$h'"
check "the temporary outputs removed" "[ -z \"\$(ls -A '$work' | grep unblur-report)\" ]"

# with --save: the saved outputs are used and kept
$u eval --set "pairs:$set_dir:limit=1" --method identity --save "$work/out" --report "$work/r2.html" --quiet > /dev/null
check "--save + --report: outputs kept, one image" "[ -s '$work/out/pairs_p__x_/identity/s1.png' ] && [ \$(grep -o 'data:image/jpeg' '$work/r2.html' | wc -l) -eq 3 ]"
one_line_error "--run without --report" "need --report" -- $u eval --set "pairs:$set_dir" --run "$work/run"
one_line_error "a missing curve" "nope/curve.svg" -- $u eval --set "pairs:$set_dir:limit=1" --report "$work/r3.html" --run "$work/nope"
check "a failed report leaves no file" "[ ! -e '$work/r3.html' ]"

# render: a screenshot of the report and one of an empty page, same size
shoot() {
  local prof; prof=$(mktemp -d)
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$prof" --screenshot="$1" --window-size=1200,1600 "$2" \
    > "$work/chromium.log" 2>&1
  rm -rf "$prof"
}
shoot "$work/shot.png" "file://$h"
printf '<!DOCTYPE html><html><body></body></html>\n' > "$work/blank.html"
shoot "$work/blank.png" "file://$work/blank.html"
check "screenshot: 1200x1600" "$u info '$work/shot.png' | grep -q '1200x1600'"
check "the empty page's screenshot: 1200x1600" "$u info '$work/blank.png' | grep -q '1200x1600'"
psnr=$($u metrics "$work/blank.png" "$work/shot.png" | awk '{print $2}')
check "screenshot far from an empty page (PSNR $psnr dB < 20)" "awk -v p='$psnr' 'BEGIN{exit !(p+0 < 20)}'"
# a one-colour PNG of any colour compresses to a few kB; the report's thumbnails do not
sb=$(stat -c %s "$work/shot.png") bb=$(stat -c %s "$work/blank.png")
check "screenshot not one colour ($sb bytes, empty page $bb)" "[ $sb -gt 100000 ] && [ $sb -gt \$((20 * bb)) ]"

finish cli_report
