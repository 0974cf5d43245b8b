#!/usr/bin/env python3
"""Captures golden replies from a real redis-server for the bitmap and HyperLogLog tests.

Usage: capture_redis_replies.py PORT
Talks RESP to a redis-server 7.0.x on 127.0.0.1:PORT (a private, throw-away instance: the
script deletes the keys it uses) and writes bitmap_replies.txt and hll_replies.txt beside
itself. Each file is a list of commands and the exact reply bytes Redis gave:
    > <arg> <arg> ...      (an argument is "=text" when printable, else hex)
    < <hex reply>
The generated commands are pseudo-random with a fixed seed, so a rerun gives the same files.
"""
import os
import random
import socket
import sys


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Connection:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill(len(self.buf) + 1)
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[: i + 2], self.buf[i + 2 :]
        return line

    def reply(self):
        line = self._line()
        kind = line[:1]
        if kind in b"+-:":
            return line
        n = int(line[1:-2])
        if kind == b"$":
            if n < 0:
                return line
            self._fill(n + 2)
            data, self.buf = self.buf[: n + 2], self.buf[n + 2 :]
            return line + data
        if kind == b"*":
            return line + b"".join(self.reply() for _ in range(max(n, 0)))
        raise ValueError(line)


def b(x):
    return x if isinstance(x, bytes) else str(x).encode()


class Recorder:
    def __init__(self, conn, path):
        self.conn = conn
        self.out = open(path, "w")

    def comment(self, text):
        self.out.write("# %s\n" % text)

    def run(self, *args):
        args = [b(a) for a in args]
        self.conn.sock.sendall(encode(args))
        reply = self.conn.reply()
        self.out.write("> %s\n< %s\n" % (" ".join(map(encode_arg, args)), reply.hex()))
        return reply


def encode_arg(arg):
    """Printable arguments as "=text", the others in hex."""
    if arg and all(0x21 <= c <= 0x7E for c in arg):
        return "=" + arg.decode()
    return arg.hex()


def random_bytes(rng, n):
    pick = lambda: rng.choice([0x00, 0xFF, rng.randrange(256), rng.randrange(256)])
    return bytes(pick() for _ in range(n))


