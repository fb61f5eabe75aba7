#!/bin/sh
# Mutual TLS between Temporal's frontend and its clients, made where it runs: the compose file's
# one-shot `temporal-certs` service runs this on every `docker compose up`, so no key is ever in
# an image or in the repository. Usage: make-certs.sh DIR [SERVER_NAME]
#
#   DIR/ca/      ca.pem, ca.key              the CA (its key stays in this volume alone)
#   DIR/server/  ca.pem, server.pem, .key    Temporal's frontend (and its internode traffic)
#   DIR/client/  ca.pem, client.pem, .key    Switchboard's processes and the admin tools
#   DIR/ui/      ca.pem, ui.pem, ui.key      Temporal UI's server
#
# Each directory is a volume of its own, mounted only by the service it names, so a container
# holds its own key and no other. Idempotent: existing certificates are kept until fewer than
# RENEW_DAYS (30) days remain, then all leaves are made anew (restart the stack to load them).
set -eu
dir=${1:?usage: make-certs.sh DIR [SERVER_NAME]}
name=${2:-temporal}
days=${CERT_DAYS:-365}
renew_s=$(( ${RENEW_DAYS:-30} * 86400 ))
umask 077
mkdir -p "$dir/ca" "$dir/server" "$dir/client" "$dir/ui"

key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

fresh() {
    [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend "$renew_s" >/dev/null 2>&1
}

if ! fresh "$dir/ca/ca.pem"; then
    key "$dir/ca/ca.key"
    openssl req -x509 -new -key "$dir/ca/ca.key" -sha256 -days $(( days * 10 )) \
        -subj "/CN=Switchboard Temporal CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/ca/ca.pem"
fi

# leaf ROLE CN EXTENDED_KEY_USAGE SUBJECT_ALT_NAMES
leaf() {
    out="$dir/$1/$1"
    if fresh "$out.pem" && openssl verify -CAfile "$dir/ca/ca.pem" "$out.pem" >/dev/null 2>&1; then
        return
    fi
    rm -f "$out.key" "$out.pem"
    key "$out.key"
    extensions="$dir/$1/.ext"
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$3"
        echo "subjectAltName=$4"
    } > "$extensions"
    openssl req -new -key "$out.key" -subj "/CN=$2" -out "$out.csr"
    openssl x509 -req -in "$out.csr" -CA "$dir/ca/ca.pem" -CAkey "$dir/ca/ca.key" \
        -CAcreateserial -CAserial "$dir/ca/ca.srl" -sha256 -days "$days" \
        -extfile "$extensions" -out "$out.pem"
    rm -f "$out.csr" "$extensions"
    echo "made $1 certificate for $2"
}

# The frontend's certificate also authenticates the server to itself (internode, its own
# system workers), hence clientAuth too.
leaf server "$name" "serverAuth,clientAuth" "DNS:$name,DNS:localhost,IP:127.0.0.1"
leaf client switchboard clientAuth "DNS:switchboard"
leaf ui temporal-ui clientAuth "DNS:temporal-ui"

# The consumers run as users of their own images (Temporal's, the UI's, ours): readable by
# them, and each volume is mounted by its consumer alone. The CA's key stays private.
for role in server client ui; do
    rm -f "$dir/$role/ca.pem"
    cp "$dir/ca/ca.pem" "$dir/$role/ca.pem"
    chmod 0755 "$dir/$role"
    chmod 0444 "$dir/$role"/*
done
chmod 0700 "$dir/ca"
