"""Holds an impacket session with an open pipe until stdin closes.

usage: impacket_hold.py PORT USER PASSWORD PIPE

Logs on (USER "" is a null session), opens PIPE on IPC$, writes "hold"
and reads the echo, prints "OK held", then waits for stdin to close and
prints "OK released" (or "FAIL released <error>" when the connection had
ended by then). Exit status 0 unless a Python error.
"""
import sys

from impacket.smbconnection import SMBConnection

port, user, password, pipe = sys.argv[1:5]
conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=int(port), timeout=20)
conn.login(user, password, "WORKGROUP")
tid = conn.connectTree("IPC$")
fid = conn.openFile(tid, "\\" + pipe, desiredAccess=0x0012019F)
conn.writeFile(tid, fid, b"hold")
data = conn.readFile(tid, fid, 0, 64)
if data != b"hold":
    print("FAIL held echo %r" % data)
    sys.exit(0)
print("OK held", flush=True)
sys.stdin.read()
try:
    conn.closeFile(tid, fid)
    conn.logoff()
    print("OK released")
except Exception as e:  # the session was closed by the administrator
    print("FAIL released %s" % e)
