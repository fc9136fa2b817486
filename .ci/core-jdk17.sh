#!/usr/bin/env bash
# The library route of README.md on the oldest JDK it promises: gns4j-core builds, installs and runs its example
# with JDK 17 (Debian's openjdk-17, installed when missing). Its own build folder keeps these classes apart from the
# JDK 25 build of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
jdk17=""
for d in /usr/lib/jvm/*17*; do
  if [ -x "$d/bin/javac" ]; then jdk17="$d"; break; fi
done
if [ -z "$jdk17" ]; then
  sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless
  jdk17=/usr/lib/jvm/java-17-openjdk-amd64
fi
export JAVA_HOME="$jdk17"
mvn -B -q install -pl gns4j-core -am -Dgns4j.buildDir=target-jdk17
"$JAVA_HOME/bin/java" -cp gns4j-core/target-jdk17/gns4j-core-0.1.0.jar examples/NoiseScaleExample.java
