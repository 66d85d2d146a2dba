#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Small daemons of the local lab, each bound before it detaches.

  labd.py console --listen 127.0.0.1:PORT --socket PATH --pidfile F --log F
      A virtual board's serial console, as a lab's ser2net gives it: LAVA's
      `telnet 127.0.0.1 PORT` is the client side; QEMU connects to the unix
      socket PATH (-chardev socket,server=off). The bridge outlives QEMU, so
      the console listens while the "board" is off (LAVA connects first).
      When QEMU goes away by itself (poweroff, -no-reboot after a panic) the
      telnet client is disconnected too, as the local qemu device sees EOF;
      after a deliberate power-off (`vboard stop` leaves PATH.stopping) the
      client stays connected. Data with no one on the other end is dropped.
      The board's output is also appended to --console-log.
  labd.py http --listen 127.0.0.1:PORT --root DIR --pidfile F --log F
      The artifact server: GET and HEAD of files under DIR.

The listening sockets exist before the parent returns (the child inherits
them), so a caller may connect as soon as the command has exited: no waiting.
"""
import argparse
import functools
import http.server
import os
import selectors
import socket
import sys

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3


def host_port(text):
    """'127.0.0.1:PORT' -> (host, port); only loopback addresses are accepted."""
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text}: expected 127.0.0.1:PORT (loopback only)")
    return "127.0.0.1", int(port)


class Telnet:
    """Strips telnet commands from a client's bytes (and NUL after CR)."""

    def __init__(self):
        self.state = 0
        self.cr = False

    def feed(self, data):
        out = bytearray()
        for b in data:
            if self.state == 0:
                if b == IAC:
                    self.state = 1
                elif b == 0 and self.cr:
                    self.cr = False
                else:
                    self.cr = b == 13
                    out.append(b)
            elif self.state == 1:            # after IAC
                if b == IAC:
                    out.append(b)
                    self.state = 0
                elif b in (DO, DONT, WILL, WONT):
                    self.state = 2
                elif b == SB:
                    self.state = 3
                else:
                    self.state = 0
            elif self.state == 2:            # option byte
                self.state = 0
            elif self.state == 3:            # subnegotiation until IAC SE
                self.state = 4 if b == IAC else 3
            else:
                self.state = 0 if b == SE else 3
        return bytes(out)


class Console:
    """One board's bridge: at most one telnet client and one QEMU."""

    def __init__(self, tcp, unix, sock_path, log):
        self.sel = selectors.DefaultSelector()
        self.sock_path = sock_path
        self.log = log
        self.client = self.board = None
        self.telnet = None
        self.sel.register(tcp, selectors.EVENT_READ, self.accept_client)
        self.sel.register(unix, selectors.EVENT_READ, self.accept_board)

    def _drop(self, conn):
        if conn is None:
            return
        self.sel.unregister(conn)
        conn.close()

    def say(self, text):
        print(text, flush=True)

    def accept_client(self, listener):
        conn, _ = listener.accept()
        if self.client:
            self.say("console: new client replaces the old one")
            self._drop(self.client)
        self.client = conn
        self.telnet = Telnet()
        # character mode, remote echo: what ser2net's telnet mode offers
        conn.sendall(bytes([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, SGA]))
        self.sel.register(conn, selectors.EVENT_READ, self.from_client)

    def accept_board(self, listener):
        conn, _ = listener.accept()
        if self.board:              # a new power-on before the old EOF was read
            self._drop(self.board)
            self._consume_marker()
        self.board = conn
        self.say("console: board connected")
        self.sel.register(conn, selectors.EVENT_READ, self.from_board)

    def from_client(self, conn):
        data = self._recv(conn)
        if not data:
            self._drop(conn)
            self.client = None
            return
        data = self.telnet.feed(data)
        if data and self.board:
            self._send(self.board, data)

    def from_board(self, conn):
        data = self._recv(conn)
        if not data:
            self._drop(conn)
            self.board = None
            if self._consume_marker():
                self.say("console: board powered off")
            else:
                self.say("console: board gone by itself: client disconnected")
                self._drop(self.client)
                self.client = None
            return
        if self.log:
            self.log.write(data)
            self.log.flush()
        if self.client:
            self._send(self.client, data.replace(b"\xff", b"\xff\xff"))

    def _consume_marker(self):
        """True if `vboard stop` announced this disconnect (marker removed)."""
        try:
            os.unlink(self.sock_path + ".stopping")
            return True
        except FileNotFoundError:
            return False

    def _recv(self, conn):
        try:
            return conn.recv(65536)
        except OSError:
            return b""

    def _send(self, conn, data):
        try:
            conn.sendall(data)
        except OSError:
            pass        # the reader side notices the broken connection

    def run(self):
        while True:
            for key, _ in self.sel.select():
                # skip events of connections closed earlier in this round
                live = self.sel.get_map().get(key.fd)
                if live is not None and live.fileobj is key.fileobj:
                    key.data(key.fileobj)


def _tcp_listener(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr)
    s.listen(4)
    return s


def _unix_listener(path):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)
    try:
        s.bind(path)
    finally:
        os.umask(old)
    s.listen(2)
    return s


def _detach(pidfile, logfile):
    """Fork; the parent writes the child's pid and exits 0; the child goes on."""
    sys.stdout.flush()
    pid = os.fork()
    if pid:
        tmp = pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{pid}\n")
        os.replace(tmp, pidfile)
        os._exit(0)
    os.setsid()
    fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("http: %s %s\n" % (self.address_string(), fmt % args))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="labd.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("console")
    c.add_argument("--socket", required=True)
    c.add_argument("--console-log")
    h = sub.add_parser("http")
    h.add_argument("--root", required=True)
    for p in (c, h):
        p.add_argument("--listen", required=True, type=host_port)
        p.add_argument("--pidfile", required=True)
        p.add_argument("--log", required=True)
    args = ap.parse_args(argv)
    try:
        tcp = _tcp_listener(args.listen)
        if args.cmd == "console":
            unix = _unix_listener(args.socket)
        elif not os.path.isdir(args.root):
            raise OSError(f"{args.root}: not a directory")
    except OSError as e:
        print(f"labd: {args.cmd} on {args.listen[0]}:{args.listen[1]}: {e}", file=sys.stderr)
        return 1
    _detach(args.pidfile, args.log)
    if args.cmd == "console":
        log = open(args.console_log, "ab") if args.console_log else None
        Console(tcp, unix, args.socket, log).run()
    handler = functools.partial(_Handler, directory=args.root)
    server = http.server.ThreadingHTTPServer(args.listen, handler, bind_and_activate=False)
    server.socket.close()
    server.socket = tcp
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
