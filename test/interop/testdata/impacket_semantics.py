"""Drives smbpipe's pipe semantics with impacket.

usage: impacket_semantics.py PORT USER PASSWORD MODE PIPE [INPUT]
  USER "" is an anonymous (null) session.
  MODE:
    overflow  READ and TRANSCEIVE shorter than the message: BUFFER_OVERFLOW
              with the first part, the rest on the next READ
    peek      FSCTL_PIPE_PEEK on an empty pipe and with a message queued
    wait      PIPE must have max_instances = 1: PIPE_NOT_AVAILABLE, then
              FSCTL_PIPE_WAIT timing out, failing on an unknown name, and
              succeeding when the instance is freed during the wait
    rw        write INPUT, read one message
    readall   write INPUT if given, read until an error

Prints one line per step, "OK <step> [detail]" or "FAIL <step> <NTSTATUS>",
and stops at the first unexpected failure. Exit status 0 unless a Python
error.
"""
import struct
import sys
import threading
import time

from impacket import smb3
from impacket.smb3structs import SMB2Ioctl_Response, SMB2Read_Response, SMB2_0_IOCTL_IS_FSCTL
from impacket.smbconnection import SMBConnection, SessionError

sys.dont_write_bytecode = True  # no __pycache__ next to impacket_steps.py in the source tree
from impacket_steps import Failed, open_pipe, run, status_name

FSCTL_PIPE_PEEK = 0x0011400C
FSCTL_PIPE_TRANSCEIVE = 0x0011C017


def error_packet(e):
    return e.get_error_packet() if isinstance(e, smb3.SessionError) else e.getErrorPacket()


def connect(port, user, password):
    conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=int(port), timeout=20)
    conn.login(user, password, "WORKGROUP")
    tid = conn.connectTree("IPC$")
    return conn, tid


def expect_status(step, fn, want):
    """Runs fn, which must fail with NTSTATUS want; returns the error."""
    try:
        fn()
    except (SessionError, smb3.SessionError) as e:
        if status_name(e) == want:
            print("OK %s %s" % (step, want))
            return e
        print("FAIL %s %s" % (step, status_name(e)))
        raise Failed()
    print("FAIL %s STATUS_SUCCESS" % step)
    raise Failed()


def overflow(conn, tid, pipe):
    fid = open_pipe(conn, tid, pipe)
    msg = b"0123456789abcdefghij"
    conn.writeFile(tid, fid, msg)
    e = expect_status("read-short", lambda: conn.readFile(tid, fid, 0, 8), "STATUS_BUFFER_OVERFLOW")
    first = SMB2Read_Response(error_packet(e)["Data"])["Buffer"]
    rest = conn.readFile(tid, fid, 0, 4096)
    print("OK read-parts %s|%s" % (first.decode(), rest.decode()))

    # transactNamedPipe asks for up to 65535 bytes; the lower-level ioctl
    # lets the reply limit be set, so a short one shows the overflow.
    smb = conn.getSMBServer()
    e = expect_status("transceive-short",
                      lambda: smb.ioctl(tid, fid, FSCTL_PIPE_TRANSCEIVE, SMB2_0_IOCTL_IS_FSCTL,
                                        msg, maxOutputResponse=8),
                      "STATUS_BUFFER_OVERFLOW")
    first = SMB2Ioctl_Response(error_packet(e)["Data"])["Buffer"]
    rest = conn.readFile(tid, fid, 0, 4096)
    print("OK transceive-parts %s|%s" % (first.decode(), rest.decode()))
    got = conn.transactNamedPipe(tid, fid, msg)
    print("OK transceive-full %s" % got.decode())
    conn.closeFile(tid, fid)


