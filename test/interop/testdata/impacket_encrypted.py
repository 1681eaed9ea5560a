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
from impacket.smbconnection import SMBConnection, SessionError
from impacket.nt_errors import ERROR_MESSAGES


def status_name(e):
    code = e.getErrorCode() & 0xFFFFFFFF
    return ERROR_MESSAGES.get(code, ("0x%08X" % code,))[0]


def main():
    port, user, password, pipe = sys.argv[1:5]
    step = "connect"
    try:
        conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=int(port),
                             preferredDialect=smb3structs.SMB2_DIALECT_30, timeout=20)
        print("OK connect dialect=0x%04x" % conn.getDialect())
        step = "login"
        conn.login(user, password, "WORKGROUP")
        s = conn.getSMBServer()
        enc = bool(s._Session["SessionFlags"] & smb3structs.SMB2_SESSION_FLAG_ENCRYPT_DATA)
        print("OK login encrypt=%s supports=%s" % (enc, s._Connection["SupportsEncryption"]))
        step = "tree"
        tid = conn.connectTree("IPC$")
        print("OK tree")
        step = "open"
        fid = conn.openFile(tid, pipe, desiredAccess=0x3, shareMode=0x1,
                            creationOption=0x40, fileAttributes=0x80)
        print("OK open")
        for i in range(3):
            step = "write-read"
            msg = b"sealed message %d from impacket" % i
            conn.writeFile(tid, fid, msg)
            got = conn.readFile(tid, fid, 0, 4096)
            if got != msg:
                print("FAIL write-read got %r" % got)
                return
        print("OK write-read")
        step = "transact"
        msg = b"transceive me, sealed"
        got = conn.transactNamedPipe(tid, fid, msg)
        if got != msg:
            print("FAIL transact got %r" % got)
            return
        print("OK transact")
        step = "large"
        msg = bytes(range(256)) * 200
        conn.writeFile(tid, fid, msg)
        got = b""
        while len(got) < len(msg):
            got += conn.readFile(tid, fid, 0, 65536)
        if got != msg:
            print("FAIL large got %d bytes" % len(got))
            return
        print("OK large")
        step = "close"
        conn.closeFile(tid, fid)
        print("OK close")
        step = "logoff"
        conn.logoff()
        print("OK logoff")
    except SessionError as e:
        print("FAIL %s %s" % (step, status_name(e)))
    except Exception as e:  # a dropped connection, a decryption failure
        print("FAIL %s %s: %s" % (step, type(e).__name__, e))


if __name__ == "__main__":
    main()
