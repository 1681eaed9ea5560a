"""Opens pipes with impacket, driven by commands on standard input.

usage: impacket_opens.py PORT

One command a line; each prints one line and flushes, so a test can drive
it step by step (hot reload) or pipe in a whole batch (the access matrix):

  login ID USER PASSWORD   new connection ID: log on, tree connect IPC$.
                           USER "-" is an anonymous (null) session;
                           PASSWORD "-" is empty.
                           prints "ID login OK guest=True|False" or
                           "ID login STATUS_NAME"
  open ID LABEL PIPE MASK  CREATE PIPE with DesiredAccess MASK (hex) on
                           connection ID, then CLOSE it when granted.
                           prints "LABEL STATUS_NAME" (STATUS_SUCCESS
                           when granted)
  hold ID LABEL PIPE MASK  like open, but keeps the handle as LABEL
  echo ID LABEL DATA       write DATA to held handle LABEL and read it
                           back; prints "LABEL echo OK" or
                           "LABEL echo STATUS_NAME"
  close ID LABEL           close held handle LABEL; prints
                           "LABEL close OK" or "LABEL close STATUS_NAME"
  quit                     log off every connection and exit

A connection error prints "ID error TYPE: MESSAGE".
"""
import sys

from impacket.smbconnection import SMBConnection, SessionError

sys.dont_write_bytecode = True  # no __pycache__ next to impacket_steps.py in the source tree
from impacket_steps import status_name


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    port = int(sys.argv[1])
    conns = {}
    held = {}
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        if f[0] == "quit":
            break
        try:
            if f[0] == "login":
                cid, user, password = f[1], f[2], f[3]
                user = "" if user == "-" else user
                password = "" if password == "-" else password
                conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=port, timeout=20)
                try:
                    conn.login(user, password, "WORKGROUP")
                except SessionError as e:
                    say("%s login %s" % (cid, status_name(e)))
                    continue
                tid = conn.connectTree("IPC$")
                conns[cid] = (conn, tid)
                say("%s login OK guest=%s" % (cid, bool(conn.isGuestSession())))
            elif f[0] in ("open", "hold"):
                cid, label, pipe, mask = f[1], f[2], f[3], int(f[4], 16)
                conn, tid = conns[cid]
                try:
                    fid = conn.openFile(tid, pipe, desiredAccess=mask, shareMode=0x3,
                                        creationOption=0x40, fileAttributes=0x80)
                except SessionError as e:
                    say("%s %s" % (label, status_name(e)))
                    continue
                if f[0] == "hold":
                    held[label] = fid
                else:
                    conn.closeFile(tid, fid)
                say("%s STATUS_SUCCESS" % label)
            elif f[0] == "echo":
                cid, label, data = f[1], f[2], f[3].encode()
                conn, tid = conns[cid]
                try:
                    conn.writeFile(tid, held[label], data)
                    got = conn.readFile(tid, held[label], 0, 4096)
                except SessionError as e:
                    say("%s echo %s" % (label, status_name(e)))
                    continue
                say("%s echo %s" % (label, "OK" if got == data else "got %r" % got))
            elif f[0] == "close":
                cid, label = f[1], f[2]
                conn, tid = conns[cid]
                try:
                    conn.closeFile(tid, held.pop(label))
                except SessionError as e:
                    say("%s close %s" % (label, status_name(e)))
                    continue
                say("%s close OK" % label)
            else:
                say("unknown command %r" % f[0])
        except Exception as e:  # connection errors and protocol surprises
            say("%s error %s: %s" % (f[1] if len(f) > 1 else "-", type(e).__name__, e))
    for conn, _ in conns.values():
        try:
            conn.logoff()
        except Exception:
            pass


if __name__ == "__main__":
    main()
