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

from impacket import smb
from impacket.smbconnection import SMBConnection

sys.dont_write_bytecode = True  # no __pycache__ next to impacket_steps.py in the source tree
from impacket_steps import DIALECTS, close_logoff, expect_echo, large_echo, open_ipc_pipe, run, write_read


def steps(st):
    port, user, password, dialect, pipe = sys.argv[1:6]
    size = int(sys.argv[6]) if len(sys.argv) > 6 else 61440
    conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=int(port),
                         preferredDialect=DIALECTS[dialect], timeout=20)
    print("OK connect dialect=0x%04x" % conn.getDialect())
    st.step = "login"
    conn.login(user, password, "WORKGROUP")
    print("OK login guest=%s" % conn.isGuestSession())
    tid, fid = open_ipc_pipe(st, conn, pipe)
    st.step = "write-read"
    write_read(conn, tid, fid, b"hello from impacket")
    print("OK write-read")
    st.step = "transact"
    msg = b"transceive me"
    got = conn.getSMBServer().TransactNamedPipe(tid, fid, msg, waitAnswer=True) \
        if conn.getDialect() == smb.SMB_DIALECT else conn.transactNamedPipe(tid, fid, msg)
    expect_echo("transact", got, msg)
    print("OK transact")
    st.step = "large"
    big = os.urandom(size)
    large_echo(conn, tid, fid, big)
    print("OK large %d" % len(big))
    close_logoff(st, conn, tid, fid, disconnect=True)


if __name__ == "__main__":
    run(steps)
