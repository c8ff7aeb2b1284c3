#!/bin/bash
# test-admin.sh: provisions a whole network with keycall-admin (CA, two
# controllers, an LEA, two subscribers), checks the files with OpenSSL, walks
# a subscriber through suspend/resume/revoke, exports a profile and an
# activation file (opened again with Python's scrypt and AES-GCM), reads the
# CRL, and checks that every misuse gets one clear line and the right exit
# status (2 usage, 1 failure). Prints TAP.
set -u

ADMIN=${KEYCALL_ADMIN:?set KEYCALL_ADMIN to the keycall-admin binary}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keycall-admin-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
NET=$WORK/net
n=0
failed=0
out=
err=
rc=0

ok () { n=$((n + 1)); echo "ok $n - $1"; }
skip () { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
not_ok () {
  n=$((n + 1)); failed=$((failed + 1))
  echo "not ok $n - $1"
  echo "# exit status $rc"
  printf '%s\n' "$out" | sed 's/^/# stdout: /'
  printf '%s\n' "$err" | sed 's/^/# stderr: /'
}

# run ARGS...: keycall-admin on the test network; sets out, err, rc.
run () {
  out=$("$ADMIN" --dir "$NET" "$@" 2>"$WORK/stderr")
  rc=$?
  err=$(cat "$WORK/stderr")
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check () {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else not_ok "$what"; fi
}

succeeds () {
  local what=$1
  shift
  run "$@"
  check "$what" test "$rc" -eq 0
}

# fails DESCRIPTION STATUS WORDS ARGS...: exit STATUS, one line holding WORDS.
fails () {
  local what=$1 status=$2 words=$3
  shift 3
  run "$@"
  if [ "$rc" -eq "$status" ] && [[ "$err" == *"$words"* ]] \
     && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ "$err" == keycall-admin:* ]]; then
    ok "$what"
  else
    not_ok "$what (expected status $status and “$words”)"
  fi
}

mode () { stat -c %a "$1"; }

# profile_value FILE KEY: a value of the profile, GKeyFile escapes undone.
profile_value () {
  sed -n "s/^$2=//p" "$1" | sed 's/\\n/\n/g'
}

has_python=false
command -v python3 >/dev/null && has_python=true

# --- before init -----------------------------------------------------------

fails "a command before init says how to start" 1 \
  "no Keycall network in $NET; run 'keycall-admin init --name NAME' first" subscriber list

# --- init ------------------------------------------------------------------

succeeds "init creates the network" init --name "Example Net"
check "CA key is 0600, CA certificate and CRL exist" \
  test "$(mode "$NET/ca/ca.key")" = 600 -a -f "$NET/ca/ca.pem" -a -f "$NET/crl.pem"
check "CA is a critical CA:TRUE, pathlen:0 certificate" \
  bash -c "openssl x509 -in '$NET/ca/ca.pem' -noout -text | grep -A1 'Basic Constraints: critical' | grep -q 'CA:TRUE, pathlen:0'"
fails "init twice is refused" 1 "already exists" init --name Again

# --- controllers and LEA ---------------------------------------------------

succeeds "controller add gc1" controller add gc1 --host 127.0.0.1 --prefix 1
succeeds "controller add gc2 on another port" controller add gc2 --host 127.0.0.1 --port 5062 --prefix 2
G1=$NET/controllers/gc1
# ini_value FILE GROUP KEY: a value from a GKeyFile-style file.
ini_value () {
  awk -v g="[$2]" -v k="$3" '/^\[/ { in_g = ($0 == g) } in_g && index($0, k "=") == 1 { print substr($0, length(k) + 2) }' "$1"
}
what="gc1's LI port moved off 5062 when gc2 took it for SIP, and gc1 was told"
if [ "$(ini_value "$G1/controller.ini" lawful-intercept listen)" = 127.0.0.1:5064 ] \
   && [[ "$out" == *"gc1's lawful-intercept port moves from 5062 to 5064"* ]]; then
  ok "$what"
else
  not_ok "$what"
fi
check "controller folder holds agent.pem, cafile.pem, vault and store, secrets 0600" \
  test "$(mode "$G1/agent.pem")" = 600 -a "$(mode "$G1/key.pem")" = 600 \
       -a "$(mode "$G1/vault.key")" = 600 -a -f "$G1/cafile.pem" -a -f "$G1/store.db"
