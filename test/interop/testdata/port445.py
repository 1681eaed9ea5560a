# Runs an impacket example script whose port is fixed to 139/445 against
# another port: usage: port445.py PORT SCRIPT ARGS... Connections to port
# 445 go to PORT instead (a socket.connect wrapper, in this process only).
import runpy
import socket
import sys

port = int(sys.argv[1])
script = sys.argv[2]
_connect = socket.socket.connect


def connect(self, address):
    if isinstance(address, tuple) and len(address) >= 2 and address[1] == 445:
        address = (address[0], port) + tuple(address[2:])
    return _connect(self, address)


socket.socket.connect = connect
sys.argv = [script] + sys.argv[3:]
runpy.run_path(script, run_name="__main__")
