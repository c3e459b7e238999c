"""Write 1 MiB to stderr before reading anything, then echo stdin to stdout."""

import sys

chunk = b"x" * 1023 + b"\n"
for _ in range(1024):
    sys.stderr.buffer.write(chunk)
sys.stderr.buffer.flush()
sys.stdout.write("noisy done\n")
sys.stdout.flush()
for line in sys.stdin.buffer:
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
