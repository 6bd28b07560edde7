#!/usr/bin/env bash
# Runs the Flywheel platform locally: builds once, then starts the broker, the schema registry, the
# topics, every service and the traffic simulator (data under ./.flywheel, so a restart continues).
# Ctrl-C stops everything it started. The launcher lives in the local-platform module; --help lists
# its options and their defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
echo "building (first run downloads dependencies from Maven Central)..."
mvn -q -B -ntp install -DskipTests
classpath_file=local-platform/target/runtime-classpath.txt
mvn -q -B -ntp -pl local-platform dependency:build-classpath -Dmdep.outputFile="$(pwd)/$classpath_file" -DincludeScope=runtime
exec java -Xmx256m -Dlogback.configurationFile=dev/flywheel/local/launcher-logback.xml -cp "local-platform/target/classes:$(cat "$classpath_file")" dev.flywheel.local.LocalPlatform "$@"
