#!/bin/sh
# Creates the namespace Switchboard runs in (its search attributes come from the worker), and
# keeps its retention at TEMPORAL_RETENTION_DAYS, the raw payloads' (docs/privacy.md).
set -eu
address=temporal:7233
retention="${TEMPORAL_RETENTION_DAYS:-30}d"
until temporal operator cluster health --address "$address"; do sleep 2; done
if temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" --address "$address"; then
    temporal operator namespace update -n "$TEMPORAL_NAMESPACE" --retention "$retention" \
        --address "$address"
else
    temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention "$retention" \
        --address "$address"
fi
