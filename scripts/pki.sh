#!/usr/bin/env bash
# The internal CA and the nodes' certificates for the internal API (docs/deployment.md), with
# openssl, on the machine that keeps the CA's key:
#
#   scripts/pki.sh init DIR [--days N] [--cn NAME]
#       DIR/internal-ca.pem (goes to every node) and DIR/internal-ca.key (stays here), P-256,
#       valid N days (default 3650).
#   scripts/pki.sh issue DIR NAME [--ip ADDR]... [--dns NAME]... [--days N]
#       DIR/NAME.pem and DIR/NAME.key, P-256, signed by DIR's CA, for server and client
#       authentication (every node is both), valid N days (default 365); the store's certificate
#       names the address the nodes dial (--ip or --dns). Prints `NAME FINGERPRINT`: the SHA-256
#       fingerprint the store's kms.toml pins ([internal] manage_nodes, [internal.zone_nodes]).
#   scripts/pki.sh fingerprint DIR NAME
#       Prints DIR/NAME.pem's fingerprint again.
#
# Keys are written with mode 0600; an existing file is never overwritten (remove it first).
# A certificate says only that it is the KMS's: what a node may do (manage, or serve one zone)
# is the store's kms.toml's pinning of its fingerprint.
set -euo pipefail

die() { echo "pki.sh: $*" >&2; exit 2; }
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
command -v openssl >/dev/null || die "openssl is needed (apt-get install openssl)"

fresh() { # FILE...: refuses to overwrite
  local f
  for f in "$@"; do [ ! -e "$f" ] || die "$f exists: remove it first (nothing was written)"; done
}

fingerprint() { # CERT
  openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

days_arg() { # VALUE
  [[ "$1" =~ ^[1-9][0-9]*$ ]] || die "--days takes a positive number of days, not '$1'"
  printf '%s' "$1"
}

umask 077
[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2
case $cmd in
  init)
    days=3650 cn="kms internal CA"
    while [ $# -gt 0 ]; do
      case $1 in
        --days) days=$(days_arg "${2:-}"); shift 2 ;;
        --cn) [ -n "${2:-}" ] || die "--cn takes a name"; cn=$2; shift 2 ;;
        *) die "init: unknown argument '$1' (see scripts/pki.sh without arguments)" ;;
      esac
    done
    mkdir -p "$dir"
    fresh "$dir/internal-ca.pem" "$dir/internal-ca.key"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
      -subj "/CN=$cn" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$dir/internal-ca.key" -out "$dir/internal-ca.pem" 2>/dev/null
    chmod 644 "$dir/internal-ca.pem"
    echo "internal CA: $dir/internal-ca.pem (to every node), $dir/internal-ca.key (keep it here)"
    ;;
  issue)
    [ $# -ge 1 ] || die "issue: say the certificate's NAME"
    name=$1
    shift
    [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "NAME is letters, digits, '.', '_', '-': '$name'"
    days=365 sans=()
    while [ $# -gt 0 ]; do
      case $1 in
        --ip) [ -n "${2:-}" ] || die "--ip takes an address"; sans+=("IP:$2"); shift 2 ;;
        --dns) [ -n "${2:-}" ] || die "--dns takes a name"; sans+=("DNS:$2"); shift 2 ;;
        --days) days=$(days_arg "${2:-}"); shift 2 ;;
        *) die "issue: unknown argument '$1' (see scripts/pki.sh without arguments)" ;;
      esac
    done
    [ -f "$dir/internal-ca.pem" ] && [ -f "$dir/internal-ca.key" ] \
      || die "no CA in $dir: run scripts/pki.sh init $dir first"
    fresh "$dir/$name.pem" "$dir/$name.key"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    {
      printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n'
      printf 'extendedKeyUsage=serverAuth,clientAuth\n'
      if [ ${#sans[@]} -gt 0 ]; then (IFS=,; printf 'subjectAltName=%s\n' "${sans[*]}"); fi
    } >"$work/ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
      -keyout "$dir/$name.key" -out "$work/csr" 2>/dev/null
    openssl x509 -req -in "$work/csr" -CA "$dir/internal-ca.pem" -CAkey "$dir/internal-ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days "$days" -extfile "$work/ext" \
      -out "$dir/$name.pem" 2>/dev/null
    chmod 644 "$dir/$name.pem"
    echo "$name $(fingerprint "$dir/$name.pem")"
    ;;
  fingerprint)
    [ $# -eq 1 ] || die "fingerprint: say the certificate's NAME"
    [ -f "$dir/$1.pem" ] || die "no certificate $dir/$1.pem"
    echo "$1 $(fingerprint "$dir/$1.pem")"
    ;;
  *) usage ;;
esac
