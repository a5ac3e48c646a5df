#!/usr/bin/env bash
# run_hostile.sh UNBLUR_BIN MAKE_HOSTILE_BIN WORKDIR
#
# Hostile-input battery for the unblur command-line program. Builds the files
# with make_hostile into WORKDIR/files, then runs
#     unblur info IN
#     unblur convert IN WORKDIR/out/x.png
#     unblur convert IN WORKDIR/out/x.jpg
#     unblur metrics IN IN
# on each, plus cases that are not file contents (directories, missing files,
# unwritable / missing / occupied output paths, unknown extensions, bad options).
#
# A failing run must: exit 1 (usage errors: 2), print exactly one line on
# stderr that starts with "unblur: " and names the file, carry no sanitizer
# report, not die of a signal, not hang, and leave the output folder empty
# (no OUT, no OUT.* / .OUT.* temporary). A successful run must print nothing
# on stderr and, for convert, leave exactly the output file, which unblur must
# be able to read back.
#
# Prints PASS/FAIL per case and a summary; exits 1 if any case failed.
# Environment: HOSTILE_TIMEOUT (seconds per command, default 30),
#              HOSTILE_VERBOSE=1 (print the stderr of passing cases too),
#              HOSTILE_ONLY=glob (only the manifest files matching the glob),
#              HOSTILE_OTHER=0|1 (skip / run the non-file cases; default: run
#              them unless HOSTILE_ONLY is given).

set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 UNBLUR_BIN MAKE_HOSTILE_BIN WORKDIR" >&2
    exit 2
fi
UNBLUR=$1
MAKE_HOSTILE=$2
WORK=$3
TIMEOUT=${HOSTILE_TIMEOUT:-30}
VERBOSE=${HOSTILE_VERBOSE:-0}
ONLY=${HOSTILE_ONLY:-*}
OTHER=${HOSTILE_OTHER:-auto}
if [ "$OTHER" = auto ]; then
    if [ "$ONLY" = "*" ]; then OTHER=1; else OTHER=0; fi
fi

# Global options added on every run, right after the command word (unblur
# takes them after the command: "unblur info --quiet IN"): no progress
# output, few threads (the machines running this are small).
GLOBAL=(--quiet --threads 2)

for f in "$UNBLUR" "$MAKE_HOSTILE"; do
    if [ ! -x "$f" ]; then
        echo "run_hostile: $f: not an executable" >&2
        exit 2
    fi
done

case $WORK in
    "" | / ) echo "run_hostile: refusing WORKDIR '$WORK'" >&2; exit 2 ;;
esac
# make sure a previous run's read-only folder can be removed
[ -d "$WORK" ] && chmod -R u+w "$WORK" 2>/dev/null
rm -rf "$WORK"
FILES=$WORK/files
OUT=$WORK/out
AUX=$WORK/aux
TMP=$WORK/tmp
mkdir -p "$FILES" "$OUT" "$AUX" "$TMP" || exit 2

if ! "$MAKE_HOSTILE" "$FILES" >"$WORK/manifest.tsv" 2>"$TMP/make.err"; then
    echo "run_hostile: $MAKE_HOSTILE failed:" >&2
    cat "$TMP/make.err" >&2
    exit 2
fi

STDOUT_F=$TMP/stdout
STDERR_F=$TMP/stderr
RSS_F=$TMP/rss
NPASS=0
NFAIL=0
NSKIP=0
FAILED=()

HAVE_TIME=0
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o "$RSS_F" true 2>/dev/null; then
    HAVE_TIME=1
fi

