"""mgbench - mailgate against Postfix as a relay gateway, side by side (run by bench/run).

For each matrix point (N messages, C concurrent clients, S bytes) and each
repetition, it starts, one after the other in the same run:

  * mailgated from the build tree (temp --state-dir and --socket, listener
    127.0.0.1:0, domain bench.test with a wildcard alias and a route to the
    sink, configured with mailgatectl), and
  * a Postfix instance as the equivalent gateway (bench/postfix/*.cf.in:
    own config_directory, queue_directory and data_directory under the temp
    dir, smtpd on a free loopback port, relay_domains + transport_maps to the
    sink, durability as shipped), started and stopped with `postfix -c DIR`;

each with its own smtp-sink next hop, drives it with smtp-source, and measures:

  accepted/s   N / wall time of smtp-source (every message got its 250)
  e2e/s        N / time until the sink has counted all N messages
  CPU ms/msg   utime+stime (+ cutime+cstime of reaped children) of the
               system's whole process tree (mailgated alone; Postfix's master
               and every descendant) from the start of smtp-source until the
               system's queue is empty again, divided by N
  memory       mailgated: VmHWM; Postfix: peak of the sum of PSS of all its
               processes, sampled every 0.5 s (peak sum of RSS and peak
               process count are reported too)

Before each measured run, a warm-up of min(N, 100) messages at the same C goes
through (so Postfix has its processes forked, as in steady state).

  machine CPU  busy time of all CPUs (/proc/stat) over the same interval, / N

Then the extras: (N, 20, 1 KB) with and without a `mailgatectl trace`
subscriber attached; the latency of each SMTP step for one client (both
systems); 5,000 idle connections held open to mailgated (memory per
connection). --profile records mailgated with perf during one run.

Every process this script starts is stopped by its PID when the run ends or
is interrupted (Postfix with `postfix -c DIR stop`, then its leftovers by PID).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "bench.test"
DEAD_DOMAIN = "dead.test"   # routed to a port nobody listens on (the backlog test)
SENDER = "bench@source.test"
RCPT = "user@" + DOMAIN

FULL_MATRIX = [(2000, 1, 1024), (5000, 20, 1024), (5000, 100, 1024), (1000, 20, 102400)]
QUICK_MATRIX = [(300, 1, 1024), (1500, 20, 1024), (1500, 100, 1024), (300, 20, 102400)]
IDLE_CONNECTIONS = 5000

TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=0.01, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


# -- /proc accounting ------------------------------------------------------

def _read_stat(pid):
    """(ppid, cpu ticks incl. reaped children, start time) of @pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime..cstime are fields 14..17; starttime 22
    return int(rest[1]), sum(int(x) for x in rest[11:15]), int(rest[19])


