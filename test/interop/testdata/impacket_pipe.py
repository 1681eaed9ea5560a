"""Drives smbpipe with impacket: log on, connect IPC$, use a pipe, log off.

usage: impacket_pipe.py PORT USER PASSWORD DIALECT PIPE [SIZE]
  USER "" is an anonymous (null) session.
  DIALECT: default (SMB1 NEGOTIATE first), 2.0.2, 2.1 or 3.0.
  SIZE: bytes of the large message (default 61440).

Prints one line per step, "OK <step>" or "FAIL <step> <NTSTATUS name>",
and stops at the first failure. Exit status 0 unless a Python error.
"""
import os
import sys

from impacket import smb, smb3structs
from impacket.smbconnection import SMBConnection, SessionError
from impacket.nt_errors import ERROR_MESSAGES

DIALECTS = {
    "default": None,
    "2.0.2": smb3structs.SMB2_DIALECT_002,
    "2.1": smb3structs.SMB2_DIALECT_21,
    "3.0": smb3structs.SMB2_DIALECT_30,
}


def status_name(e):
    code = e.getErrorCode() & 0xFFFFFFFF
    return ERROR_MESSAGES.get(code, ("0x%08X" % code,))[0]


def main():
    port, user, password, dialect, pipe = sys.argv[1:6]
    size = int(sys.argv[6]) if len(sys.argv) > 6 else 61440
    step = "connect"
    try:
        conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=int(port),
                             preferredDialect=DIALECTS[dialect], timeout=20)
        print("OK connect dialect=0x%04x" % conn.getDialect())
        step = "login"
        conn.login(user, password, "WORKGROUP")
        print("OK login guest=%s" % conn.isGuestSession())
        step = "tree"
        tid = conn.connectTree("IPC$")
        print("OK tree")
        step = "open"
        fid = conn.openFile(tid, pipe, desiredAccess=0x3, shareMode=0x1,
                            creationOption=0x40, fileAttributes=0x80)
        print("OK open")
        step = "write-read"
        msg = b"hello from impacket"
        conn.writeFile(tid, fid, msg)
        got = conn.readFile(tid, fid, 0, 4096)
        if got != msg:
            print("FAIL write-read got %r" % got)
            return
        print("OK write-read")
        step = "transact"
        msg = b"transceive me"
        got = conn.getSMBServer().TransactNamedPipe(tid, fid, msg, waitAnswer=True) \
            if conn.getDialect() == smb.SMB_DIALECT else conn.transactNamedPipe(tid, fid, msg)
        if got != msg:
            print("FAIL transact got %r" % got)
            return
        print("OK transact")
        step = "large"
        big = os.urandom(size)
        conn.writeFile(tid, fid, big)
        got = b""
        while len(got) < len(big):
            chunk = conn.readFile(tid, fid, 0, len(big) - len(got))
            if not chunk:
                break
            got += chunk
        if got != big:
            print("FAIL large got %d bytes" % len(got))
            return
        print("OK large %d" % len(big))
        step = "close"
        conn.closeFile(tid, fid)
        print("OK close")
        step = "tree-disconnect"
        conn.disconnectTree(tid)
        print("OK tree-disconnect")
        step = "logoff"
        conn.logoff()
        print("OK logoff")
    except SessionError as e:
        print("FAIL %s %s" % (step, status_name(e)))
    except Exception as e:  # connection errors and protocol surprises
        print("FAIL %s %s: %s" % (step, type(e).__name__, e))


if __name__ == "__main__":
    main()
