"""`sysret-verify batch` (issue 13): inputs, exit status, summary, a local
pool on fixture kernels, and a real Dask cluster (a `dask scheduler` and two
`dask worker` processes on localhost) proving the Debian kernels and a
seeded-bug copy, including a worker killed in the middle of a proof."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from verify import batch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "tests"))


def run_batch(*args, env=None, timeout=600):
    e = dict(os.environ)
    e.pop("SYSRET_VERIFY_ENGINE", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "verify.cli", "batch", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=e)


def assert_input_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sysret-verify: error:"), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def fake_elf(path, exec_x86=True):
    """An ELF header only: x86-64 ET_EXEC (what a vmlinux is) or ET_REL."""
    hdr = bytearray(64)
    hdr[:4] = b"\x7fELF"
    hdr[4], hdr[5], hdr[6] = 2, 1, 1
    hdr[16:18] = (2 if exec_x86 else 1).to_bytes(2, "little")
    hdr[18:20] = (62).to_bytes(2, "little")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes(hdr))
    return str(path)


# --- exit status ----------------------------------------------------------------------------


@pytest.mark.parametrize("statuses, expected", [
    ([0, 0], 0),
    ([0, 3], 3),
    ([3, 1, 0], 1),          # violated outranks inconclusive
    ([1, 3], 1),
    ([0, 2, 1], 2),          # a kernel that could not be read: the batch is incomplete
    ([4, 2, 1, 3], 4),       # an internal error outranks everything
    ([4], 4),
    ([], 2),
])
def test_exit_status_is_the_worst(statuses, expected):
    assert batch.batch_exit(statuses) == expected


# --- inputs --------------------------------------------------------------------------------


def test_directory_takes_every_vmlinux_elf_executable(tmp_path):
    d = tmp_path / "fleet"
    a = fake_elf(d / "vmlinux-a")
    b = fake_elf(d / "sub" / "vmlinux")
    fake_elf(d / "vmlinux.o", exec_x86=False)  # an object file, not a kernel
    fake_elf(d / "bzImage-not-named-vmlinux")
    fake_elf(d / ".hidden" / "vmlinux")
    (d / "vmlinux.txt").write_text("not elf")
    (d / "System.map").write_text("ffffffff81000000 T _text\n")
    z = d / "boot" / "vmlinuz-6.1.0-50-cloud-amd64"  # a bzImage: "HdrS" at 0x202
    z.parent.mkdir()
    z.write_bytes(b"\0" * 0x202 + b"HdrS" + b"\0" * 64)
    (d / "boot" / "vmlinuz.old").write_bytes(b"\0" * 0x300)  # no boot header
    specs = batch.collect_inputs([str(d)])
    assert [s["path"] for s in specs] == [a, str(z), b]
    assert all(s["kind"] == "path" for s in specs)


def test_list_file_paths_releases_directories_comments(tmp_path):
    k1 = fake_elf(tmp_path / "k" / "vmlinux-1")
    k2 = fake_elf(tmp_path / "dir" / "vmlinux-2")
    lst = tmp_path / "fleet.txt"
    lst.write_text("# the fleet\n\nk/vmlinux-1   # relative to the list\n6.1.0-50-cloud-amd64\n"
                   f"{tmp_path / 'dir'}\n  k/vmlinux-1\n")
    specs = batch.collect_inputs([str(lst)], ["6.12.107+deb12-cloud-amd64", "6.1.0-50-cloud-amd64"])
    assert [(s["kind"], s["input"]) for s in specs] == [
        ("path", k1), ("debian", "6.1.0-50-cloud-amd64"), ("path", k2), ("debian", "6.12.107+deb12-cloud-amd64")]


def test_bare_release_name_is_a_debian_kernel(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert batch.collect_inputs(["6.12.107+deb12-cloud-amd64"]) == [
        {"kind": "debian", "release": "6.12.107+deb12-cloud-amd64", "input": "6.12.107+deb12-cloud-amd64"}]


def test_bad_inputs_one_line_exit_2(tmp_path):
    out = str(tmp_path / "out")
    assert_input_error(run_batch("-o", out), "no kernels given")
    assert_input_error(run_batch(str(tmp_path / "nope"), "-o", out), "no such file or directory")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_input_error(run_batch(str(empty), "-o", out), "no kernel in this directory")
    lst = tmp_path / "list.txt"
    lst.write_text("# ok\n/does/not/exist\n")
    assert_input_error(run_batch(str(lst), "-o", out), f"{lst}:2", "no such file")
    lst.write_text("# nothing yet\n\n")
    assert_input_error(run_batch(str(lst), "-o", out), "names no kernel")
    inner = tmp_path / "inner.txt"
    inner.write_text("x\n")
    lst.write_text("inner.txt\n")
    assert_input_error(run_batch(str(lst), "-o", out), "list file inside a list file")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01binary")
    assert_input_error(run_batch(str(junk), "-o", out), "neither a kernel image")
    k = fake_elf(tmp_path / "vmlinux")
    assert_input_error(run_batch(k, "--jobs", "0", "-o", out), "--jobs")
    assert_input_error(run_batch(k, "--debian", "x; rm -rf /", "-o", out), "not a Debian kernel release")
    assert_input_error(run_batch(k, "--jobs", "2", "--cluster", "tcp://127.0.0.1:1", "-o", out), "not allowed")
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "something else"}')
    assert_input_error(run_batch(k, "--baseline", str(bad), "-o", out), "not a batch summary")
    f = tmp_path / "afile"
    f.write_text("")
    assert_input_error(run_batch(k, "-o", str(f)), "not a directory")
    assert_input_error(run_batch(k, "--timeout", "0", "-o", out), "--timeout")
    assert_input_error(run_batch(k, "--cluster", "", "-o", out), "--cluster needs")


def test_unreachable_cluster_is_an_input_error(tmp_path):
    k = fake_elf(tmp_path / "vmlinux")
    r = run_batch(k, "--cluster", "tcp://127.0.0.1:9", "-o", str(tmp_path / "o"),
                  env={"SYSRET_VERIFY_CLUSTER_CONNECT": "2"})
    assert_input_error(r, "--cluster tcp://127.0.0.1:9", "cannot connect")


def test_a_crashed_proof_is_an_internal_error_and_the_batch_exits_4(tmp_path, monkeypatch, capsys):
    """A proof process that dies of a signal, or exits without an answer,
    is that kernel's internal error (never a verdict, never lost); any
    internal error makes the batch exit 4."""
    from verify import cli

    crash = tmp_path / "crash.sh"
    # run_child starts `sys.executable -m verify.run REQUEST RECORD`: this one crashes for vmlinux-seg (named in
    # the REQUEST) and exits 1 without writing RECORD for the other
    crash.write_text("#!/bin/sh\nif grep -q vmlinux-seg \"$3\"; then kill -SEGV $$; fi\n"
                     "echo 'boom: no answer' >&2\nexit 1\n")
    crash.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(crash))
    k1 = fake_elf(tmp_path / "k" / "vmlinux-seg")
    k2 = fake_elf(tmp_path / "k" / "vmlinux-exit")
    out = tmp_path / "out"
    rc = cli.main(["batch", k1, k2, "--jobs", "2", "-o", str(out), "--quiet"])
    assert rc == 4
    s = json.loads((out / "summary.json").read_text())
    by = {os.path.basename(k["input"]): k for k in s["kernels"]}
    assert by["vmlinux-seg"]["exit"] == 4 and "died of signal 11" in by["vmlinux-seg"]["error"]
    assert by["vmlinux-exit"]["exit"] == 4 and "exited 1 without an answer: boom: no answer" in \
        by["vmlinux-exit"]["error"]
    assert s["counts"]["error"] == 2 and s["exit"] == 4
    assert "exit 4" in capsys.readouterr().out


# --- summary, keys, baseline diff ----------------------------------------------------------


def _rec(verdict, statuses, build_id="b1", sha="aa", exit_=None):
    obl = [{"id": oid, "variant": {"name": v}, "site": {"symbol": "entry+0x1"}, "status": s}
           for (oid, v), s in statuses.items()]
    res = {"image": {"path": "/k", "build_id": build_id, "sha256": sha, "version": "Linux 6"}, "verdict": verdict,
           "obligations": obl, "variants": [{"name": "4-level"}]}
    return {"exit": exit_ if exit_ is not None else {"proven": 0, "violated": 1}.get(verdict, 3), "error": None,
            "cached": False, "result": res, "seconds": 1.0, "elapsed": 2.0, "peak_mib": 100.0, "worker": "h:1"}


def test_summary_keys_and_baseline_diff():
    specs = [{"kind": "path", "path": "/a", "input": "/a"}, {"kind": "path", "path": "/b", "input": "/b"},
             {"kind": "debian", "release": "6.1.0-1-amd64", "input": "6.1.0-1-amd64"}]
    ok = {("canonical-rip", "4-level"): "proven", ("user-cs-ss", "4-level"): "proven"}
    bad = {**ok, ("canonical-rip", "4-level"): "violated"}
    recs = [_rec("proven", ok, "b1", "aa"), _rec("violated", bad, "b1", "bb"),
            {"exit": 2, "error": "error: apt-get download failed", "cached": False, "result": None, "seconds": 0.1,
             "elapsed": 0.5, "peak_mib": 30.0, "worker": "h:2"}]
    s1 = batch.build_summary(specs, recs, started="t", seconds=3.0, runner={"mode": "local", "jobs": 2})
    keys = [k["key"] for k in s1["kernels"]]
    assert keys == ["b1+aa", "b1+bb", "input:6.1.0-1-amd64"]  # a patched copy keeps the build id
    assert s1["exit"] == 2 and s1["counts"] == {"proven": 1, "violated": 1, "inconclusive": 0, "error": 1}
    assert s1["kernels"][1]["obligations"] == {"proven": 1, "violated": 1, "inconclusive": 0}
    # the next batch: /b fixed, /a gone, /c new
    specs2 = [specs[1], {"kind": "path", "path": "/c", "input": "/c"}]
    recs2 = [_rec("proven", ok, "b1", "cc"), _rec("inconclusive", ok, "b2", "dd")]
    s2 = batch.build_summary(specs2, recs2, started="t", seconds=1.0, runner={"mode": "local", "jobs": 1},
                             baseline=json.loads(json.dumps(s1)), baseline_path="old.json")
    ch = s2["changes"]
    assert [(c["input"], c["before"], c["after"], c["image_changed"]) for c in ch["changed"]] == [
        ("/b", "violated", "proven", True)]
    assert ch["changed"][0]["obligations"] == [
        {"id": "canonical-rip", "variant": "4-level", "site": "entry+0x1", "before": "violated", "after": "proven"}]
    assert [c["input"] for c in ch["new"]] == ["/c"]
    assert sorted(c["input"] for c in ch["gone"]) == ["/a", "6.1.0-1-amd64"]
    table = batch.render_table(s2)
    assert "changed: /b: violated -> proven (another image)" in table and "new: /c" in table
    page = batch.render_html(s2)
    assert "Changes against" in page and "&rarr;" in page
    _summary_validator()(json.loads(json.dumps(s2)))


def _summary_validator():
    jsonschema = pytest.importorskip("jsonschema")
    with open(os.path.join(ROOT, "docs", "schema", "batch-summary.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema).validate


# --- a local pool on fixture kernels --------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_kernels(tmp_path_factory):
    from fixtures import build_fixture

    outdir = os.environ.get("SYSRET_VERIFY_FIXTURE_DIR") or str(tmp_path_factory.mktemp("fx"))
    return {n: build_fixture(n, outdir) for n in ("linux61_exit_checks", "missing_canonical_check")}


def test_local_pool_fixtures_cache_and_baseline(fixture_kernels, tmp_path):
    """Two fixture kernels and a file that is not a kernel on the local pool:
    one result each, the bad one an input error (exit 2 for the batch); the
    second run answers from check's cache; --baseline shows no change."""
    good, bug = fixture_kernels["linux61_exit_checks"], fixture_kernels["missing_canonical_check"]
    lst = tmp_path / "fleet.txt"
    lst.write_text(f"{good}\n{bug}\n")
    env = {"SYSRET_VERIFY_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out"
    r = run_batch(str(lst), "--jobs", "2", "-o", str(out), env=env)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    progress = [ln for ln in r.stderr.splitlines() if ln.startswith("sysret-verify: [")]
    assert len(progress) == 2
    s = json.loads((out / "summary.json").read_text())
    assert s["kind"] == "sysret-verify-batch" and s["exit"] == 1 and s["runner"] == {"mode": "local", "jobs": 2}
    by = {os.path.basename(k["input"]): k for k in s["kernels"]}
    assert by["vmlinux-linux61_exit_checks"]["verdict"] == "proven"
    assert by["vmlinux-missing_canonical_check"]["verdict"] == "violated"
    assert {(f["id"], f["variant"]) for f in by["vmlinux-missing_canonical_check"]["findings"]
            if f["status"] == "violated"} == {("canonical-rip", "4-level")}
    for k in s["kernels"]:
        assert not k["cached"] and k["peak_mib"] > 0 and k["elapsed"] > 0 and k["variants"] == ["4-level"]
        page = (out / k["report"]["html"]).read_text()
        assert page.startswith("<!DOCTYPE html>") and k["verdict"] in page
        assert json.loads((out / k["report"]["json"]).read_text())["verdict"] == k["verdict"]
    index = (out / "index.html").read_text()
    assert all(f'href="{k["report"]["html"]}"' in index for k in s["kernels"])
    assert "vmlinux-missing_canonical_check" in r.stdout and "exit 1" in r.stdout

    # again, with a kernel that cannot be read: proven ones come from the cache
    notk = fake_elf(tmp_path / "odd" / "vmlinux-truncated")
    r2 = run_batch(str(lst), notk, "-o", str(tmp_path / "out2"), "--baseline", str(out / "summary.json"),
                   "--json", str(tmp_path / "s2.json"), env=env)
    assert r2.returncode == 2, r2.stderr
    s2 = json.loads((tmp_path / "s2.json").read_text())
    by2 = {os.path.basename(k["input"]): k for k in s2["kernels"]}
    assert by2["vmlinux-linux61_exit_checks"]["cached"] and by2["vmlinux-missing_canonical_check"]["cached"]
    assert by2["vmlinux-truncated"]["verdict"] == "error" and by2["vmlinux-truncated"]["exit"] == 2
    assert by2["vmlinux-truncated"]["error"].startswith("error: ")
    assert s2["changes"]["unchanged"] == 2 and not s2["changes"]["changed"]
    validate = _summary_validator()
    validate(s)
    validate(s2)
    assert [c["input"] for c in s2["changes"]["new"]] == [notk]


def test_batch_answers_from_what_check_cached(fixture_kernels, tmp_path):
    """batch reads the result cache exactly as check fills it (same key)."""
    k = fixture_kernels["missing_canonical_check"]
    env = dict(os.environ, SYSRET_VERIFY_CACHE=str(tmp_path / "cache"))
    env.pop("SYSRET_VERIFY_ENGINE", None)
    r = subprocess.run([sys.executable, "-m", "verify.cli", "check", k, "--quiet"], capture_output=True, text=True,
                       timeout=300, cwd=ROOT, env=env)
    assert r.returncode == 1, r.stderr
    r = run_batch(k, "-o", str(tmp_path / "out"), env={"SYSRET_VERIFY_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 1, r.stderr
    (e,) = json.loads((tmp_path / "out" / "summary.json").read_text())["kernels"]
    assert e["cached"] and e["verdict"] == "violated"


def test_proof_process_dies_with_its_worker(fixture_kernels, tmp_path):
    """A worker killed with SIGKILL (no chance to clean up) takes its proof
    process with it (PR_SET_PDEATHSIG), so a lost worker leaves no orphan
    proving on."""
    import psutil

    code = ("import sys, threading, time\n"
            "from verify import batch\n"
            "spec = {'kind': 'path', 'path': sys.argv[1], 'input': sys.argv[1]}\n"
            "threading.Thread(target=batch.run_child, args=(spec, {'timeout': 60, 'use_cache': False}),"
            " daemon=True).start()\n"
            "time.sleep(120)\n")
    p = subprocess.Popen([sys.executable, "-c", code, fixture_kernels["linux61_exit_checks"]], cwd=ROOT,
                         env=dict(os.environ, TMPDIR=str(tmp_path)))
    try:
        child, deadline = None, time.monotonic() + 60
        while child is None and time.monotonic() < deadline:
            child = next((k for k in psutil.Process(p.pid).children() if "verify.run" in k.cmdline()), None)
            time.sleep(0.05)
        assert child is not None
        time.sleep(0.3)  # past prctl()
    finally:
        p.kill()
        p.wait()
    child.wait(timeout=10)  # psutil.TimeoutExpired if it outlived the worker


# --- a real Dask cluster --------------------------------------------------------------------


class Cluster:
    def __init__(self, tmp, env):
        self.tmp, self.env = tmp, env
        self.sched_file = os.path.join(tmp, "scheduler.json")
        self.procs = []
        self.workers = []
        self._start([os.path.join(BIN, "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", self.sched_file], "scheduler")
        deadline = time.monotonic() + 60
        while not os.path.exists(self.sched_file):
            assert time.monotonic() < deadline, "the dask scheduler did not start"
            time.sleep(0.2)
        time.sleep(0.2)
        with open(self.sched_file) as f:
            self.address = json.load(f)["address"]
        for i in range(2):
            self.workers.append(self._start(
                [os.path.join(BIN, "dask"), "worker", "--scheduler-file", self.sched_file, "--host", "127.0.0.1",
                 "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                 "--local-directory", os.path.join(tmp, f"w{i}")], f"worker{i}"))
        from distributed import Client

        with Client(self.address, timeout=30) as c:
            c.wait_for_workers(2, timeout=90)

    def _start(self, cmd, name):
        log = open(os.path.join(self.tmp, f"{name}.log"), "w")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


@pytest.fixture(scope="module")
def cluster(kernel61, kernel612, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("dask"))
    env = dict(os.environ, SYSRET_VERIFY_KERNELS=os.path.dirname(os.path.dirname(kernel61[0])),
               SYSRET_VERIFY_CACHE=os.path.join(tmp, "cache"), DASK_TEMPORARY_DIRECTORY=tmp,
               TMPDIR=tmp)  # what a killed worker leaves behind stays here
    env.pop("SYSRET_VERIFY_ENGINE", None)
    c = Cluster(tmp, env)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def seeded61(kernel61, tmp_path_factory):
    from test_real_kernels import _seeded_nocanon

    return _seeded_nocanon(kernel61, tmp_path_factory.mktemp("seeded"))


def _debian_statuses(kernel, release):
    import test_real_kernels as t

    sysret = {"6.1.0-50-cloud-amd64": "0xffffffff81c00227", "6.12.107+deb12-cloud-amd64": "0xffffffff81e001c8"}
    compat = {"6.1.0-50-cloud-amd64": t.COMPAT_SITES["61"], "6.12.107+deb12-cloud-amd64": t.COMPAT_SITES["612"]}
    t._assert_registers_proven(kernel["exit"], kernel["_result"], sysret[release], compat[release])


def _load(out, summary):
    for k in summary["kernels"]:
        k["_result"] = json.loads((out / k["report"]["json"]).read_text())
    return {k["input"] if k["kind"] == "debian" else os.path.basename(k["input"]): k for k in summary["kernels"]}


def _progress(stderr):
    return [ln for ln in stderr.splitlines() if ln.startswith("sysret-verify: [")]


@pytest.mark.realkernel
@pytest.mark.slow
def test_cluster_proves_debian_kernels_and_a_seeded_bug(cluster, seeded61, tmp_path):
    """Release names travel to the workers (which fetch from their kernel
    cache), the seeded copy by path; every verdict is the one `check` gives
    (tests/test_real_kernels.py).  One release and one copy, one on each
    worker: 6.12's check is the same code path (~15 s of a test process)."""
    import test_real_kernels as t

    out = tmp_path / "out"
    r = run_batch("--cluster", cluster.address, "6.1.0-50-cloud-amd64", seeded61,
                  "--no-cache", "-o", str(out), env={"SYSRET_VERIFY_CACHE": str(tmp_path / "c")})
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert len(_progress(r.stderr)) == 2
    s = json.loads((out / "summary.json").read_text())
    assert s["runner"] == {"mode": "cluster", "address": cluster.address, "workers": 2}
    by = _load(out, s)
    rel = "6.1.0-50-cloud-amd64"
    assert by[rel]["build_id"] and not by[rel]["cached"]
    _debian_statuses(by[rel], rel)
    # the seeded copy keeps 6.1's build id: the key tells them apart
    assert by["vmlinux-nocanon"]["build_id"] == by[rel]["build_id"]
    assert len({k["key"] for k in s["kernels"]}) == 2
    # the seeded copy's verdict, as test_real_kernels.test_seeded_61_no_canonical_check
    # asserts it of `check` (not a second check of it here: ~12 s of a test process)
    seeded = by["vmlinux-nocanon"]["_result"]
    assert by["vmlinux-nocanon"]["exit"] == 1
    st = t.statuses(seeded)
    for v in ("4-level", "la57"):
        assert st[("canonical-rip", v)] == "violated"
        for oid in ("rcx-is-rip", "r11-is-rflags", "rflags-no-rf-tf", "user-cs-ss"):
            assert st[(oid, v)] == "proven", (oid, v)
    assert {oid for oid, _ in t._violated(seeded)} <= {"canonical-rip"}
    t._assert_replayed_and_false(seeded, "canonical-rip")


def _proving_worker(cluster, min_age):
    """A worker process group with a `verify.run` proof running for at
    least `min_age` seconds (past the angr import, inside the proof)."""
    import psutil

    for w in cluster.workers:
        try:
            kids = psutil.Process(w.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for k in kids:
            try:
                if "verify.run" in k.cmdline() and time.time() - k.create_time() >= min_age:
                    return w
            except psutil.NoSuchProcess:
                continue
    return None


@pytest.mark.realkernel
@pytest.mark.slow
def test_cluster_worker_killed_mid_proof(cluster, seeded61, tmp_path):
    """SIGKILL a whole worker (nanny, worker, its proof) while it proves:
    its kernel is proven again on the other worker, and every kernel is
    reported exactly once.  Runs last: it leaves one worker."""
    import test_real_kernels as t

    out = tmp_path / "out"
    env = dict(os.environ, SYSRET_VERIFY_CACHE=str(tmp_path / "c"))
    env.pop("SYSRET_VERIFY_ENGINE", None)
    p = subprocess.Popen([sys.executable, "-m", "verify.cli", "batch", "--cluster", cluster.address,
                          "6.12.107+deb12-cloud-amd64", seeded61, "--no-cache", "-o", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    victim, deadline = None, time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and p.poll() is None:
        victim = _proving_worker(cluster, min_age=3.5)
        time.sleep(0.2)
    assert victim is not None, "no worker started a proof"
    import psutil

    gone = {victim.pid} | {k.pid for k in psutil.Process(victim.pid).children(recursive=True)}
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 1, (stdout, stderr)
    assert "Traceback" not in stderr
    lines = _progress(stderr)
    assert len(lines) == 2, stderr
    assert sum("6.12.107+deb12-cloud-amd64" in ln for ln in lines) == 1
    assert sum("vmlinux-nocanon" in ln for ln in lines) == 1
    s = json.loads((out / "summary.json").read_text())
    assert len(s["kernels"]) == 2 and all(k["error"] is None for k in s["kernels"])
    assert all(int(k["worker"].rsplit(":", 1)[1]) not in gone for k in s["kernels"])  # both from the survivor
    by = _load(out, s)
    _debian_statuses(by["6.12.107+deb12-cloud-amd64"], "6.12.107+deb12-cloud-amd64")
    st = t.statuses(by["vmlinux-nocanon"]["_result"])
    assert {k for k, v in st.items() if v == "violated"} == {("canonical-rip", "4-level"), ("canonical-rip", "la57")}
