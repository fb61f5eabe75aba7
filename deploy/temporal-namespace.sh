#!/bin/sh
# Creates the namespace Switchboard runs in (its search attributes come from the worker), and
# keeps its retention at TEMPORAL_RETENTION_DAYS, the raw payloads' (docs/privacy.md). With
# TEMPORAL_TLS_DIR, over mutual TLS with the client certificate in it (deploy/certs).
set -eu
address=temporal:7233
retention="${TEMPORAL_RETENTION_DAYS:-30}d"
set -- --address "$address"
if [ -n "${TEMPORAL_TLS_DIR:-}" ]; then
    set -- "$@" --tls-cert-path "$TEMPORAL_TLS_DIR/client.pem" \
        --tls-key-path "$TEMPORAL_TLS_DIR/client.key" \
        --tls-ca-path "$TEMPORAL_TLS_DIR/ca.pem" --tls-server-name temporal
fi
until temporal operator cluster health "$@"; do sleep 2; done
if temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" "$@"; then
    temporal operator namespace update -n "$TEMPORAL_NAMESPACE" --retention "$retention" "$@"
else
    temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention "$retention" "$@"
fi