# ---------------------------------------------------------------------------
# check LABEL EXPECT NAMES OUTFILE -- ARGS...
#   EXPECT  0 success, 1 runtime error, 2 usage error, '*' 0 or 1,
#           'e' 1 or 2 (an error of either kind)
#   NAMES   '|'-separated paths of which the error line must contain one
#           ('' = no requirement beyond the "unblur: " prefix)
#   OUTFILE the file a successful run must create ('' = none)
# Knobs (reset after each call):
#   CHECK_DIR  folder that must be left clean (default $OUT)
#   KEEP       entry allowed to remain in CHECK_DIR
#   MAX_RSS_KB also measure the peak memory and require it below this
# Sets RC to the exit status.
CHECK_DIR=$OUT
KEEP=
MAX_RSS_KB=
RC=0

reset_knobs() {
    CHECK_DIR=$OUT
    KEEP=
    MAX_RSS_KB=
}

# The entries of folder $1 except $2, in the array LISTING (bash builtins only:
# this runs hundreds of times and forks are slow under load).
LISTING=()
list_dir() {
    local e saved
    saved=$(shopt -p nullglob dotglob)
    shopt -s nullglob dotglob
    LISTING=()
    for e in "$1"/*; do
        e=${e##*/}
        [ -n "$2" ] && [ "$e" = "$2" ] && continue
        LISTING+=("$e")
    done
    eval "$saved"
}

clean_dir() { # empties folder $1 except entry $2
    list_dir "$1" "$2"
    local e
    for e in "${LISTING[@]}"; do rm -rf -- "${1:?}/$e"; done
}

slurp() { # the whole of file $1 into SLURP
    SLURP=
    [ -f "$1" ] && IFS= read -r -d '' SLURP <"$1"
    return 0
}

