#!/usr/bin/env bash
# Runs the Flywheel platform locally: builds once, then starts the broker, the schema registry and the
# topics (data under ./.flywheel, so a restart continues). Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
echo "building (first run downloads dependencies from Maven Central)..."
mvn -q -B -ntp install -DskipTests
classpath_file=infra/target/runtime-classpath.txt
mvn -q -B -ntp -pl infra dependency:build-classpath -Dmdep.outputFile="$(pwd)/$classpath_file" -Dmdep.includeScope=runtime
exec java -Xmx256m -Dlogback.configurationFile=dev/flywheel/infra/local/launcher-logback.xml -cp "infra/target/classes:$(cat "$classpath_file")" dev.flywheel.infra.local.LocalPlatform "$@"
