"""Drives smbpipe with impacket's SMB 3.0 client, which encrypts a user
session whenever the server offers SMB2_GLOBAL_CAP_ENCRYPTION.

usage: impacket_encrypted.py PORT USER PASSWORD PIPE

Prints one line per step, "OK <step>" or "FAIL <step> <reason>", and stops
at the first failure. After login it prints whether impacket encrypts the
session (SMB2_SESSION_FLAG_ENCRYPT_DATA in its session state) and the
dialect. Exit status 0 unless a Python error.
"""
import sys

from impacket import smb3structs
from impacket.smbconnection import SMBConnection

sys.dont_write_bytecode = True  # no __pycache__ next to impacket_steps.py in the source tree
from impacket_steps import close_logoff, large_echo, open_ipc_pipe, run, transact_echo, write_read


def steps(st):
    port, user, password, pipe = sys.argv[1:5]
    conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=int(port),
                         preferredDialect=smb3structs.SMB2_DIALECT_30, timeout=20)
    print("OK connect dialect=0x%04x" % conn.getDialect())
    st.step = "login"
    conn.login(user, password, "WORKGROUP")
    s = conn.getSMBServer()
    enc = bool(s._Session["SessionFlags"] & smb3structs.SMB2_SESSION_FLAG_ENCRYPT_DATA)
    print("OK login encrypt=%s supports=%s" % (enc, s._Connection["SupportsEncryption"]))
    tid, fid = open_ipc_pipe(st, conn, pipe)
    st.step = "write-read"
    for i in range(3):
        write_read(conn, tid, fid, b"sealed message %d from impacket" % i)
    print("OK write-read")
    st.step = "transact"
    transact_echo(conn, tid, fid, b"transceive me, sealed")
    print("OK transact")
    st.step = "large"
    large_echo(conn, tid, fid, bytes(range(256)) * 200)
    print("OK large")
    close_logoff(st, conn, tid, fid)


if __name__ == "__main__":
    run(steps)
