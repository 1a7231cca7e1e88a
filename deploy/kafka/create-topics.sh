#!/usr/bin/env bash
# Creates the Siyu topics (see /work/shared/contract.md, "Kafka topics") on the compose broker.
# Run once by the `kafka-init` service after `kafka` is healthy; safe to re-run.
#
# Inputs (environment, set in docker-compose.yml):
#   BOOTSTRAP          broker address, e.g. kafka:9092
#   PARTITIONS         partitions per topic
#   REPLICATION        replication factor (1 on a single node)
#   TOPICS             space-separated topics with the default (delete) cleanup policy
#   COMPACTED_TOPICS   space-separated topics keyed by an entity id where the latest value wins
#   RETAINED_TOPICS    space-separated topics kept longer for investigation (dead letters)
#   RETAINED_MS        retention.ms for RETAINED_TOPICS
#   KAFKA_BIN          folder of kafka-topics.sh / kafka-configs.sh (default /opt/kafka/bin)
set -euo pipefail

: "${BOOTSTRAP:?BOOTSTRAP is required}"
: "${PARTITIONS:?PARTITIONS is required}"
REPLICATION="${REPLICATION:-1}"
TOPICS="${TOPICS:-}"
COMPACTED_TOPICS="${COMPACTED_TOPICS:-}"
RETAINED_TOPICS="${RETAINED_TOPICS:-}"
RETAINED_MS="${RETAINED_MS:-2592000000}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"

topics() { "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "$@"; }
configs() { "$KAFKA_BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" "$@"; }

create() {
  local topic="$1"; shift
  topics --create --if-not-exists --topic "$topic" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION" "$@"
}

# --if-not-exists keeps an existing topic's settings, so the policies that matter are also
# (re)applied with kafka-configs.sh: a topic created earlier with the wrong policy is corrected.
enforce() {
  local topic="$1" config="$2"
  configs --alter --entity-type topics --entity-name "$topic" --add-config "$config"
}

for t in $TOPICS; do
  create "$t"
done

for t in $COMPACTED_TOPICS; do
  create "$t" --config cleanup.policy=compact
  enforce "$t" cleanup.policy=compact
done

for t in $RETAINED_TOPICS; do
  create "$t" --config "retention.ms=$RETAINED_MS"
  enforce "$t" "retention.ms=$RETAINED_MS"
done

echo "Siyu topics on $BOOTSTRAP:"
topics --list
