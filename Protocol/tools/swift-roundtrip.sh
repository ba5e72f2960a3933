#!/usr/bin/env bash
# Compiles Protocol/tools/SwiftRoundTrip.swift with Sources/OrchestratorProtocol (plain swiftc into a
# temporary directory; no SwiftPM build) and checks every vector and example against the Swift codec.
#
#   Protocol/tools/swift-roundtrip.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp Sources/OrchestratorProtocol/*.swift "$work/"
cp Protocol/tools/SwiftRoundTrip.swift "$work/main.swift"
swiftc -module-name OrchestratorProtocolRoundTrip -o "$work/roundtrip" "$work"/*.swift
"$work/roundtrip" Protocol
