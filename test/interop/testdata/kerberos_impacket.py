"""Logs on to smbpipe with impacket's Kerberos client from a credential cache.

usage: kerberos_impacket.py PORT TARGET USER REALM PIPE [DIALECT]
  KRB5CCNAME names the cache (kinit and kvno filled it, or ticketer.py
  wrote it): impacket 0.10 cannot parse MIT's KDC replies itself, so it
  takes the cifs/TARGET ticket from the cache and never dials the KDC.
  DIALECT: default, 2.0.2, 2.1 or 3.0.

Prints one line per step, "OK <step>" or "FAIL <step> <NTSTATUS name>",
and stops at the first failure. Exit status 0 unless a Python error.
"""
import sys

from impacket.smbconnection import SMBConnection

sys.dont_write_bytecode = True  # no __pycache__ next to impacket_steps.py in the source tree
from impacket_steps import DIALECTS, close_logoff, open_ipc_pipe, run, transact_echo, write_read


def steps(st):
    port, target, user, realm, pipe = sys.argv[1:6]
    dialect = sys.argv[6] if len(sys.argv) > 6 else "default"
    conn = SMBConnection(target, "127.0.0.1", sess_port=int(port),
                         preferredDialect=DIALECTS[dialect], timeout=20)
    print("OK connect dialect=0x%04x" % conn.getDialect())
    st.step = "login"
    conn.kerberosLogin(user, "", realm, useCache=True)
    print("OK login")
    tid, fid = open_ipc_pipe(st, conn, pipe)
    st.step = "write-read"
    write_read(conn, tid, fid, b"hello over kerberos")
    print("OK write-read")
    st.step = "transact"
    transact_echo(conn, tid, fid, b"transceive over kerberos")
    print("OK transact")
    close_logoff(st, conn, tid, fid)


if __name__ == "__main__":
    run(steps)
