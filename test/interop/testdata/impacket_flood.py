"""Sends WRITEs that do not fit a pipe's quota, without waiting for them.

usage: impacket_flood.py PORT USER PASSWORD PIPE COUNT SIZE

Logs on, opens PIPE and sends COUNT WRITEs of SIZE bytes one after the
other, reading only the first response to each (STATUS_PENDING for a
WRITE the server keeps waiting, or its final status). Prints one line a
WRITE, "write N STATUS_NAME", then "ready", and keeps the connection and
the pending WRITEs open until standard input closes.
"""
import sys

from impacket.smbconnection import SMBConnection
from impacket.smb3structs import SMB2_WRITE, SMB2Write, SMB2Packet
from impacket.nt_errors import ERROR_MESSAGES


def status_name(code):
    code &= 0xFFFFFFFF
    return ERROR_MESSAGES.get(code, ("0x%08X" % code,))[0]


def main():
    port, user, password, pipe = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    count, size = int(sys.argv[5]), int(sys.argv[6])
    conn = SMBConnection("SMBPIPE", "127.0.0.1", sess_port=port, timeout=30)
    # impacket encrypts an SMB 3.0 session whenever the server offers
    # encryption; this script reads raw response frames, so it declines
    # (what it measures does not depend on encryption).
    conn.getSMBServer()._Connection["SupportsEncryption"] = False
    conn.login(user, password, "WORKGROUP")
    tid = conn.connectTree("IPC$")
    fid = conn.openFile(tid, pipe, desiredAccess=0x12019F, shareMode=0x3,
                        creationOption=0x40, fileAttributes=0x80)
    smb = conn.getSMBServer()
    data = b"x" * size
    for i in range(count):
        packet = smb.SMB_PACKET()
        packet["Command"] = SMB2_WRITE
        packet["TreeID"] = tid
        packet["CreditCharge"] = 1 + (size - 1) // 65536
        w = SMB2Write()
        w["FileID"] = fid
        w["Length"] = size
        w["Offset"] = 0
        w["WriteChannelInfoOffset"] = 0
        w["Buffer"] = data
        packet["Data"] = w
        smb.sendSMB(packet)
        resp = SMB2Packet(smb._NetBIOSSession.recv_packet(30).get_trailer())
        # impacket advances its MessageIds by the charge on a final response.
        smb._Connection["SequenceWindow"] += packet["CreditCharge"] - 1
        print("write %d %s" % (i, status_name(resp["Status"])), flush=True)
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
