# tests/harness.sh — what the CLI test scripts share; source it after setting $work.
#   ok DESC / bad DESC            count a passed / failed check (bad makes the script fail)
#   check DESC 'shell test'       ok or bad by the test's status
#   one_line_error DESC WANT -- command...
#                                 the command must fail with exactly one stderr line
#                                 "unblur: ...WANT..."
#   finish NAME                   prints the summary; its status is the script's
fails=0 n=0
ok()  { n=$((n+1)); echo "ok   $1"; }
bad() { n=$((n+1)); fails=$((fails+1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
one_line_error() {
  local what=$1 want=$2; shift 3
  "$@" >/dev/null 2>"$work/err"; local rc=$?
  if [ $rc -ne 0 ] && [ "$(wc -l < "$work/err")" -eq 1 ] && grep -q "^unblur: .*$want" "$work/err"; then ok "$what"
  else bad "$what: exit $rc: $(cat "$work/err")"; fi
}
finish() { echo "$1: $((n-fails)) of $n passed"; [ "$fails" -eq 0 ]; }
