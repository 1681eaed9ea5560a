"""impacket's DCE/RPC client over SMB (ncacn_np) against smbpipe's rpcecho
pipe: bind at an RPC auth level, EchoData and SourceData with 1 MiB
payloads (fragmented both ways), AddOne, an unknown opnum.

usage: impacket_rpcecho.py PORT LEVEL [USER PASSWORD]
  LEVEL: none, integrity or privacy. USER "" (or absent) opens the pipe on
  a null session; integrity and privacy authenticate at the RPC level with
  the same credentials.

Prints "OK" on success, "BIND <error>" or "CALL <error>" when the server
refuses; any other failure is a Python error (non-zero exit).
"""
import struct
import sys

from impacket.dcerpc.v5 import transport, rpcrt
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import uuidtup_to_bin

port, level = int(sys.argv[1]), sys.argv[2]
user = sys.argv[3] if len(sys.argv) > 3 else ""
password = sys.argv[4] if len(sys.argv) > 4 else ""
levels = {
    "integrity": rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    "privacy": rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
}
ECHO = uuidtup_to_bin(("60a15ec5-4de8-11d7-a637-005056a20182", "1.0"))
MiB = 1 << 20

t = transport.DCERPCTransportFactory(r"ncacn_np:127.0.0.1[\pipe\rpcecho]")
t.set_dport(port)
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

# EchoData, 1 MiB: hundreds of request fragments, as many in the answer.
data = bytes(range(251)) * (MiB // 251) + bytes(MiB % 251)
assert len(data) == MiB
r = call(1, struct.pack("<II", MiB, MiB) + data)
assert r == struct.pack("<I", MiB) + data, len(r)

# SourceData, 1 MiB: data[i] = i & 0xff.
r = call(3, struct.pack("<I", MiB))
assert r == struct.pack("<I", MiB) + bytes(range(256)) * (MiB // 256), len(r)

# An unknown opnum faults without ending the association.
try:
    call(42, b"")
    raise SystemExit("opnum 42 answered")
except DCERPCException as e:
    assert "nca_s_op_rng_error" in str(e), e
r = call(0, struct.pack("<I", 1))
assert struct.unpack("<I", r[:4])[0] == 2, r
dce.disconnect()
print("OK")
