"""Echo each line of stdin to stdout until end of input (a stand-in for a stdio server)."""

import sys

for line in sys.stdin.buffer:
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
