"""impacket's DCE/RPC client against smbpipe's rpcecho: bind at an RPC auth
level, call AddOne, EchoData and SourceData (fragmented both ways),
TestCall and TestCall2, an unknown opnum (a fault that keeps the
association), AddOne again and, without auth, mgmt on the same
association. Used by dcerpc's TestImpacket (the engine over ncacn_ip_tcp)
and interop's TestRPCImpacket (smbpipe serve's \\pipe\\rpcecho over SMB).

usage: impacket_echo.py TRANSPORT LEVEL USER PASSWORD SIZE
  TRANSPORT: tcp:PORT (ncacn_ip_tcp) or np:PORT (ncacn_np, \\pipe\\rpcecho
  on an SMB server's port; USER "" opens it on a null session).
  LEVEL: none, connect, integrity or privacy; the levels above none
  authenticate at the RPC level with NTLM as USER.
  SIZE: bytes of EchoData and SourceData.

Prints "OK" on success, "BIND <error>" or "CALL <error>" when the server
refuses; any other failure is a Python error (non-zero exit).
"""
import struct
import sys

from impacket.dcerpc.v5 import transport, rpcrt
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import uuidtup_to_bin

where, level, user, password, size = sys.argv[1:6]
kind, port = where.split(":")
size = int(size)
levels = {
    "connect": rpcrt.RPC_C_AUTHN_LEVEL_CONNECT,
    "integrity": rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    "privacy": rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
}
ECHO = uuidtup_to_bin(("60a15ec5-4de8-11d7-a637-005056a20182", "1.0"))
MGMT = uuidtup_to_bin(("afa8bd80-7d8a-11c9-bef4-08002b102989", "1.0"))

if kind == "tcp":
    t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%s]" % port)
    t.set_credentials(user, password, "", "", "")
else:
    t = transport.DCERPCTransportFactory(r"ncacn_np:127.0.0.1[\pipe\rpcecho]")
    t.set_dport(int(port))
    t.set_credentials(user, password, "WORKGROUP", "", "")
dce = t.get_dce_rpc()
if level != "none":
    dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
    dce.set_auth_level(levels[level])
dce.connect()
try:
    dce.bind(ECHO)
except DCERPCException as e:
    print("BIND", e)
    sys.exit(0)


def call(op, body):
    dce.call(op, body)
    return dce.recv()


try:
    r = call(0, struct.pack("<I", 41))
except DCERPCException as e:
    print("CALL", e)
    sys.exit(0)
assert struct.unpack("<I", r[:4])[0] == 42, r

# EchoData: many request fragments, as many in the answer.
data = bytes(range(251)) * (size // 251) + bytes(size % 251)
r = call(1, struct.pack("<II", size, size) + data)
assert r == struct.pack("<I", size) + data, len(r)

# SourceData: data[i] = i & 0xff.
r = call(3, struct.pack("<I", size))
assert r == struct.pack("<I", size) + (bytes(range(256)) * (size // 256 + 1))[:size], len(r)

# TestCall: [ref] string in, unique pointer to a string out.
s = "hello"
u = (s + "\0").encode("utf-16le")
n = len(s) + 1
r = call(4, struct.pack("<III", n, 0, n) + u)
assert r[4:16] == struct.pack("<III", n, 0, n) and r[16 : 16 + 2 * n] == u, r.hex()

# TestCall2 level 5: union arm {uint8; hyper} aligned to 8, NTSTATUS.
r = call(5, struct.pack("<H", 5))
assert r == struct.pack("<H", 5) + b"\0" * 6 + b"\x32" + b"\0" * 7 + struct.pack("<QI", 60, 0), r.hex()

# An unknown opnum faults without ending the association.
try:
    call(42, b"")
    raise SystemExit("opnum 42 answered")
except DCERPCException as e:
    assert "nca_s_op_rng_error" in str(e), e
r = call(0, struct.pack("<I", 1))
assert struct.unpack("<I", r[:4])[0] == 2, r

# The mgmt interface on the same association. impacket's alter_ctx runs a
# second authentication with another auth_context_id (security context
# multiplexing), which the engine does not support: only without auth.
if level == "none":
    dce2 = dce.alter_ctx(MGMT)
    dce2.call(2, b"")
    r = dce2.recv()
    assert r == struct.pack("<II", 0, 1), r.hex()
dce.disconnect()
print("OK")
