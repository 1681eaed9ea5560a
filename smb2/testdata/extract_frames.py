#!/usr/bin/env python3
"""Extract Direct-TCP (NetBIOS session) frames of a pcapng into a .frames file.

Usage: extract_frames.py CAPTURE.pcapng > NAME.frames

Each TCP stream is reassembled with `tshark -z follow,tcp,raw`, per direction,
and cut into frames by their 4-byte transport headers. Output: one frame per
line, "C <hex>" (client to server) or "S <hex>" (server to client), the hex
including the transport header; '#' lines are comments. Needs tshark.
"""
import os
import subprocess
import sys


def tshark(*args):
    return subprocess.run(["tshark", *args], capture_output=True, text=True, check=True).stdout


def chunks(cap, stream):
    """Yields (direction, bytes) in capture order; server data is indented."""
    started = False
    for line in tshark("-r", cap, "-q", "-z", "follow,tcp,raw,%d" % stream).splitlines():
        if line.startswith("Node 1:"):
            started = True
        elif started and line.strip() and not line.startswith("===="):
            yield ("S" if line.startswith("\t") else "C"), bytes.fromhex(line.strip())


def main(cap):
    print("# frames of %s (C=client->server, S=server->client)" % os.path.basename(cap))
    streams = sorted({int(s) for s in tshark("-r", cap, "-T", "fields", "-e", "tcp.stream").split()})
    for stream in streams:
        print("# tcp stream %d" % stream)
        pending = {"C": b"", "S": b""}
        for d, data in chunks(cap, stream):
            pending[d] += data
            buf = pending[d]
            while len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[1:4], "big"):
                n = 4 + int.from_bytes(buf[1:4], "big")
                print(d, buf[:n].hex())
                buf = buf[n:]
            pending[d] = buf
        for d, rest in pending.items():
            if rest:
                sys.exit("%s: stream %d: %d trailing bytes from %s" % (cap, stream, len(rest), d))


if __name__ == "__main__":
    main(sys.argv[1])