check "controller.ini names host, port and prefixes" \
  grep -q '^port=5062$' "$NET/controllers/gc2/controller.ini"
check "controller certificate verifies against the CA" \
  openssl verify -CAfile "$NET/ca/ca.pem" "$G1/cert.pem"
check "controller certificate carries its role and identity as a URI SAN" \
  bash -c "openssl x509 -in '$G1/cert.pem' -noout -ext subjectAltName | grep -q 'URI:keycall:controller:gc1'"
check "agent.pem holds the certificate and the key that belongs to it" \
  bash -c "diff <(openssl x509 -in '$G1/agent.pem' -noout -pubkey) <(openssl pkey -in '$G1/agent.pem' -pubout)"

succeeds "lea add lea1" lea add lea1
check "controller.ini gives each controller a lawful-intercept port of its own (SIP + 1, else the next free)" \
  test "$(ini_value "$G1/controller.ini" lawful-intercept listen)" = "127.0.0.1:5064" \
       -a "$(ini_value "$NET/controllers/gc2/controller.ini" lawful-intercept listen)" = "127.0.0.1:5063"
check "lea.ini names every controller's LI address" \
  test "$(ini_value "$NET/lea/lea1/lea.ini" "controller gc1" li-address)" = "127.0.0.1:5064" \
       -a "$(ini_value "$NET/lea/lea1/lea.ini" "controller gc2" li-address)" = "127.0.0.1:5063"
check "LEA sealing key pair is X25519, private key 0600" \
  bash -c "test \"\$(stat -c %a '$NET/lea/lea1/seal.key')\" = 600 && openssl pkey -pubin -in '$NET/lea/lea1/seal.pub' -noout -text | grep -q X25519"

# --- subscribers -----------------------------------------------------------

succeeds "subscriber add 1001 on gc1" subscriber add 1001 --name Alice --controller gc1
succeeds "subscriber add 2001 on gc2" subscriber add 2001 --name "Bob Smith" --controller gc2
run subscriber list
check "subscriber list shows both, active, on their controllers" \
  bash -c "grep -Eq '^1001 +Alice +gc1 +active' <<<'$out' && grep -Eq '^2001 +Bob Smith +gc2 +active' <<<'$out'"
run subscriber list --controller gc2
check "subscriber list --controller filters" \
  bash -c "! grep -q 1001 <<<'$out' && grep -q 2001 <<<'$out'"
run subscriber list --json
if $has_python; then
  check "subscriber list --json is JSON with both subscribers" python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
assert [r["number"] for r in rows] == ["1001", "2001"], rows
assert rows[1]["name"] == "Bob Smith" and rows[0]["state"] == "active"
assert all(len(r["cert_serial"]) >= 24 for r in rows)' "$out"
else
  skip "subscriber list --json is JSON" "no python3"
fi

succeeds "subscriber suspend 1001" subscriber suspend 1001
run subscriber list
check "1001 shows as suspended" bash -c "grep -Eq '^1001 .* suspended' <<<'$out'"
succeeds "subscriber resume 1001" subscriber resume 1001
run subscriber list
check "1001 is active again" bash -c "grep -Eq '^1001 .* active' <<<'$out'"

# --- profile ---------------------------------------------------------------

succeeds "profile export 1001" profile export 1001
P=$NET/subscribers/1001/1001.keycall
check "the profile is 0600 and ends with its end marker" \
  test "$(mode "$P")" = 600 -a "$(tail -n 1 "$P")" = "end=keycall-profile"
profile_value "$P" certificate > "$WORK/1001.pem"
profile_value "$P" ca > "$WORK/ca.pem"
check "the profile's certificate verifies with openssl against the profile's CA" \
  openssl verify -CAfile "$WORK/ca.pem" "$WORK/1001.pem"
check "the profile's CA is the network CA" \
  test "$(openssl x509 -in "$WORK/ca.pem" -noout -fingerprint -sha256)" \
     = "$(openssl x509 -in "$NET/ca/ca.pem" -noout -fingerprint -sha256)"
check "the profile's signaling secret is 32 bytes" \
  test "$(profile_value "$P" signaling-secret | base64 -d | wc -c)" -eq 32
