#!/usr/bin/python3
"""ws_server.py: a loopback WebSocket server (python3-websockets) that
misbehaves on purpose, for driftdeck's integration tests.

usage: ws_server.py MODE PORTFILE [--tls CERT KEY] [--count N] [--cut K]

Binds 127.0.0.1 on a free port and writes the port to PORTFILE. Modes:
  stream      send N events {"id":"e-i","x":{"a":i},"y":i%2}, then close
  reconnect   first connection: send events 0..K-1 and drop the TCP
              connection without a close frame; second connection: send
              events K..N-1 and stay open; later ones: stay open, send nothing
  fragments   send one event in 4 fragments (ending with an empty final
              frame), one fragmented array, then close
  oversize    send a 2 MiB text message, then one valid event, then close
  binary      send binary garbage, invalid UTF-8 text, then one valid event
  closeat     complete the handshake and close at once, every time
  silent      accept TCP connections and never answer (no handshake)
  stall       handshake, then stop reading (no pongs) and never send
  quiet       say nothing for 3 s (answering pings), then send one event
              and close: a healthy quiet peer must not be dropped
  subproto    accept only the subprotocol "dd.v1"; send one event naming
              the subprotocol chosen, then close
  sink        send N events slowly, print every text message received back
              to stdout (predictions over the same connection)
Each connection is logged to stderr as "conn N".
"""
import asyncio
import os
import socket
import ssl
import sys

import websockets


def event(i):
    return '{"id":"e-%d","x":{"a":%d,"b":%g},"y":%d}' % (i, i, i * 0.5, i % 2)


class Server:
    def __init__(self, mode, count, cut):
        self.mode, self.count, self.cut = mode, count, cut
        self.conns = 0

    async def handler(self, ws, path=None):
        self.conns += 1
        n = self.conns
        print("conn %d" % n, file=sys.stderr, flush=True)
        await getattr(self, "mode_" + self.mode)(ws, n)

    async def mode_stream(self, ws, n):
        for i in range(self.count):
            await ws.send(event(i))
        await ws.close()

    async def mode_reconnect(self, ws, n):
        if n == 1:
            for i in range(self.cut):
                await ws.send(event(i))
            await asyncio.sleep(0.2)  # let the events leave before the cut
            ws.transport.abort()  # no close frame: a dropped connection
            return
        if n == 2:
            for i in range(self.cut, self.count):
                await ws.send(event(i))
        await asyncio.sleep(3600)

    async def mode_fragments(self, ws, n):
        await ws.send(['{"id":"f-1",', '"x":{"a":', "1.5}", "}"])
        await ws.send(['[{"id":"f-2","x":{"a":2}},', '{"id":"f-3","x":{"a":3}}]'])
        await ws.close()

    async def mode_oversize(self, ws, n):
        await ws.send('{"x":{"pad":"' + "p" * (2 << 20) + '"}}')
        await ws.send(event(7))
        await ws.close()

    async def mode_binary(self, ws, n):
        await ws.send(bytes([0, 255, 254, 1, 2, 3, 0x7B, 0x7D]))
        # a text frame that is not UTF-8: websockets refuses to send one, so
        # write the frame by hand (FIN + text opcode, unmasked, short length)
        bad = b'{"x":{"caf\xe9":1}}'
        ws.transport.write(bytes([0x81, len(bad)]) + bad)
        await ws.send(event(9))
        await ws.close()

    async def mode_closeat(self, ws, n):
        await ws.close(code=1011, reason="closing at once")

    async def mode_stall(self, ws, n):
        ws.transport.pause_reading()
        await asyncio.sleep(3600)

    async def mode_quiet(self, ws, n):
        await asyncio.sleep(3)
        await ws.send(event(1))
        await ws.close()

    async def mode_subproto(self, ws, n):
        await ws.send('{"x":{"proto":"%s"}}' % ws.subprotocol)
        await ws.close()

    async def mode_sink(self, ws, n):
        async def reader():
            async for msg in ws:
                print(msg, flush=True)
        task = asyncio.ensure_future(reader())
        for i in range(self.count):
            await ws.send(event(i))
            await asyncio.sleep(0.01)
        await asyncio.sleep(3600)
        task.cancel()


def write_port(portfile, port):
    with open(portfile + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(portfile + ".tmp", portfile)


async def silent(portfile):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    write_port(portfile, sock.getsockname()[1])
    held = []
    loop = asyncio.get_event_loop()
    while True:
        conn, _ = await loop.sock_accept(sock)
        print("conn %d" % (len(held) + 1), file=sys.stderr, flush=True)
        held.append(conn)  # never answered, never closed


async def main(argv):
    mode, portfile = argv[1], argv[2]
    count, cut, sslctx = 10, 5, None
    i = 3
    while i < len(argv):
        if argv[i] == "--tls":
            sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            sslctx.load_cert_chain(argv[i + 1], argv[i + 2])
            i += 3
        elif argv[i] == "--count":
            count, i = int(argv[i + 1]), i + 2
        elif argv[i] == "--cut":
            cut, i = int(argv[i + 1]), i + 2
        else:
            sys.exit("unknown argument " + argv[i])
    if mode == "silent":
        await silent(portfile)
        return
    srv = Server(mode, count, cut)
    extra = {"subprotocols": ["dd.v1"]} if mode == "subproto" else {}
    server = await websockets.serve(srv.handler, "127.0.0.1", 0, ssl=sslctx,
                                    max_size=None, **extra)
    write_port(portfile, server.sockets[0].getsockname()[1])
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
