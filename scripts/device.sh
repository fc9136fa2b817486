#!/usr/bin/env bash
# Runs a gns4j command on the GPU machine (no Java or Maven there): the carried .jrt runtime and the jar built here.
#   device run, carry [".jrt", "target/gns4j.jar"]:  scripts/device.sh bench gpu
set -euo pipefail
cd "$(dirname "$0")/.."
exec .jrt/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${GNS4J_JAVA_OPTS:-} \
  -jar target/gns4j.jar "$@"
