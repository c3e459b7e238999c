"""A server that ignores stdin EOF and SIGTERM: only SIGKILL ends it.

Writes its pid to the file named by argv[1] (if given), then "ready" to stdout.
"""

import os
import signal
import sys

signal.signal(signal.SIGTERM, signal.SIG_IGN)
if len(sys.argv) > 1:
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:  # SIGTERM is ignored, so nothing wakes it: only SIGKILL ends it
    signal.pause()