if $has_python; then
  check "the store never holds the signaling secret in clear" python3 -c '
import base64, glob, sys
secret = base64.b64decode(sys.argv[1])
for f in glob.glob(sys.argv[2] + "/store.db*"):
    assert secret not in open(f, "rb").read(), f' "$(profile_value "$P" signaling-secret)" "$G1"
else
  skip "the store never holds the signaling secret in clear" "no python3"
fi
fails "profile export refuses to overwrite" 1 "use --force to replace it" profile export 1001
succeeds "profile export -o FILE --force" profile export 1001 -o "$WORK/alice.keycall" --force
check "-o wrote the profile there" test "$(mode "$WORK/alice.keycall")" = 600

# --- activation files ----------------------------------------------------

succeeds "profile activation 1001" profile activation 1001
A=$NET/subscribers/1001/1001.kcactivation
CODE=$(sed -n 's/^  Activation code: //p' <<<"$out")
check "it prints the code once, four groups of five Crockford base32 characters" \
  bash -c "[[ '$CODE' =~ ^([0-9A-HJKMNP-TV-Z]{5}-){3}[0-9A-HJKMNP-TV-Z]{5}$ ]]"
check "the activation file is 0600 and ends with its end marker" \
  test "$(mode "$A")" = 600 -a "$(tail -n 1 "$A")" = "end=keycall-activation"
check "it names the number, gc1's address and an expiry in clear" \
  bash -c "grep -qx 'number=1001' '$A' && grep -qx 'controller=sips:127.0.0.1:5061;transport=tls' '$A' && grep -q '^expires=20[0-9-]*T' '$A'"
check "it holds neither a private key, the signaling secret nor the code" \
  bash -c "! grep -q -e 'PRIVATE KEY' -e '$(profile_value "$P" signaling-secret)' -e '$CODE' '$A'"
profile_value "$A" ca > "$WORK/act-ca.pem"
check "its CA is the network CA" \
  test "$(openssl x509 -in "$WORK/act-ca.pem" -noout -fingerprint -sha256)" \
     = "$(openssl x509 -in "$NET/ca/ca.pem" -noout -fingerprint -sha256)"
if $has_python && python3 -c 'import cryptography' 2>/dev/null; then
  # An independent opener (Python's scrypt and AES-GCM) finds the very
  # profile 'profile export' wrote, and a wrong code finds nothing.
  check "scrypt + AES-256-GCM outside Keycall open it into the exported profile" python3 -c '
import base64, hashlib, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.exceptions import InvalidTag
def fields(path):
    out, esc = {}, {"n": "\n", "t": "\t", "r": "\r", "s": " ", "\\": "\\"}
    for line in open(path, encoding="utf-8").read().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            r, i = "", 0
            while i < len(v):
                if v[i] == "\\":
                    r += esc[v[i + 1]]; i += 2
                else:
                    r += v[i]; i += 1
            out[k] = r
    return out
f = fields(sys.argv[1])
def derive(code):
    return hashlib.scrypt(code.replace("-", "").encode(), salt=base64.b64decode(f["kdf-salt"]),
                          n=2 ** int(f["kdf-log2-n"]), r=8, p=1, maxmem=2 ** 28, dklen=64)
good = derive(sys.argv[2])
assert good[32:] == base64.b64decode(f["code-check"]), "check value"
bad = list(sys.argv[2]); bad[0] = "A" if bad[0] != "A" else "B"
assert derive("".join(bad))[32:] != base64.b64decode(f["code-check"])
aad = "".join("%d:%s," % (len(x.encode()), x) for x in [
    "keycall-activation", f["version"], f["number"], f["display-name"], f["controller"],
    f["controller-name"], f.get("domain", ""), f.get("expires", ""), f["ca"],
    "%s:%s:8:1" % (f["kdf"], f["kdf-log2-n"]), f["kdf-salt"]]).encode()
sealed = base64.b64decode(f["sealed"])
plain = AESGCM(good[:32]).decrypt(sealed[1:13], sealed[13:], sealed[:1] + aad)
assert plain == open(sys.argv[3], "rb").read(), "not the exported profile"
try:
    AESGCM(good[:32]).decrypt(sealed[1:13], sealed[13:], sealed[:1] + aad.replace(b"1001", b"1002"))
    raise SystemExit("another number went unnoticed")
