"""Watches a fleet of smbpipe servers decide one pipe for an anonymous
(null session) impacket client: one session per server, kept open; each
check is a CREATE of the pipe on that session.

usage: impacket_fleet.py PIPE

Reads commands from stdin, one a line, and answers each with result lines
and a final "DONE":

  open PORT[,PORT...]
      one open on each server: "RESULT PORT GRANTED" or
      "RESULT PORT <NTSTATUS name>"
  until GRANTED|DENIED TIMEOUT_MS PORT[,PORT...]
      opens on each server every few milliseconds until it answers as
      wanted (DENIED: any NTSTATUS refusal): "REACHED PORT <ms since the
      command was read>", or "TIMEOUT PORT <last answer>"

A session is made on first use of a port and made again when its
connection fails (a server restarted on the same port).
"""
import os
import sys
import time

from impacket.smbconnection import SMBConnection, SessionError

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
# The interop scripts' shared helpers (NTSTATUS names, opening a pipe).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop", "testdata"))
from impacket_steps import open_pipe, status_name

PIPE = sys.argv[1]
sessions = {}


def session(port):
    s = sessions.get(port)
    if s is None:
        conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=int(port), timeout=10)
        conn.login("", "", "WORKGROUP")
        s = (conn, conn.connectTree("IPC$"))
        sessions[port] = s
    return s


def try_open(port):
    """GRANTED, or the NTSTATUS name of the refusal."""
    for attempt in (1, 2):
        try:
            conn, tid = session(port)
            fid = open_pipe(conn, tid, PIPE)
            conn.closeFile(tid, fid)
            return "GRANTED"
        except SessionError as e:
            return status_name(e)
        except Exception as e:  # connection lost: a new session, once
            sessions.pop(port, None)
            if attempt == 2:
                return "ERROR %s: %s" % (type(e).__name__, e)
    return "ERROR"


def main():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        start = time.monotonic()
        if words[0] == "open":
            for port in words[1].split(","):
                print("RESULT %s %s" % (port, try_open(port)))
        elif words[0] == "until":
            want, timeout = words[1], int(words[2]) / 1000.0
            pending = words[3].split(",")
            last = {}
            while pending and time.monotonic() - start < timeout:
                for port in list(pending):
                    got = last[port] = try_open(port)
                    if (got == "GRANTED") == (want == "GRANTED") and not got.startswith("ERROR"):
                        print("REACHED %s %d" % (port, (time.monotonic() - start) * 1000))
                        sys.stdout.flush()
                        pending.remove(port)
                time.sleep(0.005)
            for port in pending:
                print("TIMEOUT %s %s" % (port, last.get(port, "")))
        else:
            print("ERROR unknown command %r" % words[0])
        print("DONE")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