def peek(conn, tid, pipe):
    fid = open_pipe(conn, tid, pipe)
    smb = conn.getSMBServer()

    def header(out):
        state, avail, msgs, first = struct.unpack("<LLLL", out[:16])
        return "state=%d avail=%d msgs=%d first=%d data=%s" % (state, avail, msgs, first, out[16:].decode())

    out = smb.ioctl(tid, fid, FSCTL_PIPE_PEEK, SMB2_0_IOCTL_IS_FSCTL, b"", maxOutputResponse=64)
    print("OK peek-empty %s" % header(out))
    conn.writeFile(tid, fid, b"peekaboo")
    for _ in range(100):  # wait for the echo
        out = smb.ioctl(tid, fid, FSCTL_PIPE_PEEK, SMB2_0_IOCTL_IS_FSCTL, b"", maxOutputResponse=64)
        if struct.unpack("<L", out[4:8])[0] > 0:
            break
        time.sleep(0.01)
    print("OK peek-data %s" % header(out))
    e = expect_status("peek-short",
                      lambda: smb.ioctl(tid, fid, FSCTL_PIPE_PEEK, SMB2_0_IOCTL_IS_FSCTL, b"",
                                        maxOutputResponse=20),
                      "STATUS_BUFFER_OVERFLOW")
    print("OK peek-short-data %s" % header(SMB2Ioctl_Response(error_packet(e)["Data"])["Buffer"]))
    print("OK read-after-peek %s" % conn.readFile(tid, fid, 0, 4096).decode())
    conn.closeFile(tid, fid)


def wait(port, user, password, conn, tid, pipe):
    fid = open_pipe(conn, tid, pipe)
    print("OK open-first")
    other, otid = connect(port, user, password)
    expect_status("open-second", lambda: open_pipe(other, otid, pipe), "STATUS_PIPE_NOT_AVAILABLE")
    # impacket sends Timeout = timeout*100000 (100 ns units): 1 -> 10 ms.
    expect_status("wait-busy", lambda: other.waitNamedPipe(otid, pipe, timeout=1), "STATUS_IO_TIMEOUT")
    expect_status("wait-unknown", lambda: other.waitNamedPipe(otid, "nosuchpipe", timeout=1),
                  "STATUS_OBJECT_NAME_NOT_FOUND")
    closer = threading.Timer(0.3, lambda: conn.closeFile(tid, fid))
    closer.start()
    t0 = time.time()
    other.waitNamedPipe(otid, pipe, timeout=300)  # 3 s
    waited = time.time() - t0
    closer.join()
    print("OK wait-freed %s" % ("early" if waited < 0.2 else "in-time"))
    ofid = open_pipe(other, otid, pipe)
    print("OK open-after-wait")
    other.closeFile(otid, ofid)
    other.logoff()


def rw(conn, tid, pipe, data):
    fid = open_pipe(conn, tid, pipe)
    conn.writeFile(tid, fid, data)
    print("OK rw %s" % conn.readFile(tid, fid, 0, 4096).decode())
    conn.closeFile(tid, fid)


def readall(conn, tid, pipe, data):
    fid = open_pipe(conn, tid, pipe)
    if data:
        conn.writeFile(tid, fid, data)
    got = b""
    try:
        while True:
            got += conn.readFile(tid, fid, 0, 4096)
    except SessionError as e:
        for line in got.decode().splitlines():
            print("OK data %s" % line)
        print("OK end %s" % status_name(e))
    conn.closeFile(tid, fid)


def steps(st):
    port, user, password, mode, pipe = sys.argv[1:6]
    data = sys.argv[6].encode() if len(sys.argv) > 6 else b""
    conn, tid = connect(port, user, password)
    print("OK connect")
    st.step = mode
    if mode == "overflow":
        overflow(conn, tid, pipe)
    elif mode == "peek":
        peek(conn, tid, pipe)
    elif mode == "wait":
        wait(port, user, password, conn, tid, pipe)
    elif mode == "rw":
        rw(conn, tid, pipe, data)
    elif mode == "readall":
        readall(conn, tid, pipe, data)
    else:
        print("FAIL mode unknown %s" % mode)
        return
    conn.logoff()
    print("OK done")


if __name__ == "__main__":
    run(steps)