except InvalidTag:
    pass' "$A" "$CODE" "$P"
else
  skip "scrypt + AES-256-GCM outside Keycall open it into the exported profile" "no python3 cryptography"
fi
run audit list --controller gc1
check "the audit log records the activation file, not its code" \
  bash -c "grep -q '	admin	profile-activation	number=1001 controller=gc1 serial=' <<<'$out' && ! grep -q '$CODE' <<<'$out'"
cp -p "$A" "$WORK/activation-before"
fails "profile activation refuses to overwrite" 1 "use --force to replace it" profile activation 1001
check "the refused run left the file as it was" cmp -s "$A" "$WORK/activation-before"
OLD_SALT=$(sed -n 's/^kdf-salt=//p' "$A")
succeeds "profile activation -o FILE --days 1 --force" \
  profile activation 1001 -o "$A" --days 1 --force
CODE2=$(sed -n 's/^  Activation code: //p' <<<"$out")
check "a new activation has a new code and a new salt" \
  test -n "$CODE2" -a "$CODE2" != "$CODE" -a "$(sed -n 's/^kdf-salt=//p' "$A")" != "$OLD_SALT"
check "--days 1 makes it expire within a day" python3 -c '
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
left = t - datetime.datetime.now(datetime.timezone.utc)
assert datetime.timedelta(hours=23) < left <= datetime.timedelta(days=1), left' \
  "$(sed -n 's/^expires=//p' "$A")"
fails "profile activation without NUMBER" 2 "missing NUMBER for 'profile activation'" profile activation
fails "--days over a year for an activation file" 2 "--days for an activation file must be 1 to 365" \
  profile activation 1001 --days 400 -o "$WORK/x.kcactivation"
check "the refused --days wrote nothing" test ! -e "$WORK/x.kcactivation"
fails "option that does not apply to profile activation" 2 \
  "option --json does not apply to 'profile activation'" profile activation 1001 --json
fails "unknown subscriber has no activation" 1 "unknown subscriber 1999" profile activation 1999

# --- revocation and the CRL ------------------------------------------------

SERIAL_2001=$(openssl x509 -in "$NET/subscribers/2001/cert.pem" -noout -serial | cut -d= -f2)
succeeds "subscriber revoke 2001" subscriber revoke 2001
run subscriber list
check "2001 shows as revoked" bash -c "grep -Eq '^2001 .* revoked' <<<'$out'"
run crl show
check "crl show lists 2001's serial" bash -c "grep -q '$SERIAL_2001 .* cta:2001' <<<'$out'"
check "openssl with CRL checking rejects 2001's certificate" \
  bash -c "! openssl verify -crl_check -CRLfile '$NET/crl.pem' -CAfile '$NET/ca/ca.pem' '$NET/subscribers/2001/cert.pem' 2>&1 | grep -q ': OK' && openssl verify -crl_check -CRLfile '$NET/crl.pem' -CAfile '$NET/ca/ca.pem' '$NET/subscribers/2001/cert.pem' 2>&1 | grep -q 'certificate revoked'"
check "openssl with CRL checking still accepts 1001's certificate" \
  openssl verify -crl_check -CRLfile "$NET/crl.pem" -CAfile "$NET/ca/ca.pem" "$NET/subscribers/1001/cert.pem"
check "every controller has the current CRL" cmp -s "$NET/crl.pem" "$NET/controllers/gc2/crl.pem"
succeeds "revoke-cert --lea lea1" revoke-cert --lea lea1
run crl show --json
if $has_python; then
  check "crl show --json lists both revocations" python3 -c '
import json, sys
crl = json.loads(sys.argv[1])
assert sorted(r["identity"] for r in crl["revoked"]) == ["2001", "lea1"], crl
assert crl["number"] >= 3' "$out"
else
  skip "crl show --json lists both revocations" "no python3"
fi
succeeds "crl update re-signs" crl update
check "KEYCALL_NETWORK names the folder" env KEYCALL_NETWORK="$NET" "$ADMIN" crl show

# --- audit verify / list ------------------------------------------------------

records=$(sqlite3 "$G1/store.db" 'SELECT count(*) FROM audit' 2>/dev/null || echo '?')
run audit verify --controller gc1
check "audit verify --controller gc1: exit 0, the chain intact" \
  test "$rc" -eq 0 -a "$out" = "audit log of gc1: $records records, chain intact"