def process_tree(root):
    """PIDs of @root and all its descendants (one scan of /proc)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read_stat(int(name))
        if st is not None:
            children.setdefault(st[0], []).append(int(name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_cpu_ticks(root):
    """CPU of the whole tree: every live process's own time plus what its
    reaped children used (cutime/cstime), so processes that exited during the
    run are counted by their parent (Postfix's master reaps its daemons)."""
    total = 0
    for pid in process_tree(root):
        st = _read_stat(pid)
        if st is not None:
            total += st[1]
    return total


def machine_busy_ticks():
    """Busy CPU time of the whole machine (every CPU, /proc/stat: all but idle
    and iowait): includes the load generator, the sink and kernel threads such
    as the journal's (jbd2) work for fsync, which no process's stat shows."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    return sum(fields[:8]) - fields[3] - fields[4]


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE_KB
    except OSError:
        return 0


class MemorySampler(threading.Thread):
    """Peak of the summed PSS / RSS and process count of a process tree."""

    def __init__(self, root, interval=0.5):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_pss = self.peak_rss = self.peak_procs = 0
        self._halt = threading.Event()

    def sample(self):
        pids = process_tree(self.root)
        self.peak_pss = max(self.peak_pss, sum(pss_kb(p) for p in pids))
        self.peak_rss = max(self.peak_rss, sum(rss_kb(p) for p in pids))
        self.peak_procs = max(self.peak_procs, len(pids))

    def run(self):
        while not self._halt.wait(self.interval):
            self.sample()

    def finish(self):
        self._halt.set()
        self.join()
        self.sample()


# -- processes -------------------------------------------------------------

class Reaper:
    """Every child process and Postfix instance started, stopped by PID."""

    def __init__(self):
        self.procs = []
        self.postfixes = []

    def popen(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
            except ProcessLookupError:
                pass
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for pf in list(self.postfixes):
            pf.stop()
        for p in list(self.procs):
            self.stop(p)


REAPER = Reaper()


class SmtpSink:
    """Postfix's smtp-sink as the next hop; counts messages (its -c output)."""

    def __init__(self, workdir):
        self.port = free_port()
        self.out_path = os.path.join(workdir, "sink-%d.out" % self.port)
        self._out = open(self.out_path, "wb")
        args = ["smtp-sink", "-c", "-h", "sink.invalid"]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += ["127.0.0.1:%d" % self.port, "1024"]
        self.proc = REAPER.popen(args, stdout=self._out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        wait_until(self._listening, 10, what="smtp-sink")

    def _listening(self):
        if self.proc.poll() is not None:
            raise RuntimeError("smtp-sink exited: " + open(self.out_path).read())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def count(self):
        with open(self.out_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 80))
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def stop(self):
        REAPER.stop(self.proc)
        self._out.close()


class Mailgate:
    name = "mailgate"

    def __init__(self, build, workdir, sink_port, settings=()):
        self.build = build
        self.dir = os.path.join(workdir, "mailgate-%d" % sink_port)
        os.makedirs(self.dir)
        self.socket = os.path.join(self.dir, "control")
        env = dict(os.environ, XDG_RUNTIME_DIR=self.dir)
        self._log = open(os.path.join(self.dir, "mailgated.log"), "wb")
        self.proc = REAPER.popen(
            [os.path.join(build, "service", "mailgated"), "--state-dir",
             os.path.join(self.dir, "state"), "--socket", self.socket,
             "--profile", "user", "--no-autostart"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.pid = self.proc.pid
        wait_until(self._answers, 15, interval=0.05, what="mailgated control socket")
        self.ctl("listen", "set", "127.0.0.1:0")
        self.ctl("config", "set", "receiver.hostname", "mailgate-bench.invalid")
        for key, value in settings:
            self.ctl("config", "set", key, str(value))
        self.ctl("domain", "add", DOMAIN, "--shared-box")
        self.ctl("alias", "add", "*@" + DOMAIN, "*@" + DOMAIN)
        self.ctl("route", "add", DOMAIN, "127.0.0.1", str(sink_port))
        self.ctl("start", "all")
        bound = json.loads(self.ctl("--json", "listen", "list").stdout)["bound"]
        self.port = int(bound[0].rsplit(":", 1)[1])

    def ctl(self, *args, check=True):
        r = subprocess.run([os.path.join(self.build, "service", "mailgatectl"),
                            "--socket", self.socket] + list(args),
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError("mailgatectl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError("mailgated exited: see " + self._log.name)
        return os.path.exists(self.socket) and self.ctl("status", check=False).returncode == 0

    def queue_empty(self):
        st = json.loads(self.ctl("--json", "status").stdout)
        return st.get("queue", 0) == 0 and st.get("active", 0) == 0

    def add_dead_route(self):
        self.ctl("domain", "add", DEAD_DOMAIN, "--shared-box")
        self.ctl("alias", "add", "*@" + DEAD_DOMAIN, "*@" + DEAD_DOMAIN)
        self.ctl("route", "add", DEAD_DOMAIN, "127.0.0.1", str(free_port()))

    def n_deferred(self):
        st = json.loads(self.ctl("--json", "status").stdout)
        return st.get("queue", 0) if st.get("active", 0) == 0 else 0

    def settled(self):
        """Nothing in flight; the deferred backlog may wait."""
        return json.loads(self.ctl("--json", "status").stdout).get("active", 0) == 0

    def peak_kb(self, sampler):
        return status_kb(self.pid, "VmHWM")

    def stop(self):
        REAPER.stop(self.proc, timeout=20)
        self._log.close()


class Postfix:
    name = "postfix"

    def __init__(self, workdir, sink_port):
        base = os.path.join(workdir, "postfix-%d" % sink_port)
        self.base = base
        self.etc = os.path.join(base, "etc")
        self.spool = os.path.join(base, "spool")
        for d in (self.etc, self.spool, os.path.join(base, "data")):
            os.makedirs(d)
        shutil.chown(os.path.join(base, "data"), "postfix")
        for d in (workdir, base):
            os.chmod(d, 0o755)  # the postfix user must reach its queue
        self.port = free_port()
        subst = {"@BASE@": base, "@SINK_PORT@": str(sink_port), "@DOMAIN@": DOMAIN,
                 "@SMTPD_ADDR@": "127.0.0.1:%d" % self.port,
                 "@DEAD_DOMAIN@": DEAD_DOMAIN, "@DEAD_PORT@": str(free_port())}
        for name in ("main.cf", "master.cf"):
            with open(os.path.join(HERE, "postfix", name + ".in")) as f:
                text = f.read()
            for k, v in subst.items():
                text = text.replace(k, v)
            with open(os.path.join(self.etc, name), "w") as f:
                f.write(text)
        self.pid = None
        REAPER.postfixes.append(self)
        r = subprocess.run(["postfix", "-c", self.etc, "start"], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError("postfix start failed: %s%s%s" % (r.stdout, r.stderr, self.maillog()))
        pidfile = os.path.join(self.spool, "pid", "master.pid")
        wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), 15,
                   interval=0.05, what="postfix master.pid")
        self.pid = int(open(pidfile).read())
        wait_until(self._listening, 15, interval=0.05, what="postfix smtpd port")

    def maillog(self):
        try:
            with open(os.path.join(self.base, "maillog")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def queue_empty(self):
        return self._files("maildrop", "incoming", "active", "deferred") == 0

    def _files(self, *subs):
        return sum(len(files) for sub in subs
                   for _, _, files in os.walk(os.path.join(self.spool, sub)))

    def n_deferred(self):
        return self._files("deferred")

    def settled(self):
        """Nothing in flight; the deferred backlog may wait."""
        return self._files("maildrop", "incoming", "active") == 0

    def add_dead_route(self):
        pass   # in main.cf from the start

    def peak_kb(self, sampler):
        return sampler.peak_pss

    def stop(self):
        if self not in REAPER.postfixes:
            return
        REAPER.postfixes.remove(self)
        leftovers = [(p, _read_stat(p)) for p in process_tree(self.pid)] if self.pid else []
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while self.pid and _read_stat(self.pid) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid, st in leftovers:  # by PID, only this instance's processes still alive
            now = _read_stat(pid)
            if st is None or now is None or now[2] != st[2]:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# -- one measured run ------------------------------------------------------

def drive(system, sink, n, c, size, timeout, rcpt=RCPT, settled=None):
    """smtp-source N/C/S into @system; returns the measurements.  @settled:
    what "done" means (default: the system's queue is empty)."""
    base = sink.count()
    sampler = MemorySampler(system.pid)
    sampler.sample()
    cpu0 = tree_cpu_ticks(system.pid)
    busy0 = machine_busy_ticks()
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    sampler.start()
    src = REAPER.popen(["smtp-source", "-s", str(c), "-m", str(n), "-l", str(size),
                        "-f", SENDER, "-t", rcpt, "-M", "source.invalid",
                        "127.0.0.1:%d" % system.port],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        out, _ = src.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        REAPER.stop(src)
        sampler.finish()
        raise RuntimeError("%s: smtp-source did not finish in %d s" % (system.name, timeout))
    t_acc = time.monotonic()
    REAPER.procs.remove(src)
    if src.returncode != 0:
        sampler.finish()
        raise RuntimeError("%s: smtp-source failed: %s" % (system.name, out.decode(errors="replace")))
    wait_until(lambda: sink.count() >= base + n, timeout, interval=0.005,
               what="%s: sink to see %d messages (saw %d)" % (system.name, n, sink.count() - base))
    t_e2e = time.monotonic()
    wait_until(settled or system.queue_empty, 30, interval=0.05, what="%s: queue to drain" % system.name)
    cpu1 = tree_cpu_ticks(system.pid)
    busy1 = machine_busy_ticks()
    sampler.finish()
    seen = sink.count() - base
    return {
        "n": n, "c": c, "size": size, "sink_seen": seen,
        "accepted_per_s": n / (t_acc - t0),
        "e2e_per_s": n / (t_e2e - t0),
        "cpu_ms_per_msg": (cpu1 - cpu0) * 1000.0 / TICK / n,
        "machine_cpu_ms_per_msg": (busy1 - busy0) * 1000.0 / TICK / n,
        "peak_kb": system.peak_kb(sampler),
        "peak_pss_kb": sampler.peak_pss, "peak_rss_kb": sampler.peak_rss,
        "peak_procs": sampler.peak_procs,
        "loadavg_1min_at_start": load0,
    }


class SinkOnly:
    """No gateway: smtp-source straight into the smtp-sink, the loopback
    ceiling of the point (no queue, no sync, no relaying)."""
    name = "ceiling"

    def __init__(self, sink):
        self.sink = sink
        self.pid = sink.proc.pid
        self.port = sink.port

    def queue_empty(self):
        return True

    def peak_kb(self, sampler):
        return sampler.peak_pss

    def stop(self):
        pass


def one_run(kind, args, workdir, n, c, size, settings=(), trace=False, perf_out=None):
    sink = SmtpSink(workdir)
    system = tracer = perf = None
    try:
        if kind == "mailgate":
            system = Mailgate(args.build, workdir, sink.port, settings)
        elif kind == "ceiling":
            system = SinkOnly(sink)
        else:
            system = Postfix(workdir, sink.port)
        warm = min(n, 100)
        drive(system, sink, warm, c, size, 60)
        if trace:
            tracer = REAPER.popen([os.path.join(args.build, "service", "mailgatectl"),
                                   "--socket", system.socket, "trace"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL)
            time.sleep(1.0)  # let it subscribe (a benchmark, not a test)
            if tracer.poll() is not None:
                raise RuntimeError("mailgatectl trace exited with %d" % tracer.returncode)
        if perf_out:
            perf = REAPER.popen(["perf", "record", "-B", "-F", "499", "--call-graph", "dwarf,16384", "-o", perf_out,
                                 "-p", str(system.pid)],
                                stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                stderr=open(perf_out + ".log", "wb"))
            time.sleep(0.5)
        result = drive(system, sink, n, c, size, int(30 + n / 20))
        if tracer is not None and tracer.poll() is not None:
            raise RuntimeError("mailgatectl trace died during the run")
        if result["sink_seen"] != n:
            log("  warning: %s: sink saw %d messages, sent %d" % (kind, result["sink_seen"], n))
        return result
    finally:
        if perf is not None:
            REAPER.stop(perf, sig=signal.SIGINT, timeout=120)
            if perf.returncode not in (0, -signal.SIGINT):
                log("  warning: perf record ended with %s" % perf.returncode)
        if tracer is not None:
            REAPER.stop(tracer)
        if system is not None:
            system.stop()
        sink.stop()


def backlog_run(kind, args, workdir, backlog, n, c, size):
    """(@n, @c, @size) relayed while @backlog messages wait in the queue for
    a next hop that is down (a refused connection): what an outage of the
    internal server costs the rest of the mail."""
    sink = SmtpSink(workdir)
    system = None
    try:
        system = Mailgate(args.build, workdir, sink.port) if kind == "mailgate" else Postfix(workdir, sink.port)
        system.add_dead_route()
        fill = REAPER.popen(["smtp-source", "-s", "20", "-m", str(backlog), "-l", str(size),
                             "-f", SENDER, "-t", "user@" + DEAD_DOMAIN, "-M", "source.invalid",
                             "127.0.0.1:%d" % system.port],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out, _ = fill.communicate(timeout=60 + backlog / 50)
        REAPER.procs.remove(fill)
        if fill.returncode != 0:
            raise RuntimeError("%s: filling the backlog: %s" % (kind, out.decode(errors="replace")))
        wait_until(lambda: system.n_deferred() >= backlog, 120 + backlog / 50, interval=0.2,
                   what="%s: %d messages deferred" % (kind, backlog))
        drive(system, sink, min(n, 100), c, size, 60, settled=system.settled)
        result = drive(system, sink, n, c, size, int(30 + n / 20), settled=system.settled)
        result["backlog"] = system.n_deferred()
        return result
    finally:
        if system is not None:
            system.stop()
        sink.stop()


def median_of(results, key):
    return statistics.median(r[key] for r in results)


def summarize(results):
    keys = ("accepted_per_s", "e2e_per_s", "cpu_ms_per_msg", "machine_cpu_ms_per_msg",
            "peak_kb", "peak_procs")
    return {k: median_of(results, k) for k in keys}


# -- single-client latency per SMTP step ------------------------------------

STEPS = ("connect+220", "HELO", "MAIL", "RCPT", "DATA 354", "body 250", "QUIT 221")


def _reply(sock, buf):
    """Read one complete (possibly multi-line) reply; returns (code, rest)."""
    while True:
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            if len(line) < 4 or line[3:4] != b"-":
                return line[:3], buf
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("connection closed")
        buf += data


def step_latencies(port, n, size):
    """Median milliseconds of each SMTP step of @n one-message sessions, one
    client at a time (what C=1 throughput is made of)."""
    body = (b"From: <%s>\r\nTo: <%s>\r\nSubject: latency\r\n\r\n" % (SENDER.encode(), RCPT.encode()))
    line = b"x" * 78 + b"\r\n"
    body += line * max(1, (size - len(body)) // len(line)) + b".\r\n"
    samples = [[] for _ in STEPS]
    cmds = [b"HELO latency.invalid\r\n", b"MAIL FROM:<%s>\r\n" % SENDER.encode(),
            b"RCPT TO:<%s>\r\n" % RCPT.encode(), b"DATA\r\n", body, b"QUIT\r\n"]
    want = [b"250", b"250", b"250", b"354", b"250", b"221"]
    for _ in range(n):
        t = time.perf_counter()
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            code, buf = _reply(sock, b"")
            if code != b"220":
                raise RuntimeError("greeting %r" % code)
            now = time.perf_counter()
            samples[0].append(now - t)
            for i, (cmd, expect) in enumerate(zip(cmds, want)):
                t = now
                sock.sendall(cmd)
                code, buf = _reply(sock, buf)
                if code != expect:
                    raise RuntimeError("%s answered %r" % (STEPS[i + 1], code))
                now = time.perf_counter()
                samples[i + 1].append(now - t)
        finally:
            sock.close()
    totals = sorted(sum(col[i] for col in samples) for i in range(n))
    result = {step: (statistics.median(v) * 1000.0, statistics.mean(v) * 1000.0)
              for step, v in zip(STEPS, samples)}
    result["session"] = (statistics.median(totals) * 1000.0, statistics.mean(totals) * 1000.0)
    result["session p90/p99"] = (totals[int(0.9 * (n - 1))] * 1000.0, totals[int(0.99 * (n - 1))] * 1000.0)
    return result


def latency_run(kind, args, workdir, n, size):
    sink = SmtpSink(workdir)
    system = None
    try:
        system = Mailgate(args.build, workdir, sink.port) if kind == "mailgate" else Postfix(workdir, sink.port)
        drive(system, sink, 100, 1, size, 60)
        return step_latencies(system.port, n, size)
    finally:
        if system is not None:
            system.stop()
        sink.stop()


# -- the idle-connection test ----------------------------------------------

def idle_test(args, workdir, count):
    sink = SmtpSink(workdir)
    mg = holder = None
    try:
        mg = Mailgate(args.build, workdir, sink.port,
                      [("receiver.accept_limit", 10000)])
        # one session first, so the receiver's first-use allocations are paid
        socket.create_connection(("127.0.0.1", mg.port), timeout=5).close()
        wait_until(lambda: json.loads(mg.ctl("--json", "status").stdout)["sessions"] == 0, 10,
                   interval=0.05, what="the probe session to end")
        rss0, pss0 = status_kb(mg.pid, "VmRSS"), pss_kb(mg.pid)
        holder = REAPER.popen([sys.executable, os.path.join(HERE, "idle_conns.py"),
                               "127.0.0.1", str(mg.port), str(count), "300"],
                              stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        line = holder.stdout.readline().strip()
        t_open = time.monotonic() - t0
        if not line.startswith("OPEN"):
            raise RuntimeError("idle_conns: " + line)
        sessions = json.loads(mg.ctl("--json", "status").stdout)["sessions"]
        rss1, pss1 = status_kb(mg.pid, "VmRSS"), pss_kb(mg.pid)
        fds = len(os.listdir("/proc/%d/fd" % mg.pid))
        holder.stdin.write("done\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
        return {"connections": count, "sessions_reported": sessions, "open_s": t_open,
                "rss_before_kb": rss0, "rss_after_kb": rss1, "pss_before_kb": pss0,
                "pss_after_kb": pss1, "daemon_fds": fds,
                "per_conn_rss_kb": (rss1 - rss0) / count,
                "per_conn_pss_kb": (pss1 - pss0) / count,
                "vmhwm_kb": status_kb(mg.pid, "VmHWM")}
    finally:
        if holder is not None:
            REAPER.stop(holder)
        if mg is not None:
            mg.stop()
        sink.stop()


# -- report ----------------------------------------------------------------

def perf_summary(perf_out):
    """Share of mailgated's CPU per thread and per function (inclusive)."""
    parts = []
    for title, extra in (("per thread (self)", ["--no-children", "--sort", "comm"]),
                         ("per function, inclusive (children)", ["--children", "--sort", "sym"])):
        r = subprocess.run(["perf", "report", "-i", perf_out, "--stdio", "-g", "none"] + extra,
                           capture_output=True, text=True, timeout=600)
        lines = [l for l in r.stdout.splitlines()
                 if l.strip() and not l.startswith("#") and "0x0000" not in l]
        parts.append("== %s ==\n%s\n" % (title, "\n".join(lines[:120])))
    return "\n".join(parts)


def buildtype(build):
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            for opt in json.load(f):
                if opt.get("name") == "buildtype":
                    return opt.get("value")
    except (OSError, ValueError):
        pass
    return "?"


def source_version():
    def git(*a):
        return subprocess.run(["git", "-C", os.path.join(HERE, "..")] + list(a),
                              capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + (" + uncommitted changes" if dirty else "")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return cpu


def describe_disk(path):
    df = subprocess.run(["df", "-hT", path], capture_output=True, text=True).stdout.strip()
    return df.splitlines()[-1] if df else "?"


def size_label(size):
    return "%d KB" % (size // 1024) if size % 1024 == 0 else "%d B" % size


def ratio(a, b):
    return a / b if b else float("nan")


def report(args, matrix_results, trace_results, idle, workdir, started, argv, raw_runs, latency,
           backlog=None):
    out = []
    w = out.append
    w("## Results")
    w("")
    w("- command: `%s`" % argv)
    w("- date: %s (UTC), %.1f min" % (started.strftime("%Y-%m-%d %H:%M"),
                                       (time.time() - started.timestamp()) / 60))
    w("- machine: %d CPUs (nproc), %s, Linux %s, %.1f GB RAM" %
      (os.cpu_count(), machine(), platform.release(),
       os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30))
    w("- disk (queues under %s): `%s`" % (args.tmpdir, describe_disk(workdir)))
    w("- mailgate: commit %s, meson buildtype %s" % (source_version(), buildtype(args.build)))
    w("- every process of the benchmark (both systems, smtp-source, smtp-sink) ran at nice %s" % args.nice)
    loads = [r["loadavg_1min_at_start"] for r in raw_runs if "loadavg_1min_at_start" in r]
    if loads:
        w("- 1-minute load average at the start of the measured runs: median %.1f, max %.1f "
          "(other work on the machine disturbs the numbers)" % (statistics.median(loads), max(loads)))
    w("- Postfix %s; repetitions per point: %d (medians)" % (
        subprocess.run(["postconf", "-h", "-c", "/etc/postfix", "mail_version"],
                       capture_output=True, text=True).stdout.strip() or "?", args.runs))
    w("")
    w("| N | C | S | system | accepted/s | end-to-end/s | CPU ms/msg | machine CPU ms/msg | peak memory | processes |")
    w("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for (n, c, size), per in matrix_results:
        m, p = per.get("mailgate"), per.get("postfix")
        for name, s in (("mailgate", m), ("Postfix", p)):
            if s is None:
                continue
            mem = ("%.1f MB VmHWM" if name == "mailgate" else "%.1f MB ΣPSS") % (s["peak_kb"] / 1024)
            w("| %d | %d | %s | %s | %.0f | %.0f | %.2f | %.2f | %s | %d |" % (
                n, c, size_label(size), name, s["accepted_per_s"], s["e2e_per_s"],
                s["cpu_ms_per_msg"], s["machine_cpu_ms_per_msg"], mem, s["peak_procs"]))
        ceiling = per.get("ceiling")
        if ceiling:
            w("| %d | %d | %s | loopback ceiling (no gateway) | %.0f | | | | | |" % (
                n, c, size_label(size), ceiling["accepted_per_s"]))
        if m and p:
            w("| | | | **mailgate/Postfix** | **%.1f×** | **%.1f×** | **%.3f×** | **%.3f×** | **%.2f×** | |" % (
                ratio(m["accepted_per_s"], p["accepted_per_s"]),
                ratio(m["e2e_per_s"], p["e2e_per_s"]),
                ratio(m["cpu_ms_per_msg"], p["cpu_ms_per_msg"]),
                ratio(m["machine_cpu_ms_per_msg"], p["machine_cpu_ms_per_msg"]),
                ratio(m["peak_kb"], p["peak_kb"])))
    w("")
    if trace_results:
        plain, traced = trace_results
        w("Trace subscriber (`mailgatectl trace > /dev/null`), mailgate, N=%d C=20 1 KB, medians:" % args.trace_n)
        w("")
        w("| | accepted/s | end-to-end/s | CPU ms/msg |")
        w("|---|---:|---:|---:|")
        for label, s in (("no subscriber", plain), ("trace attached", traced)):
            w("| %s | %.0f | %.0f | %.2f |" % (label, s["accepted_per_s"], s["e2e_per_s"], s["cpu_ms_per_msg"]))
        w("| drop | %.1f%% | %.1f%% | |" % (
            100 * (1 - ratio(traced["accepted_per_s"], plain["accepted_per_s"])),
            100 * (1 - ratio(traced["e2e_per_s"], plain["e2e_per_s"]))))
        w("")
    if latency:
        names = [n for n in ("mailgate", "postfix") if n in latency]
        w("One client, 1 KB, %d sessions of one message each, milliseconds per SMTP step "
          "(client side, from sending the command to the complete reply), median / mean; "
          "last rows: the whole session, and its 90th / 99th percentile:" % args.latency_n)
        w("")
        w("| step | " + " | ".join(names) + " |")
        w("|---|" + "---:|" * len(names))
        for step in STEPS + ("session", "session p90/p99"):
            w("| %s | %s |" % (step, " | ".join("%.3f / %.3f" % latency[n][step] for n in names)))
        w("")
    if backlog:
        plain = None
        for (n, c, size), per in matrix_results:
            if (c, size) == (20, 1024):
                plain = per
        w("Relaying N=%d C=20 1 KB while %d messages wait in the queue for a next hop that is down "
          "(a refused connection), medians; the last column compares with the same point without "
          "the backlog in the table above (C=20, 1 KB):" % (args.trace_n, args.backlog))
        w("")
        w("| system | accepted/s | end-to-end/s | CPU ms/msg | end-to-end vs no backlog |")
        w("|---|---:|---:|---:|---:|")
        for name in ("mailgate", "postfix"):
            b = backlog.get(name)
            if b is None:
                continue
            ref = plain.get(name) if plain else None
            w("| %s | %.0f | %.0f | %.2f | %s |" % (
                "mailgate" if name == "mailgate" else "Postfix", b["accepted_per_s"], b["e2e_per_s"],
                b["cpu_ms_per_msg"], "%.2f×" % ratio(b["e2e_per_s"], ref["e2e_per_s"]) if ref else "–"))
        if "mailgate" in backlog and "postfix" in backlog:
            w("| **mailgate/Postfix** | **%.1f×** | **%.1f×** | **%.3f×** | |" % (
                ratio(backlog["mailgate"]["accepted_per_s"], backlog["postfix"]["accepted_per_s"]),
                ratio(backlog["mailgate"]["e2e_per_s"], backlog["postfix"]["e2e_per_s"]),
                ratio(backlog["mailgate"]["cpu_ms_per_msg"], backlog["postfix"]["cpu_ms_per_msg"])))
        w("")
    if idle:
        w("Idle connections held open to mailgated: %d (daemon reported %d sessions, %d fds; "
          "opened in %.1f s)" % (idle["connections"], idle["sessions_reported"],
                                 idle["daemon_fds"], idle["open_s"]))
        w("")
        w("| | before | with %d idle | per connection |" % idle["connections"])
        w("|---|---:|---:|---:|")
        w("| VmRSS | %.1f MB | %.1f MB | %.1f KB |" % (idle["rss_before_kb"] / 1024,
                                                      idle["rss_after_kb"] / 1024,
                                                      idle["per_conn_rss_kb"]))
        w("| PSS | %.1f MB | %.1f MB | %.1f KB |" % (idle["pss_before_kb"] / 1024,
                                                    idle["pss_after_kb"] / 1024,
                                                    idle["per_conn_pss_kb"]))
        w("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description="mailgate vs Postfix relay benchmark")
    ap.add_argument("--build", required=True, help="meson build dir with service/mailgated")
    ap.add_argument("--quick", action="store_true", help="smaller matrix, one repetition")
    ap.add_argument("--runs", type=int, help="repetitions per matrix point (default 3; --quick 1)")
    ap.add_argument("--only", choices=("mailgate", "postfix"), help="measure one system")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle-connection test")
    ap.add_argument("--no-trace", action="store_true", help="skip the trace-subscriber run")
    ap.add_argument("--no-latency", action="store_true", help="skip the per-step latency test")
    ap.add_argument("--backlog", type=int, default=None, metavar="N",
                    help="also relay N=5000 C=20 1 KB while N messages wait for a dead next hop "
                         "(default 10000, --quick 2000; 0 skips)")
    ap.add_argument("--no-ceiling", action="store_true",
                    help="skip the loopback ceiling (smtp-source straight into smtp-sink)")
    ap.add_argument("--profile", metavar="FILE",
                    help="also record mailgated with perf (call graphs) during one run "
                         "into FILE (perf.data); a summary goes to FILE.txt")
    ap.add_argument("--profile-point", default="5000,20,1024", metavar="N,C,S",
                    help="the run --profile records (default 5000,20,1024)")
    ap.add_argument("--profile-trace", action="store_true",
                    help="profile with a trace subscriber attached")
    ap.add_argument("--point", action="append", metavar="N,C,S",
                    help="matrix point instead of the default matrix (repeatable)")
    ap.add_argument("--tmpdir", default="/var/tmp", help="where the queues live (default /var/tmp)")
    ap.add_argument("--json", metavar="FILE", help="write every measurement as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--argv", default="bench/run", help=argparse.SUPPRESS)
    ap.add_argument("--nice", default="0", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    matrix = QUICK_MATRIX if args.quick else FULL_MATRIX
    if args.point:
        matrix = [tuple(int(x) for x in p.split(",")) for p in args.point]
    args.trace_n = 2000 if args.quick else 5000
    if args.backlog is None:
        args.backlog = 2000 if args.quick else 10000
    args.latency_n = 100 if args.quick else 300
    systems = [args.only] if args.only else ["mailgate", "postfix"]

    started = datetime.datetime.now(datetime.timezone.utc)
    workdir = tempfile.mkdtemp(prefix="mgbench-", dir=args.tmpdir)
    fs = subprocess.run(["stat", "-f", "-c", "%T", workdir], capture_output=True, text=True).stdout.strip()
    if fs == "tmpfs":
        log("warning: %s is tmpfs: fsync costs nothing there; use --tmpdir on a disk" % args.tmpdir)

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    raw = {"matrix": [], "trace": [], "idle": None, "latency": {}}
    matrix_results, trace_results, idle, backlog = [], None, None, None
    try:
        for (n, c, size) in matrix:
            per = {name: [] for name in systems}
            if not args.no_ceiling:
                per["ceiling"] = []
            for rep in range(args.runs):
                order = systems if rep % 2 == 0 else list(reversed(systems))
                if not args.no_ceiling:
                    order = order + ["ceiling"]
                for name in order:
                    log("%-8s N=%-5d C=%-3d S=%-6d run %d/%d ..." % (name, n, c, size, rep + 1, args.runs))
                    r = one_run(name, args, workdir, n, c, size)
                    log("         accepted %.0f/s, end-to-end %.0f/s, %.2f ms CPU/msg (machine %.2f), peak %.1f MB, %d procs" % (
                        r["accepted_per_s"], r["e2e_per_s"], r["cpu_ms_per_msg"],
                        r["machine_cpu_ms_per_msg"], r["peak_kb"] / 1024, r["peak_procs"]))
                    r["system"], r["rep"] = name, rep
                    per[name].append(r)
                    raw["matrix"].append(r)
            matrix_results.append(((n, c, size), {k: summarize(v) for k, v in per.items()}))

        if not args.no_trace and "mailgate" in systems:
            plain, traced = [], []
            for rep in range(args.runs):
                for label, flag, dest in (("no trace", False, plain), ("trace", True, traced)):
                    log("mailgate N=%d C=20 1 KB, %s, run %d/%d ..." % (args.trace_n, label, rep + 1, args.runs))
                    r = one_run("mailgate", args, workdir, args.trace_n, 20, 1024, trace=flag)
                    log("         accepted %.0f/s, end-to-end %.0f/s" % (r["accepted_per_s"], r["e2e_per_s"]))
                    r["trace"] = flag
                    dest.append(r)
                    raw["trace"].append(r)
            trace_results = (summarize(plain), summarize(traced))

        if not args.no_latency:
            for name in systems:
                log("%-8s latency of each SMTP step, one client, %d sessions ..." % (name, args.latency_n))
                raw["latency"][name] = lat = latency_run(name, args, workdir, args.latency_n, 1024)
                log("         " + ", ".join("%s %.2f/%.2f ms" % (k, v[0], v[1]) for k, v in lat.items()))

        if args.backlog > 0:
            backlog_results = {}
            for rep_ in range(args.runs):
                order = systems if rep_ % 2 == 0 else list(reversed(systems))
                for name in order:
                    log("%-8s N=%d C=20 1 KB with %d deferred, run %d/%d ..." % (
                        name, args.trace_n, args.backlog, rep_ + 1, args.runs))
                    r = backlog_run(name, args, workdir, args.backlog, args.trace_n, 20, 1024)
                    log("         accepted %.0f/s, end-to-end %.0f/s, %.2f ms CPU/msg, %d still deferred" % (
                        r["accepted_per_s"], r["e2e_per_s"], r["cpu_ms_per_msg"], r["backlog"]))
                    r["system"], r["rep"] = name, rep_
                    backlog_results.setdefault(name, []).append(r)
                    raw.setdefault("backlog", []).append(r)
            backlog = {k: summarize(v) for k, v in backlog_results.items()}

        if not args.no_idle and "mailgate" in systems:
            log("mailgate: holding %d idle connections ..." % IDLE_CONNECTIONS)
            idle = idle_test(args, workdir, IDLE_CONNECTIONS)
            raw["idle"] = idle
            log("         %.1f KB RSS per connection" % idle["per_conn_rss_kb"])

        if args.profile and "mailgate" in systems:
            pn, pc, ps = (int(x) for x in args.profile_point.split(","))
            log("mailgate: perf record during N=%d C=%d S=%d into %s ..." % (pn, pc, ps, args.profile))
            perf_out = os.path.abspath(args.profile)
            r = one_run("mailgate", args, workdir, pn, pc, ps, perf_out=perf_out,
                        trace=args.profile_trace)
            log("         accepted %.0f/s, end-to-end %.0f/s, %.2f ms CPU/msg (under perf)" % (
                r["accepted_per_s"], r["e2e_per_s"], r["cpu_ms_per_msg"]))
            summary = perf_summary(perf_out)
            with open(perf_out + ".txt", "w") as f:
                f.write(summary)
            log("         profile summary in %s.txt" % perf_out)

        text = report(args, matrix_results, trace_results, idle, workdir, started, args.argv,
                      raw["matrix"] + raw["trace"], raw["latency"], backlog)
        print(text)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(raw, f, indent=1)
        return 0
    finally:
        REAPER.stop_all()
        if args.keep:
            log("kept " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        REAPER.stop_all()
        sys.exit(130)
