"""What the impacket scripts here share: NTSTATUS names, opening a pipe,
the echo checks and the step protocol.

A script prints one line per step, "OK <step> [detail]" or
"FAIL <step> <NTSTATUS name or reason>", and stops at the first failure;
run() prints the failure line for whatever the script raises.
"""
from impacket import smb3, smb3structs
from impacket.smbconnection import SessionError
from impacket.nt_errors import ERROR_MESSAGES


# The DIALECT argument of the scripts: default lets impacket negotiate
# (SMB1 NEGOTIATE first), the others ask for one SMB2 dialect.
DIALECTS = {
    "default": None,
    "2.0.2": smb3structs.SMB2_DIALECT_002,
    "2.1": smb3structs.SMB2_DIALECT_21,
    "3.0": smb3structs.SMB2_DIALECT_30,
}


class Failed(Exception):
    """A step failed and has printed its FAIL line."""


class Steps:
    """The step a script is on (named in its FAIL line)."""

    def __init__(self):
        self.step = "connect"


def status_name(e):
    """Names the NTSTATUS of an smbconnection or (lower-level) smb3 error."""
    code = (e.get_error_code() if isinstance(e, smb3.SessionError) else e.getErrorCode()) & 0xFFFFFFFF
    return ERROR_MESSAGES.get(code, ("0x%08X" % code,))[0]


def open_pipe(conn, tid, pipe):
    """Opens PIPE for read and write (FILE_NON_DIRECTORY_FILE)."""
    return conn.openFile(tid, pipe, desiredAccess=0x3, shareMode=0x1,
                         creationOption=0x40, fileAttributes=0x80)


def open_ipc_pipe(st, conn, pipe):
    """Steps "tree" and "open": connects IPC$ and opens PIPE there;
    returns the tree id and the file id."""
    st.step = "tree"
    tid = conn.connectTree("IPC$")
    print("OK tree")
    st.step = "open"
    fid = open_pipe(conn, tid, pipe)
    print("OK open")
    return tid, fid


def close_logoff(st, conn, tid, fid, disconnect=False):
    """Steps "close", "tree-disconnect" (when disconnect) and "logoff"."""
    st.step = "close"
    conn.closeFile(tid, fid)
    print("OK close")
    if disconnect:
        st.step = "tree-disconnect"
        conn.disconnectTree(tid)
        print("OK tree-disconnect")
    st.step = "logoff"
    conn.logoff()
    print("OK logoff")


def expect_echo(step, got, want, by_length=False):
    """Fails step unless got is want (naming what came back, or its length)."""
    if got != want:
        print("FAIL %s got %d bytes" % (step, len(got)) if by_length else "FAIL %s got %r" % (step, got))
        raise Failed()


def write_read(conn, tid, fid, msg):
    """WRITEs msg to the echo pipe and READs it back."""
    conn.writeFile(tid, fid, msg)
    expect_echo("write-read", conn.readFile(tid, fid, 0, 4096), msg)


def transact_echo(conn, tid, fid, msg):
    """Sends msg to the echo pipe in one FSCTL_PIPE_TRANSCEIVE; fails
    "transact" unless msg comes back."""
    expect_echo("transact", conn.transactNamedPipe(tid, fid, msg), msg)


def large_echo(conn, tid, fid, msg):
    """WRITEs msg, a large one, to the echo pipe and READs until as many
    bytes came back (or a READ returns none); fails "large" unless they
    are msg."""
    conn.writeFile(tid, fid, msg)
    got = b""
    while len(got) < len(msg):
        chunk = conn.readFile(tid, fid, 0, len(msg) - len(got))
        if not chunk:
            break
        got += chunk
    expect_echo("large", got, msg, by_length=True)


def run(body):
    """Runs body(steps), printing the FAIL line of an error it raises."""
    st = Steps()
    try:
        body(st)
    except Failed:
        pass
    except SessionError as e:
        print("FAIL %s %s" % (st.step, status_name(e)))
    except Exception as e:  # connection errors and protocol surprises
        print("FAIL %s %s: %s" % (st.step, type(e).__name__, e))