run audit list --controller gc1
check "audit list shows the provisioning actions" bash -c "grep -q '	admin	controller-add	controller=gc1' <<<'$out'"
run --dir "$WORK/no-network" audit verify --store "$NET/controllers/gc2/store.db"
check "audit verify --store needs no network folder" \
  bash -c "[ $rc -eq 0 ] && grep -q 'records, chain intact' <<<'$out'"
fails "audit verify needs a store" 2 "give either --controller NAME or --store PATH" audit verify
fails "audit verify of an unknown controller" 1 "unknown controller 'gc9'" audit verify --controller gc9

if command -v sqlite3 >/dev/null; then
  actions=$(sqlite3 "$G1/store.db" 'SELECT action FROM audit ORDER BY seq' | tr '\n' ' ')
  check "gc1's audit log records each provisioning action" \
    bash -c "for a in controller-add lea-add subscriber-add subscriber-suspend subscriber-resume profile-export cert-revoke crl-update; do grep -qw -- \$a <<<'$actions' || exit 1; done"
  check "gc2's audit log records the revocation" \
    bash -c "sqlite3 '$NET/controllers/gc2/store.db' \"SELECT detail FROM audit WHERE action = 'subscriber-revoke'\" | grep -q number=2001"
else
  skip "audit logs" "no sqlite3"
  skip "audit logs (gc2)" "no sqlite3"
fi
if command -v sqlite3 >/dev/null; then
  # Tampering: around the append-only triggers, as someone with the file could.
  cp "$NET/controllers/gc2/store.db" "$WORK/tampered.db"
  sqlite3 "$WORK/tampered.db" "DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'number=2009' WHERE seq = 2"
  run audit verify --store "$WORK/tampered.db"
  check "audit verify names the altered record (2) and exits 1" \
    bash -c "[ $rc -eq 1 ] && grep -q 'record 2 does not fit the chain' <<<'$err' && [ -z '$out' ]"
  run audit verify --controller gc2
  check "the original is still intact" test "$rc" -eq 0
else
  skip "audit verify detects tampering" "no sqlite3"
  skip "audit verify of the original" "no sqlite3"
fi

# --- misuse ----------------------------------------------------------------

fails "no command" 2 "missing command"
fails "unknown command" 2 "unknown command 'frob'" frob
fails "unknown subcommand" 2 "unknown subcommand 'subscriber frob'" subscriber frob
fails "unknown option" 2 "Unknown option --bogus" crl show --bogus
fails "missing operand" 2 "missing NUMBER for 'subscriber add'" subscriber add
fails "missing --controller" 2 "missing --controller NAME" subscriber add 1003 --name Carol
fails "invalid number" 2 "“10a3” is not a valid subscriber number" subscriber add 10a3 --name Carol --controller gc1
fails "unknown controller" 1 "unknown controller 'gc9' (known: gc1, gc2)" subscriber add 1003 --name Carol --controller gc9
fails "duplicate subscriber" 1 "subscriber 1001 already exists" subscriber add 1001 --name Carol --controller gc1
fails "number outside the controller's prefixes" 1 "serves numbers starting with 1, not 3001" subscriber add 3001 --name Carol --controller gc1
fails "unknown subscriber" 1 "unknown subscriber 1999" subscriber suspend 1999
fails "duplicate controller" 1 "controller 'gc1' already exists" controller add gc1 --host 127.0.0.1
fails "controller without --host" 2 "missing --host HOST" controller add gc3
fails "invalid controller name" 2 "“GC3” is not a valid name" controller add GC3 --host 127.0.0.1
fails "option that does not apply" 2 "option --port does not apply to 'lea add'" lea add lea2 --port 1
fails "extra argument" 2 "unexpected argument 'extra'" subscriber list extra
fails "revoked subscriber cannot resume" 1 "subscriber 2001 is revoked" subscriber resume 2001
fails "revoked subscriber has no profile" 1 "its profile can no longer be exported" profile export 2001
fails "revoked subscriber has no activation file" 1 "its profile can no longer be exported" \
  profile activation 2001 -o "$WORK/2001.kcactivation"