def capture_bitmaps(r, rng):
    r.run("DEL", "k", "k2", "k3", "d")
    r.comment("BITCOUNT and BITPOS over random strings and ranges")
    for _ in range(120):
        value = random_bytes(rng, rng.randrange(0, 12))
        r.run("SET", "k", value)
        for _ in range(3):
            s, e = rng.randrange(-100, 100), rng.randrange(-100, 100)
            unit = rng.choice([[], ["BYTE"], ["BIT"], ["bit"]])
            r.run("BITCOUNT", "k", s, e, *unit)
        r.run("BITCOUNT", "k")
        for _ in range(4):
            bit = rng.randrange(2)
            form = rng.randrange(4)
            s, e = rng.randrange(-100, 100), rng.randrange(-100, 100)
            if form == 0:
                r.run("BITPOS", "k", bit)
            elif form == 1:
                r.run("BITPOS", "k", bit, s)
            elif form == 2:
                r.run("BITPOS", "k", bit, s, e)
            else:
                r.run("BITPOS", "k", bit, s, e, rng.choice(["BYTE", "BIT"]))
        for _ in range(2):
            r.run("GETBIT", "k", rng.randrange(0, 110))

    r.comment("SETBIT sequences")
    r.run("DEL", "k")
    for _ in range(200):
        r.run("SETBIT", "k", rng.randrange(0, 300), rng.randrange(2))
    r.run("GET", "k")
    r.run("STRLEN", "k")

    r.comment("BITOP over strings of different lengths and missing keys")
    for _ in range(60):
        r.run("DEL", "d")
        for key in ("k", "k2", "k3"):
            if rng.randrange(4) == 0:
                r.run("DEL", key)
            else:
                r.run("SET", key, random_bytes(rng, rng.randrange(1, 10)))
        op = rng.choice(["AND", "OR", "XOR", "NOT", "and"])
        if op == "NOT":
            srcs = [rng.choice(["k", "k2", "k3", "nokey"])]
        else:
            srcs = rng.sample(["k", "k2", "k3", "nokey", "d"], rng.randrange(1, 5))
        r.run("BITOP", op, "d", *srcs)
        r.run("GET", "d")

    r.comment("BITFIELD with random types, offsets and overflow modes")
    for _ in range(150):
        r.run("DEL", "k")
        if rng.randrange(2):
            r.run("SET", "k", random_bytes(rng, rng.randrange(1, 12)))
        args = []
        for _ in range(rng.randrange(1, 5)):
            signed = rng.randrange(2)
            bits = rng.randrange(1, 65 if signed else 64)
            if rng.randrange(3) == 0:
                bits = rng.choice([1, 8, 63, 64] if signed else [1, 8, 62, 63])
            ftype = ("i" if signed else "u") + str(bits)
            offset = str(rng.randrange(0, 100))
            if rng.randrange(4) == 0:
                offset = "#" + str(rng.randrange(0, 6))
            if rng.randrange(3) == 0:
                args += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"])]
            limit = 1 << bits
            value = rng.choice([
                rng.randrange(-limit, limit), limit // 2, limit // 2 - 1, -(limit // 2),
                -(limit // 2) - 1, limit, limit - 1, 0, -1,
                rng.randrange(-(1 << 63), 1 << 63), (1 << 63) - 1, -(1 << 63)])
            value = max(-(1 << 63), min((1 << 63) - 1, value))
            sub = rng.choice(["GET", "SET", "INCRBY", "INCRBY"])
            if sub == "GET":
                args += ["GET", ftype, offset]
            else:
                args += [sub, ftype, offset, value]
        r.run("BITFIELD", "k", *args)
        r.run("GET", "k")
        r.run("BITFIELD_RO", "k", "GET", "u8", 0, "GET", "i5", 3)
    r.run("DEL", "k", "k2", "k3", "d")


def capture_hll(r, rng):
    keys = ["h0", "h1", "h2", "h3", "hd", "hm"]
    r.run("DEL", *keys)
    r.comment("PFADD sequences: sparse, growing to dense past hll-sparse-max-bytes")
    counter = 0
    for key, total, batch in (("h0", 3, 3), ("h1", 300, 50), ("h2", 1500, 100), ("h3", 6000, 500)):
        added = 0
        while added < total:
            n = min(batch, total - added)
            elems = []
            for _ in range(n):
                # Varied lengths exercise every MurmurHash64A tail size.
                elems.append("el:%d:%s" % (counter, "x" * rng.randrange(0, 9)))
                counter += 1
            r.run("PFADD", key, *elems)
            added += n
            # Dense values are 12304 bytes: read those back less often.
            if key in ("h0", "h1") or added % (5 * batch) == 0 or added == total:
                r.run("GET", key)
        r.run("PFCOUNT", key)
        r.run("GET", key)
        if key != "h3":
            r.run("PFDEBUG", "DECODE", key)
        r.run("PFDEBUG", "ENCODING", key)
    r.comment("repeated elements leave the value unchanged")
    r.run("PFADD", "h1", "el:0:", "el:3:")
    r.comment("overlapping sets: the union's count")
    r.run("PFCOUNT", "h1", "h2")
    r.run("PFCOUNT", "h0", "h1", "h2", "h3", "nokey")
    r.run("PFMERGE", "hm", "h0", "h1")
    r.run("GET", "hm")
    r.run("PFCOUNT", "hm")
    r.run("PFMERGE", "hm", "h2")
    r.run("GET", "hm")
    r.run("PFMERGE", "hd", "h1", "h3")
    r.run("GET", "hd")
    r.run("PFCOUNT", "hd")
    r.run("GET", "hd")
    r.comment("TODENSE keeps the registers")
    r.run("PFDEBUG", "TODENSE", "h1")
    r.run("GET", "h1")
    r.run("PFCOUNT", "h1")
    r.run("DEL", *keys)


def main():
    port = int(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    conn = Connection(port)
    capture_bitmaps(Recorder(conn, os.path.join(here, "bitmap_replies.txt")), random.Random(7))
    capture_hll(Recorder(conn, os.path.join(here, "hll_replies.txt")), random.Random(11))


if __name__ == "__main__":
    main()
