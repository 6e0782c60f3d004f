#!/usr/bin/env bash
# Cost of the Validator's checks in front of a bare Proxy: each variant is a Validator
# followed by the same Proxy, against the Proxy alone; requests carry valid credentials,
# so every one is checked and proxied (200).
#
#   jwt-hs256   jwt HS256, 32-byte secret; Authorization: Bearer <token with exp>
#   jwt-rs256   jwt RS256, 2048-bit RSA key made here with openssl
#   basic-bcrypt basicAuth FILE, one entry made by `htpasswd -B` (bcrypt, cost 5); the
#               filter remembers the last password an entry accepted (as a SHA-256 digest)
#               until the file changes, so this measures the remembered case: bcrypt
#               itself runs once, not per request
#   sigv4       signature with AWS's literals (AWS4-HMAC-SHA256, X-Amz-Date, `AWS4` key
#               prefix, aws4_request), the request signed in Python over host and
#               x-amz-date; ttl 1h; the same signed request is sent again and again (the
#               verifier keeps no nonces), so every request derives the key and checks the
#               HMAC
#
# Instructions per request first, then interleaved wrk runs (bench/compare.sh).
#   bash bench/security-filters.sh
# Environment: OUT (bench/out/security-<UTC time>), VARIANTS (the variants compared with
# the bare Proxy: "jwt-hs256 jwt-rs256 basic-bcrypt sigv4"), and bench/compare.sh's.
# Needs openssl and htpasswd (Debian: apache2-utils).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${OUT:-$here/out/security-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out/variants"
v=$out/variants
for tool in openssl htpasswd python3; do
  command -v "$tool" >/dev/null || { echo "security-filters.sh: $tool is needed" >&2; exit 1; }
done

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
exp=$(($(date +%s) + 86400))
header_hs=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
header_rs=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
claims=$(printf '{"sub":"bench","exp":%d}' "$exp" | b64url)

# HS256
secret=bench-secret-key-0123456789abcdef
secret_hex=$(printf '%s' "$secret" | od -An -tx1 | tr -d ' \n')
sig_hs=$(printf '%s' "$header_hs.$claims" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
cat >"$v/jwt-hs256.yaml" <<YAML
  - name: validator
    kind: Validator
    jwt:
      algorithm: HS256
      secret: $secret_hex
YAML
{
  echo "EG_FILTERS_FILE=$v/jwt-hs256.yaml"
  echo "REFUSED_WITHOUT_HEADERS=401"
  echo "REQ_HEADERS='Authorization: Bearer $header_hs.$claims.$sig_hs'"
} >"$v/jwt-hs256.env"

# RS256
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$v/rsa.pem" 2>/dev/null
openssl pkey -in "$v/rsa.pem" -pubout -out "$v/rsa.pub.pem"
pub_hex=$(od -An -tx1 "$v/rsa.pub.pem" | tr -d ' \n')
sig_rs=$(printf '%s' "$header_rs.$claims" | openssl dgst -sha256 -sign "$v/rsa.pem" -binary | b64url)
cat >"$v/jwt-rs256.yaml" <<YAML
  - name: validator
    kind: Validator
    jwt:
      algorithm: RS256
      publicKey: $pub_hex
YAML
{
  echo "EG_FILTERS_FILE=$v/jwt-rs256.yaml"
  echo "REFUSED_WITHOUT_HEADERS=401"
  echo "REQ_HEADERS='Authorization: Bearer $header_rs.$claims.$sig_rs'"
} >"$v/jwt-rs256.env"

# basicAuth, bcrypt
htpasswd -B -b -c "$v/htpasswd" bench bench-password 2>/dev/null
grep -q '^bench:\$2y\$' "$v/htpasswd" || { echo "htpasswd -B wrote no bcrypt entry" >&2; exit 1; }
cat >"$v/basic-bcrypt.yaml" <<YAML
  - name: validator
    kind: Validator
    basicAuth:
      mode: FILE
      userFile: $v/htpasswd
YAML
{
  echo "EG_FILTERS_FILE=$v/basic-bcrypt.yaml"
  echo "REFUSED_WITHOUT_HEADERS=401"
  echo "REQ_HEADERS='Authorization: Basic $(printf 'bench:bench-password' | openssl base64 -A)'"
} >"$v/basic-bcrypt.env"

# AWS Signature Version 4. The Host is fixed (servers listen on ports chosen at run time).
akid=AKIDBENCHEXAMPLE
sk=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
sigv4=$(python3 - "$akid" "$sk" <<'PY'
import datetime, hashlib, hmac, sys
akid, secret = sys.argv[1], sys.argv[2]
host, path, region, service = "bench.example", "/", "us-east-1", "bench"
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
signed = "host;x-amz-date"
canonical = "\n".join(["GET", path, "", f"host:{host}\nx-amz-date:{amz_date}\n", signed,
                       hashlib.sha256(b"").hexdigest()])
scope = f"{day}/{region}/{service}/aws4_request"
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
key = ("AWS4" + secret).encode()
for part in (day, region, service, "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
print(f"Host: {host}")
print(f"X-Amz-Date: {amz_date}")
print(f"Authorization: AWS4-HMAC-SHA256 Credential={akid}/{scope}, SignedHeaders={signed}, Signature={sig}")
PY
)
cat >"$v/sigv4.yaml" <<YAML
  - name: validator
    kind: Validator
    signature:
      ttl: 1h
      accessKeys:
        $akid: $sk
      literal:
        scopeSuffix: aws4_request
        algorithmName: X-Amz-Algorithm
        algorithmValue: AWS4-HMAC-SHA256
        signedHeaders: X-Amz-SignedHeaders
        signature: X-Amz-Signature
        date: X-Amz-Date
        expires: X-Amz-Expires
        credential: X-Amz-Credential
        contentSha256: X-Amz-Content-Sha256
        signingKeyPrefix: AWS4
YAML
{
  echo "EG_FILTERS_FILE=$v/sigv4.yaml"
  echo "REFUSED_WITHOUT_HEADERS=401"
  printf 'REQ_HEADERS=%q\n' "$sigv4"
} >"$v/sigv4.env"

echo "# Proxy only" >"$v/proxy.env"
envs=("$v/proxy.env")
for name in ${VARIANTS:-jwt-hs256 jwt-rs256 basic-bcrypt sigv4}; do envs+=("$v/$name.env"); done
bash "$here/compare.sh" "$out" "${envs[@]}"
echo "== results in $out"
