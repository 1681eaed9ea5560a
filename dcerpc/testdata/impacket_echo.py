# impacket's DCE/RPC client (ncacn_ip_tcp) against the Go engine: bind
# rpcecho at an auth level, call it, check the answers. Used by
# TestImpacket; prints OK on success.
import struct
import sys

from impacket.dcerpc.v5 import transport, rpcrt, epm
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import uuidtup_to_bin

port, level = int(sys.argv[1]), sys.argv[2]
levels = {
    "connect": rpcrt.RPC_C_AUTHN_LEVEL_CONNECT,
    "integrity": rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    "privacy": rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
}
ECHO = uuidtup_to_bin(("60a15ec5-4de8-11d7-a637-005056a20182", "1.0"))
MGMT = uuidtup_to_bin(("afa8bd80-7d8a-11c9-bef4-08002b102989", "1.0"))

t = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%d]" % port)
if level != "none":
    password = sys.argv[3] if len(sys.argv) > 3 else "Secret#1"
    t.set_credentials("alice", password, "", "", "")
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

# EchoData: fragmented by impacket (max_xmit 4280) and in the answer.
data = bytes(range(256)) * 40
r = call(1, struct.pack("<II", len(data), len(data)) + data)
assert r == struct.pack("<I", len(data)) + data, len(r)

# SourceData
r = call(3, struct.pack("<I", 9000))
assert r == struct.pack("<I", 9000) + bytes(i & 0xFF for i in range(9000)), len(r)

# TestCall: [ref] string in, unique pointer to a string out.
s = "hello"
u = (s + "\0").encode("utf-16le")
n = len(s) + 1
r = call(4, struct.pack("<III", n, 0, n) + u)
assert r[4:16] == struct.pack("<III", n, 0, n) and r[16 : 16 + 2 * n] == u, r.hex()

# TestCall2 level 5: union arm {uint8; hyper} aligned to 8, NTSTATUS.
r = call(5, struct.pack("<H", 5))
assert r == struct.pack("<H", 5) + b"\0" * 6 + b"\x32" + b"\0" * 7 + struct.pack("<QI", 60, 0), r.hex()

# Unknown opnum
try:
    call(42, b"")
    raise SystemExit("opnum 42 answered")
except DCERPCException as e:
    assert "nca_s_op_rng_error" in str(e), e

# The mgmt interface on the same association. impacket's alter_ctx runs a
# second authentication with another auth_context_id (security context
# multiplexing), which the engine does not support: only without auth.
if level == "none":
    dce2 = dce.alter_ctx(MGMT)
    dce2.call(2, b"")
    r = dce2.recv()
    assert r == struct.pack("<II", 0, 1), r.hex()
print("OK")
