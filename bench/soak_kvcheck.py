"""soak_kvcheck.py — the durability check of `make soak` (bench/soak.sh) on the kv machine.

  soak_kvcheck.py populate PORT N     PUT /kv/probe and /kv/load:0 .. load:N-1, then exit
  soak_kvcheck.py run PORT STATS      the writer and checker, until SIGTERM

`run` writes distinct keys (`PUT /kv/ack:RUN:N`, a value naming the key) one at a time on a
keep-alive connection, and remembers each one answered 204: those are acknowledged, so
durable. It keeps the last 2,000 and DELETEs older ones (remembering the last 200 deleted
with a 204, which must stay deleted). After any connection error (the machine restarted:
SIGTERM or kill -9, then `pluto start`) it reconnects and reads every remembered key back;
SIGUSR1 (sent by bench/soak.sh after each restart) asks for that check too, and SIGTERM
checks once more and exits. A PUT or DELETE in flight when the connection broke is
forgotten: it may or may not have happened.

Every second STATS is replaced by one line of cumulative counts:
  acked N deleted N checks N checked N lost N wrong N back N errors N
lost: an acknowledged key read 404; wrong: read with another value; back: a deleted key
read 200; errors: a status other than the expected ones. Only the standard library.
"""
import collections
import http.client
import os
import signal
import sys
import threading
import time

RETAIN, RETAIN_DELETED, PAUSE_S = 2000, 200, 0.01


class Checker:
    def __init__(self, port, stats):
        self.port, self.stats = port, stats
        self.conn = None
        self.acked = collections.OrderedDict()
        self.deleted = collections.deque(maxlen=RETAIN_DELETED)
        self.n = dict(acked=0, deleted=0, checks=0, checked=0, lost=0, wrong=0, back=0, errors=0)
        self.want_check = False
        self.stop = False
        self.run_id = "%x" % int(time.time() * 1000)
        self.next_stats = 0.0

    def request(self, method, path, body=None):
        """(status, body); raises OSError/HTTPException when the connection broke."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            self.conn.request(method, path, body=body)
            r = self.conn.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            self.want_check = True
            raise

    def log(self, what):
        if self.n["lost"] + self.n["wrong"] + self.n["back"] + self.n["errors"] <= 20:
            print("soak_kvcheck: " + what, file=sys.stderr, flush=True)

    def step(self, i):
        key = "ack:%s:%d" % (self.run_id, i)
        value = ("value of %s " % key).encode() * 3
        status, _ = self.request("PUT", "/kv/" + key, value)
        if status != 204:
            self.n["errors"] += 1
            self.log("PUT %s: %d" % (key, status))
            return
        self.acked[key] = value
        self.n["acked"] += 1
        if len(self.acked) > RETAIN:
            old, _ = self.acked.popitem(last=False)
            status, _ = self.request("DELETE", "/kv/" + old)
            if status == 204:
                self.deleted.append(old)
                self.n["deleted"] += 1
            else:
                self.n["errors"] += 1
                self.log("DELETE %s: %d" % (old, status))

    def check(self):
        """Reads every remembered key back; False when the connection broke meanwhile."""
        try:
            for key, value in self.acked.items():
                status, body = self.request("GET", "/kv/" + key)
                if status == 404:
                    self.n["lost"] += 1
                    self.log("lost %s" % key)
                elif status != 200 or body != value:
                    self.n["wrong"] += 1
                    self.log("wrong %s: %d %r" % (key, status, body[:40]))
                self.n["checked"] += 1
            for key in self.deleted:
                status, _ = self.request("GET", "/kv/" + key)
                if status != 404:
                    self.n["back"] += 1
                    self.log("deleted %s came back: %d" % (key, status))
        except (OSError, http.client.HTTPException):
            return False
        self.n["checks"] += 1
        self.want_check = False
        return True

    def write_stats(self, force=False):
        now = time.monotonic()
        if not force and now < self.next_stats:
            return
        self.next_stats = now + 1.0
        tmp = self.stats + ".tmp"
        with open(tmp, "w") as f:
            f.write(" ".join("%s %d" % kv for kv in self.n.items()) + "\n")
        os.replace(tmp, self.stats)

    def run(self):
        i = 0
        while not self.stop:
            self.write_stats()
            try:
                if self.want_check:
                    if not self.check():
                        time.sleep(0.1)  # still down: try again
                    continue
                i += 1
                self.step(i)
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
                continue
            time.sleep(PAUSE_S)
        # The last check: up to 30 s for the machine to answer.
        deadline = time.monotonic() + 30
        while not self.check() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.write_stats(force=True)


def populate(port, count):
    """PUTs /kv/probe and load:0 .. load:COUNT-1 from 8 connections (each PUT waits for its
    fsync; the machine makes one for all the PUTs of a loop turn)."""
    paths = ["/kv/probe"] + ["/kv/load:%d" % i for i in range(count)]
    failed = []

    def put_all(part):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for path in part:
            try:
                conn.request("PUT", path, body=b"v" * 100)
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException) as e:
                failed.append("PUT %s: %s" % (path, e))
                return
            if r.status != 204:
                failed.append("PUT %s: %d" % (path, r.status))
                return
        conn.close()

    threads = [threading.Thread(target=put_all, args=(paths[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        sys.exit("soak_kvcheck: " + failed[0])


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "populate":
        populate(int(sys.argv[2]), int(sys.argv[3]))
        return
    if len(sys.argv) != 4 or sys.argv[1] != "run":
        sys.exit(__doc__)
    c = Checker(int(sys.argv[2]), sys.argv[3])

    def on_term(signum, frame):
        c.stop = True

    def on_usr1(signum, frame):
        c.want_check = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGUSR1, on_usr1)
    c.run()


if __name__ == "__main__":
    main()
