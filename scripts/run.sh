#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Builds tcploggerd and runs it in the foreground with the shipped
# configuration (interfaces = auto: the interfaces of the default routes),
# until Ctrl-C. As root. The program stays attached and counting after the
# daemon stops (keep_attached = yes); `build/tcploggerd --config
# conf/tcploggerd.conf --detach` removes it.
#
#   scripts/run.sh [tcploggerd options]      e.g. -v
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j "$(nproc)" --target tcploggerd >/dev/null
echo "tcploggerd: counting on the default-route interfaces; Ctrl-C stops the daemon"
exec "$top/build/tcploggerd" --config "$top/conf/tcploggerd.conf" "$@"