check "nor a half-written one" test ! -e "$WORK/2001.kcactivation"
fails "revoke-cert needs one selector" 2 "needs exactly one of" revoke-cert
fails "revoke-cert of an unknown serial" 1 "no certificate with serial 0A0B" revoke-cert 0a:0b
chmod 644 "$G1/vault.key"
fails "a group-readable vault key is refused" 1 "run 'chmod 600 $G1/vault.key'" subscriber add 1005 --name Eve --controller gc1
chmod 600 "$G1/vault.key"
succeeds "with the mode fixed, the same command works" subscriber add 1005 --name Eve --controller gc1

# --- controller.ini: peers and the LEA key -----------------------------------

G2=$NET/controllers/gc2
check "gc1's controller.ini names gc2 as a peer with its address and prefixes" \
  test "$(ini_value "$G1/controller.ini" "peer gc2" address)" = "sips:127.0.0.1:5062;transport=tls" \
       -a "$(ini_value "$G1/controller.ini" "peer gc2" prefixes)" = "2;"
check "gc2's controller.ini names gc1 as a peer, and neither names itself" \
  bash -c "grep -q '^\[peer gc1\]' '$G2/controller.ini' && ! grep -q '^\[peer gc2\]' '$G2/controller.ini' && ! grep -q '^\[peer gc1\]' '$G1/controller.ini'"
check "every controller.ini points lea-public-key at a copy of lea1's seal.pub in its folder" \
  bash -c "for c in '$G1' '$G2'; do k=\$(sed -n 's/^lea-public-key=//p' \$c/controller.ini); case \$k in /*) ;; *) k=\$c/\$k;; esac; cmp -s \$k '$NET/lea/lea1/seal.pub' || exit 1; done"
printf 'operator-note=keep me\n' >> "$G1/controller.ini"
succeeds "controller add gc3 updates the other controllers" controller add gc3 --host 127.0.0.1 --port 5063 --prefix 3 --prefix 39
check "gc1 and gc2 now have [peer gc3] with both its prefixes" \
  test "$(ini_value "$G1/controller.ini" "peer gc3" prefixes)" = "3;39;" \
       -a "$(ini_value "$G2/controller.ini" "peer gc3" address)" = "sips:127.0.0.1:5063;transport=tls"
check "the new gc3 has both peers and the LEA key from its start" \
  bash -c "grep -q '^\[peer gc1\]' '$NET/controllers/gc3/controller.ini' && grep -q '^\[peer gc2\]' '$NET/controllers/gc3/controller.ini' && cmp -s '$NET/controllers/gc3/lea-seal.pub' '$NET/lea/lea1/seal.pub'"
check "gc2's LI port moved off 5063 for gc3's SIP; lea.ini follows and names gc3" \
  test "$(ini_value "$NET/lea/lea1/lea.ini" "controller gc2" li-address)" = "127.0.0.1:5066" \
       -a "$(ini_value "$NET/lea/lea1/lea.ini" "controller gc3" li-address)" = "127.0.0.1:5065"
succeeds "controller add with --li-port" controller add gc4 --host 127.0.0.1 --port 5070 --li-port 6070 --prefix 4
check "--li-port is written to controller.ini and lea.ini" \
  test "$(ini_value "$NET/controllers/gc4/controller.ini" lawful-intercept listen)" = "127.0.0.1:6070" \
       -a "$(ini_value "$NET/lea/lea1/lea.ini" "controller gc4" li-address)" = "127.0.0.1:6070"
fails "--li-port taken by another controller" 2 "--li-port 5061 is a port another controller" controller add gc5 --host 127.0.0.1 --port 5080 --li-port 5061
fails "--li-port equal to the SIP port" 2 "--li-port must differ from the SIP port" controller add gc5 --host 127.0.0.1 --port 5080 --li-port 5080
check "a key keycall-admin does not know is kept" grep -q '^operator-note=keep me$' "$G1/controller.ini"
succeeds "lea add lea2" lea add lea2
check "with two LEAs, controllers keep sealing to the first one added" \
  bash -c "cmp -s '$G1/lea-seal.pub' '$NET/lea/lea1/seal.pub' && ! cmp -s '$G1/lea-seal.pub' '$NET/lea/lea2/seal.pub'"

echo "1..$n"
[ "$failed" -eq 0 ]
