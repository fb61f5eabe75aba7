#!/bin/sh
# Creates the namespace Switchboard runs in (its search attributes come from the worker).
set -eu
address=temporal:7233
until temporal operator cluster health --address "$address"; do sleep 2; done
temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" --address "$address" \
    || temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention 30d --address "$address"