check() {
    local label=$1 expect=$2 names=$3 outfile=$4
    shift 5 # the fifth is the "--" separator
    local problems=() rss=""

    clean_dir "$CHECK_DIR" "$KEEP"
    if [ -n "$MAX_RSS_KB" ] && [ "$HAVE_TIME" = 1 ]; then
        rm -f "$RSS_F"
        timeout -k 5 "$TIMEOUT" /usr/bin/time -f %M -o "$RSS_F" \
            "$UNBLUR" "$1" "${GLOBAL[@]}" "${@:2}" </dev/null >"$STDOUT_F" 2>"$STDERR_F"
        RC=$?
        slurp "$RSS_F"
        # GNU time reports a signal death in its own output file
        [[ $SLURP == *"terminated by signal"* ]] && problems+=("died of a signal (${SLURP%%$'\n'*})")
        rss=${SLURP%$'\n'}
        rss=${rss##*$'\n'}
    else
        timeout -k 5 "$TIMEOUT" "$UNBLUR" "$1" "${GLOBAL[@]}" "${@:2}" </dev/null >"$STDOUT_F" 2>"$STDERR_F"
        RC=$?
    fi
    local err out
    slurp "$STDERR_F"; err=$SLURP
    slurp "$STDOUT_F"; out=$SLURP

    # crashes, hangs, sanitizers
    if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
        problems+=("hung: killed after ${TIMEOUT}s (status $RC)")
    elif [ "$RC" -ge 128 ]; then
        problems+=("died of signal $((RC - 128))")
    fi
    local pat
    for pat in AddressSanitizer LeakSanitizer ThreadSanitizer MemorySanitizer \
               UndefinedBehaviorSanitizer "runtime error:"; do
        if [[ $err == *"$pat"* || $out == *"$pat"* ]]; then
            problems+=("sanitizer report ($pat)")
            break
        fi
    done

    # exit status
    local status_ok=0
    case $expect in
        0 | 1 | 2) [ "$RC" = "$expect" ] && status_ok=1 ;;
        '*') { [ "$RC" = 0 ] || [ "$RC" = 1 ]; } && status_ok=1 ;;
        e) { [ "$RC" = 1 ] || [ "$RC" = 2 ]; } && status_ok=1 ;;
    esac
    if [ "$status_ok" = 0 ]; then
        case $expect in
            '*') problems+=("exit status $RC, expected 0 or 1") ;;
            e) problems+=("exit status $RC, expected 1 or 2") ;;
            *) problems+=("exit status $RC, expected $expect") ;;
        esac
    fi

    local nl=${err//[!$'\n']/}
    local lines=${#nl}
    if [ "$RC" = 0 ]; then
        [ -n "$err" ] && problems+=("succeeded but wrote to stderr")
        if [ -n "$outfile" ]; then
            if [ ! -f "$outfile" ] || [ ! -s "$outfile" ]; then
                problems+=("succeeded but $outfile is missing or empty")
            fi
            list_dir "$CHECK_DIR" "${outfile##*/}"
            local e extra=""
            for e in "${LISTING[@]}"; do [ "$e" != "$KEEP" ] && extra+="$e "; done
            [ -n "$extra" ] && problems+=("stray files next to the output: $extra")
        fi
    elif [ "$RC" = 1 ]; then
        # one line, newline-terminated, "unblur: " prefix, names a file
        if [ "$lines" != 1 ] || [[ $err != *$'\n' ]]; then
            problems+=("stderr is not exactly one line ($lines newlines, ${#err} bytes)")
        fi
        [[ $err == "unblur: "* ]] || problems+=("stderr does not start with 'unblur: '")
        if [ -n "$names" ]; then
            local found=0 n
            local -a alts
            IFS='|' read -r -a alts <<<"$names"
            for n in "${alts[@]}"; do
                [[ $err == *"$n"* ]] && found=1
            done
            [ "$found" = 0 ] && problems+=("stderr does not name the file (${names//|/ or })")
        fi
    elif [ "$RC" -lt 124 ]; then
        # usage errors (2) may print a usage text; they must say something
        [ -z "$err" ] && problems+=("exit status $RC with nothing on stderr")
    fi
    if [ "$RC" != 0 ]; then
        list_dir "$CHECK_DIR" "$KEEP"
        [ ${#LISTING[@]} -gt 0 ] && problems+=("left files behind in $CHECK_DIR: ${LISTING[*]}")
    fi
    if [ -n "$rss" ] && [ -n "$MAX_RSS_KB" ] && [ "$rss" -gt "$MAX_RSS_KB" ] 2>/dev/null; then
        problems+=("peak memory ${rss} KiB > ${MAX_RSS_KB} KiB")
    fi

    if [ ${#problems[@]} -eq 0 ]; then
        NPASS=$((NPASS + 1))
        echo "PASS  $label  (exit $RC${rss:+, ${rss} KiB})"
        if [ "$VERBOSE" = 1 ] && [ -n "$err" ]; then
            printf '%s\n' "${err%$'\n'}" | head -n 5 | sed 's/^/        | /'
        fi
    else
        NFAIL=$((NFAIL + 1))
        FAILED+=("$label")
        echo "FAIL  $label  (exit $RC${rss:+, ${rss} KiB})"
        echo "        command: $UNBLUR $1 ${GLOBAL[*]} ${*:2}"
        local p
        for p in "${problems[@]}"; do echo "        - $p"; done
        if [ -n "$err" ]; then
            echo "        stderr ($lines lines):"
            printf '%s\n' "${err%$'\n'}" | head -n 12 | cut -c 1-200 | sed 's/^/        | /'
        fi
    fi
    reset_knobs
    return 0
}

skip() {
    NSKIP=$((NSKIP + 1))
    echo "SKIP  $1  ($2)"
}

# ---------------------------------------------------------------------------
# 1. the files of the manifest

NFILES=0
while IFS=$'\t' read -r name expect desc; do
    [ -z "$name" ] && continue
    # shellcheck disable=SC2254
    case $name in $ONLY) ;; *) continue ;; esac
    NFILES=$((NFILES + 1))
    in=$FILES/$name
    e_info=${expect:0:1} e_png=${expect:1:1} e_jpg=${expect:2:1} e_met=${expect:3:1}
    echo "----  $name [$expect]: $desc"

    clean_dir "$OUT" ""
    check "$name: info" "$e_info" "$in" "" -- info "$in"
    decodes=0
    [ "$RC" = 0 ] && decodes=1

    # when the input decodes, a convert error may be about the output
    cnames=$in
    [ "$decodes" = 1 ] && cnames="$in|$OUT/x.png|$OUT/x.jpg"

    check "$name: convert to png" "$e_png" "$cnames" "$OUT/x.png" -- convert "$in" "$OUT/x.png"
    if [ "$RC" = 0 ]; then
        mv "$OUT/x.png" "$TMP/back.png"
        check "$name: info on its png output" 0 "" "" -- info "$TMP/back.png"
        rm -f "$TMP/back.png"
    fi
    clean_dir "$OUT" ""

    check "$name: convert to jpg" "$e_jpg" "$cnames" "$OUT/x.jpg" -- convert "$in" "$OUT/x.jpg"
    if [ "$RC" = 0 ]; then
        mv "$OUT/x.jpg" "$TMP/back.jpg"
        check "$name: info on its jpg output" 0 "" "" -- info "$TMP/back.jpg"
        rm -f "$TMP/back.jpg"
    fi
    clean_dir "$OUT" ""

    # an image that decodes may still be refused by metrics (too small): the
    # message then concerns the images, not necessarily a file
    mnames=$in
    [ "$decodes" = 1 ] && mnames=""
    check "$name: metrics IN IN" "$e_met" "$mnames" "" -- metrics "$in" "$in"
    clean_dir "$OUT" ""
done <"$WORK/manifest.tsv"

if [ "$NFILES" -lt 24 ] && [ "$ONLY" = "*" ]; then
    echo "FAIL  manifest: only $NFILES files (expected at least 24)"
    NFAIL=$((NFAIL + 1))
    FAILED+=("manifest")
fi

# ---------------------------------------------------------------------------
# 2. cases that are not file contents

if [ "$OTHER" = 1 ]; then
echo "----  other cases"
OK=$FILES/ok_rgb8.png          # 16x16 RGB
OK2=$FILES/ok_rgb_interlaced.png # 23x19 RGB
OKGREY=$FILES/ok_grey1.png     # 16x16 grey
OK16=$FILES/ok_grey_alpha16.png
BAD=$FILES/png_cut_mid_idat.png
NOPE=$WORK/does-not-exist.png

# peak memory on the huge headers (needs GNU time): refused before allocating
# (png_ztxt_len_512m.png: libpng only warns that a chunk exceeds
#  png_set_chunk_malloc_max() and then allocates and reads it whole, so a
#  100-byte file costs 512 MiB; png_set_benign_errors(png, 0), or ignoring
#  the text chunks with png_set_keep_unknown_chunks(), stops that)
for f in png_huge_20000x20000.png png_dim_2g_minus1.png png_wide_1g_x1.png \
         png_4000x4000_2rows.png png_ztxt_len_512m.png jpg_sof_65535x65535.jpg \
         jpg_sof_12000x12000.jpg jpg_progressive_11000x11000.jpg jpg_progressive_12000x12000.jpg; do
    if [ "$HAVE_TIME" = 1 ]; then
        limit_mib=1024
        [ "$f" = png_ztxt_len_512m.png ] && limit_mib=256
        MAX_RSS_KB=$((limit_mib * 1024))
        check "memory: info $f stays under $limit_mib MiB" 1 "$FILES/$f" "" -- info "$FILES/$f"
    else
        skip "memory: info $f" "/usr/bin/time not available"
    fi
done
check "limit: --max-pixels 1000 on the 20000x20000 header" 1 "$FILES/png_huge_20000x20000.png" "" \
    -- info --max-pixels 1000 "$FILES/png_huge_20000x20000.png"

# the pixel limit itself: 16x16 = 256 pixels
check "limit: --max-pixels 255 refuses 16x16" 1 "$OK" "" -- info --max-pixels 255 "$OK"
check "limit: --max-pixels 256 accepts 16x16" 0 "" "" -- info --max-pixels 256 "$OK"
check "limit: --max-pixels 255 convert leaves nothing" 1 "$OK" "$OUT/x.png" \
    -- convert --max-pixels 255 "$OK" "$OUT/x.png"
clean_dir "$OUT" ""
check "limit: --max-pixels 100 on a JPEG (768 px)" 1 "$FILES/ok_rgb.jpg" "" \
    -- info --max-pixels 100 "$FILES/ok_rgb.jpg"

# a directory as input
check "input is a directory: info" 1 "$FILES" "" -- info "$FILES"
check "input is a directory: convert" 1 "$FILES" "" -- convert "$FILES" "$OUT/x.png"
clean_dir "$OUT" ""
check "input is a directory: metrics" 1 "$FILES" "" -- metrics "$OK" "$FILES"

# several inputs to info: the bad one is named
check "info OK BAD OK: the bad one is named" 1 "$BAD" "" -- info "$OK" "$BAD" "$OK2"
check "info --json on a corrupt image" 1 "$BAD" "" -- info --json "$BAD"

# special files and odd names
check "input /dev/null" 1 "/dev/null" "" -- info /dev/null
check "input /dev/zero" 1 "/dev/zero" "" -- info /dev/zero
check "input '-' (no stdin support: a missing file)" e "" "" -- info -
# a legal but long path (3 folders of 200 characters) to a corrupt file: the
# whole path and the problem must make it into the message
LONGDIR=$AUX/$(printf 'd%.0s' $(seq 1 200))/$(printf 'e%.0s' $(seq 1 200))/$(printf 'f%.0s' $(seq 1 200))
mkdir -p "$LONGDIR" && cp "$BAD" "$LONGDIR/corrupt.png"
CHECK_DIR=$AUX KEEP=${LONGDIR#"$AUX"/}; KEEP=${KEEP%%/*}
check "input with a 650-character path" 1 "$LONGDIR/corrupt.png" "" -- info "$LONGDIR/corrupt.png"
clean_dir "$AUX" ""
NAME250=$(printf 'y%.0s' $(seq 1 246)).png
check "output name of 250 characters (legal, but the temporary name is longer)" '*' "$OUT/$NAME250" \
    "$OUT/$NAME250" -- convert "$OK" "$OUT/$NAME250"
clean_dir "$OUT" ""

# the default command (deblurring) with a corrupt input and with a good one, with a small model given
# (so that the input, not a missing bundled model, is what is tested)
MODEL=$AUX/w8.safetensors
"$UNBLUR" model init -o "$MODEL" --width 8 --blocks 1 --quiet
check "deblur: corrupt input" 1 "$BAD" "" -- "$BAD" -o "$OUT/x.png" --method net --model "$MODEL"
check "deblur: good input" '*' "$OK" "$OUT/x.png" -- "$OK" -o "$OUT/x.png" --method net --model "$MODEL"
clean_dir "$OUT" ""

# a missing input
check "missing input: info" 1 "$NOPE" "" -- info "$NOPE"
check "missing input: convert" 1 "$NOPE" "" -- convert "$NOPE" "$OUT/x.png"
clean_dir "$OUT" ""
check "missing input: metrics (second)" 1 "$NOPE" "" -- metrics "$OK" "$NOPE"
check "missing input: metrics (first)" 1 "$NOPE" "" -- metrics "$NOPE" "$OK"

# metrics must name the file that is bad, whichever side it is on
check "metrics: corrupt second image is named" 1 "$BAD" "" -- metrics "$OK" "$BAD"
check "metrics: corrupt first image is named" 1 "$BAD" "" -- metrics "$BAD" "$OK"
check "metrics: size mismatch (16x16 vs 23x19)" 1 "" "" -- metrics "$OK" "$OK2"
check "metrics: grey vs RGB" 1 "" "" -- metrics "$OKGREY" "$OK"
check "metrics: --crop 3 leaves 10x10 < 11x11" 1 "" "" -- metrics "$OK" "$OK" --crop 3
check "metrics: --crop 2 leaves 12x12" 0 "" "" -- metrics "$OK" "$OK" --crop 2
check "metrics: --crop 100 (larger than the image)" e "" "" -- metrics "$OK" "$OK" --crop 100
check "metrics: --shift 2 --crop 1 (crop < shift)" e "" "" -- metrics "$OK" "$OK" --shift 2 --crop 1
check "metrics: --shift -1" e "" "" -- metrics "$OK" "$OK" --shift -1
check "metrics: --json on good images" 0 "" "" -- metrics "$OK" "$OK" --json
check "metrics: --json on a corrupt image" 1 "$BAD" "" -- metrics "$OK" "$BAD" --json

# output folder does not exist
check "output parent folder missing" 1 "$OUT/nodir/x.png" "" -- convert "$OK" "$OUT/nodir/x.png"
[ -e "$OUT/nodir" ] && echo "        (note: $OUT/nodir was created)"
clean_dir "$OUT" ""

# output parent is a regular file
touch "$AUX/plainfile"
CHECK_DIR=$AUX KEEP=plainfile
check "output parent is a regular file" 1 "$AUX/plainfile/x.png" "" -- convert "$OK" "$AUX/plainfile/x.png"
clean_dir "$AUX" ""

# output is an existing directory: must fail, keep the directory, leave no temp file
mkdir -p "$AUX/isdir.png"
CHECK_DIR=$AUX KEEP=isdir.png
check "output is an existing directory (.png)" 1 "$AUX/isdir.png" "" -- convert "$OK" "$AUX/isdir.png"
if [ ! -d "$AUX/isdir.png" ] || [ -n "$(ls -A "$AUX/isdir.png")" ]; then
    echo "FAIL  output is an existing directory: the directory was changed"
    NFAIL=$((NFAIL + 1)); FAILED+=("output directory changed")
fi
clean_dir "$AUX" ""
mkdir -p "$AUX/isdir.jpg"
CHECK_DIR=$AUX KEEP=isdir.jpg
check "output is an existing directory (.jpg)" 1 "$AUX/isdir.jpg" "" -- convert "$OK" "$AUX/isdir.jpg"
clean_dir "$AUX" ""

# output folder not writable (meaningless as root: root ignores the mode bits)
if [ "$(id -u)" = 0 ]; then
    skip "output folder not writable (chmod 0555)" "running as root, where chmod does not stop writes"
else
    mkdir -p "$AUX/ro"
    chmod 0555 "$AUX/ro"
    CHECK_DIR=$AUX/ro
    check "output folder not writable (chmod 0555)" 1 "$AUX/ro/x.png" "" -- convert "$OK" "$AUX/ro/x.png"
    chmod 0755 "$AUX/ro"
    clean_dir "$AUX" ""
fi

# output names unblur cannot write
check "output extension .bmp" e "$OUT/x.bmp" "" -- convert "$OK" "$OUT/x.bmp"
clean_dir "$OUT" ""
check "output without extension" e "$OUT/x" "" -- convert "$OK" "$OUT/x"
clean_dir "$OUT" ""
check "output path ending in '/'" e "" "" -- convert "$OK" "$OUT/"
clean_dir "$OUT" ""
check "output .PNG (upper case) is accepted" 0 "" "$OUT/x.PNG" -- convert "$OK" "$OUT/x.PNG"
clean_dir "$OUT" ""
check "output .JPEG (upper case) is accepted" 0 "" "$OUT/x.JPEG" -- convert "$OK" "$OUT/x.JPEG"
clean_dir "$OUT" ""
check "output with alpha to .jpg is refused" 1 "$OK16|$OUT/x.jpg" "" -- convert "$OK16" "$OUT/x.jpg"
clean_dir "$OUT" ""
check "convert --bits 16 to png" 0 "" "$OUT/x.png" -- convert "$OK16" "$OUT/x.png" --bits 16
clean_dir "$OUT" ""
check "convert --bits 8 from 16-bit" 0 "" "$OUT/x.png" -- convert "$OK16" "$OUT/x.png" --bits 8
clean_dir "$OUT" ""

# overwriting an existing output: replaced on success, untouched on failure
cp "$FILES/ok_grey1.png" "$AUX/keep.png"
before=$(cksum <"$AUX/keep.png")
CHECK_DIR=$AUX KEEP=keep.png
check "failed convert keeps an existing output" 1 "$BAD" "" -- convert "$BAD" "$AUX/keep.png"
if [ "$(cksum <"$AUX/keep.png" 2>/dev/null)" != "$before" ]; then
    echo "FAIL  failed convert keeps an existing output: $AUX/keep.png was changed or removed"
    NFAIL=$((NFAIL + 1)); FAILED+=("existing output changed")
fi
CHECK_DIR=$AUX KEEP=keep.png
check "convert over an existing output" 0 "" "$AUX/keep.png" -- convert "$OK" "$AUX/keep.png"
clean_dir "$AUX" ""
cp "$OK" "$AUX/same.png"
CHECK_DIR=$AUX KEEP=same.png
check "convert a file onto itself" 0 "" "$AUX/same.png" -- convert "$AUX/same.png" "$AUX/same.png"
clean_dir "$AUX" ""

# option values: usage errors, nothing written
check "usage: convert --bits 12" 2 "" "" -- convert "$OK" "$OUT/x.png" --bits 12
check "usage: convert --bits abc" 2 "" "" -- convert "$OK" "$OUT/x.png" --bits abc
check "usage: convert --quality 0" 2 "" "" -- convert "$OK" "$OUT/x.jpg" --quality 0
check "usage: convert --quality 101" 2 "" "" -- convert "$OK" "$OUT/x.jpg" --quality 101
check "usage: convert --quality 50x" 2 "" "" -- convert "$OK" "$OUT/x.jpg" --quality 50x
check "usage: convert --quality (no value)" 2 "" "" -- convert "$OK" "$OUT/x.jpg" --quality
check "usage: convert --bits 16 to .jpg" e "" "" -- convert "$OK16" "$OUT/x.jpg" --bits 16
check "usage: convert with one argument" 2 "" "" -- convert "$OK"
check "usage: info with no argument" 2 "" "" -- info
check "usage: metrics with one argument" 2 "" "" -- metrics "$OK"
check "usage: unknown command" 2 "" "" -- frobnicate "$OK"
check "usage: unknown option" 2 "" "" -- info "$OK" --frobnicate
check "usage: --threads abc" 2 "" "" -- info --threads abc "$OK"
check "usage: --threads -3" 2 "" "" -- info --threads -3 "$OK"
check "usage: --max-pixels abc" 2 "" "" -- info --max-pixels abc "$OK"
check "usage: --max-pixels 99999999999999999999999" 2 "" "" -- info --max-pixels 99999999999999999999999 "$OK"
check "usage: metrics --shift abc" 2 "" "" -- metrics "$OK" "$OK" --shift abc
check "usage: metrics --crop -1" e "" "" -- metrics "$OK" "$OK" --crop -1
clean_dir "$OUT" ""
fi # OTHER

# ---------------------------------------------------------------------------
echo
echo "hostile inputs: $NFILES files, $((NPASS + NFAIL)) checks: $NPASS passed, $NFAIL failed, $NSKIP skipped"
if [ "$NFAIL" -gt 0 ]; then
    echo "failed:"
    for f in "${FAILED[@]}"; do echo "  $f"; done
    exit 1
fi
exit 0
