"""Our FHIR profile validator against the official HL7 validator on the 2230 Nictiz fixtures (run by hand).

    HL7_VALIDATOR_DIR=/path/to/refval .venv/bin/python benchmarks/validator_agreement.py [options]

HL7_VALIDATOR_DIR is an offline HL7 validator 6.0.21 prepared as in ../shared/docs/hl7-validator-offline.md
(``lib/*.jar`` plus ``home/.fhir/packages``); it is not needed with ``--reuse-hl7``.

What it does:
1. takes the fixtures of ../shared/fixtures-nictiz: every *.json/*.xml in its five leaf folders (MP9 MO/Test,
   MO/Cert, MedMij/Test, MedMij/Cert and the zib2020 examples; 2230 files), and writes a temporary copy with the
   ``${DATE, T, ...}`` placeholders expanded against T = 2025-01-01 (the originals are read, never changed);
2. runs the HL7 validator once over the five copied folders (``-version 4.0.1 -tx n/a -ig
   nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7 -display-issues-are-warnings``), wall time including JVM
   start, and caches the parsed per-file issues (keyed by the path relative to fixtures-nictiz), the wall and CPU
   time and the load average in benchmarks/.cache/hl7-verdicts.json (``--reuse-hl7`` reads that cache instead of
   running Java, about 1.5 to 5 minutes; its log goes to benchmarks/.cache/hl7-validator.log);
3. runs our validator end to end in a fresh process over the same copies,
   ``python -m validatiestraat validate --format json --hl7-offline <folders>`` (one JSON line per file with ``file``,
   ``errors``, ``warnings``, ``issues``), and the same command on one file from a cold start, median of 5;
   ``--ours-jsonl FILE`` reads such JSON lines from a file instead (no timing then);
4. prints the agreement table (fixture set × both pass / both fail / HL7 pass, ours fail / HL7 fail, ours pass /
   agreement %), the total agreement, every disagreement with both verdicts and both first errors (location and
   message), then the speed lines (HL7 wall, ours wall, ratio, cold single-file time) against the targets of
   issue 5 (≥ 99 % agreement, ≥ 10x faster, < 1 s cold). ``--json OUT`` writes all of it machine-readable;
5. runs our default (certification) mode once more and lists the files it passes that ``--hl7-offline`` fails:
   codes that cannot be checked without a terminology server, which are warnings there (see fhir/bindings.py).

Wall times depend on what else the machine is doing (the HL7 run took 180 s at load 1 and 325 s at load 5 on the
same 2 cores); for the speed target, run both validators in one invocation (no ``--reuse-hl7``) on an idle machine.
The CPU times are printed as a cross-check.

A file's verdict is pass when it has no issue of severity error or fatal. ``--hl7-only`` skips our validator and
prints the HL7 verdicts per set and the most common first errors of the failing files instead.
Exit status: 0 after a report, 2 when something needed is missing (validator, java, our CLI, fixtures).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import _hl7

from validatiestraat.fhir.tdates import expand

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures-nictiz"
CACHE_DIR = ROOT / "benchmarks" / ".cache"
HL7_CACHE = CACHE_DIR / "hl7-verdicts.json"
T = date(2025, 1, 1)
EXPECTED_FILES = 2230
MP9 = "Nictiz-testscripts/output/R4/MP9-3-0-0-beta"
# the fixture sets of hl7-validator-offline.md §4, each one leaf folder (the HL7 validator reads folders one level deep)
SETS = {
    "MO/Test": f"{MP9}/MO/Test/_reference/fixtures",
    "MO/Cert": f"{MP9}/MO/Cert/_reference/fixtures",
    "MedMij/Test": f"{MP9}/MedMij/Test/_reference-medmij/fixtures",
    "MedMij/Cert": f"{MP9}/MedMij/Cert/_reference-medmij/fixtures",
    "zib2020 examples": "Nictiz-R4-zib2020/examples",
}
FAILING = ("error", "fatal")
COLD_RUNS = 5
TARGET_AGREEMENT, TARGET_RATIO, TARGET_COLD = 99.0, 10.0, 1.0


class Stop(Exception):
    """A setup problem: print the message and exit 2."""


# --- fixtures -------------------------------------------------------------------------------------------------


def collect(fixtures: Path) -> dict[str, list[str]]:
    """{set name: sorted fixture paths relative to ``fixtures``}, *.json and *.xml of each leaf folder."""
    found: dict[str, list[str]] = {}
    for name, leaf in SETS.items():
        folder = fixtures / leaf
        if not folder.is_dir():
            raise Stop(f"fixture folder missing: {folder}")
        found[name] = sorted(
            f.relative_to(fixtures).as_posix()
            for f in folder.iterdir()
            if f.is_file() and f.suffix in (".json", ".xml")
        )
    return found


def expand_copy(fixtures: Path, rels: list[str], dest: Path) -> int:
    """Copy ``rels`` under ``dest`` with the date placeholders expanded against T; how many files changed."""
    changed = 0
    for rel in rels:
        text = (fixtures / rel).read_text(encoding="utf-8")
        out = expand(text, T)
        changed += out != text
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(out, encoding="utf-8")
    return changed


def keyer(keys: list[str], roots: list[Path]):
    """A function mapping a file name as a validator reports it to its fixture key (relative path), or None."""
    known = set(keys)
    by_name: dict[str, list[str]] = {}
    for k in keys:
        by_name.setdefault(k.rsplit("/", 1)[-1], []).append(k)

    def key(name: str) -> str | None:
        p = Path(name)
        candidates = [p] if p.is_absolute() else [p, ROOT / p]
        for c in candidates:
            for root in roots:
                with contextlib.suppress(ValueError):
                    rel = c.resolve().relative_to(root.resolve()).as_posix()
                    if rel in known:
                        return rel
        if p.as_posix() in known:
            return p.as_posix()
        # last resort: the longest known key the name ends with
        hits = [k for k in by_name.get(p.name, []) if p.as_posix().endswith(k)]
        return max(hits, key=len) if hits else None

    return key


# --- HL7 ------------------------------------------------------------------------------------------------------


def run_hl7(args: argparse.Namespace, work: Path, keys: list[str]) -> dict:
    """Run the HL7 validator over the expanded copies, parse, cache; the cache document."""
    vdir = _hl7.validator_dir(args.hl7_dir)
    out = work / "hl7-output.json"
    log = CACHE_DIR / "hl7-validator.log"
    folders = [work / "fixtures" / leaf for leaf in SETS.values()]
    print(f"running the HL7 validator over {len(keys)} files (log: {log.relative_to(ROOT)}) ...", flush=True)
    load = round(os.getloadavg()[0], 2)
    run = _hl7.run(vdir, folders, out, log)
    parsed = _hl7.parse_output(json.loads(out.read_text(encoding="utf-8")))
    key = keyer(keys, [work / "fixtures"])
    files: dict[str, dict] = {}
    unknown = []
    for name, issues in parsed.items():
        k = key(name)
        if k is None:
            unknown.append(name)
        else:
            files[k] = _hl7.verdict(issues)
    if unknown:
        print(f"warning: {len(unknown)} HL7 results for unknown files, e.g. {unknown[0]}", file=sys.stderr)
    doc = {
        "validator": "HL7 FHIR validator 6.0.21 (org.hl7.fhir.validation.ValidatorCli)",
        "args": [*_hl7.ARGS, "-output", "<file>"],
        "t_date": T.isoformat(),
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(run.wall_seconds, 2),
        "cpu_seconds": round(run.cpu_seconds, 2),
        "validator_times": run.times,
        "load_average_before": load,
        "exit_code": run.returncode,
        "file_count": len(files),
        "files": dict(sorted(files.items())),
    }
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    HL7_CACHE.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"HL7 verdicts cached in {HL7_CACHE.relative_to(ROOT)}")
    return doc


def load_hl7_cache() -> dict:
    if not HL7_CACHE.is_file():
        raise Stop(f"--reuse-hl7: no cache at {HL7_CACHE}; run once without --reuse-hl7 (needs HL7_VALIDATOR_DIR)")
    doc = json.loads(HL7_CACHE.read_text(encoding="utf-8"))
    if doc.get("t_date") != T.isoformat() or doc.get("args", [])[: len(_hl7.ARGS)] != _hl7.ARGS:
        raise Stop(f"{HL7_CACHE} was made with other settings ({doc.get('t_date')}, {doc.get('args')}); re-run HL7")
    return doc


# --- ours -----------------------------------------------------------------------------------------------------


def ours_argv(inputs: list[Path], hl7_offline: bool = True) -> list[str]:
    """Our CLI; ``--hl7-offline`` judges codes that need a terminology server as HL7 does with ``-tx n/a``."""
    mode = ["--hl7-offline"] if hl7_offline else []
    return [sys.executable, "-m", "validatiestraat", "validate", "--format", "json", *mode, *map(str, inputs)]


def certification_mode(work: Path, keys: list[str], hl7_mode: dict[str, dict]) -> dict:
    """Our default mode (codes that cannot be checked offline are warnings) against the ``--hl7-offline`` run: the
    files it passes that HL7's offline verdict fails, with the rules that made the difference."""
    folders = [work / "fixtures" / leaf for leaf in SETS.values()]
    proc = subprocess.run(ours_argv(folders, hl7_offline=False), capture_output=True, text=True, cwd=ROOT, check=False)
    default, _ = parse_ours(proc.stdout.splitlines(), keys, [work / "fixtures"])
    flipped = sorted(k for k, v in default.items() if v["pass"] and k in hl7_mode and not hl7_mode[k]["pass"])
    other = sorted(k for k, v in default.items() if not v["pass"] and k in hl7_mode and hl7_mode[k]["pass"])
    why: dict[str, int] = {}
    for k in flipped:
        for rule in {i["rule"] for i in hl7_mode[k]["issues"] if i["severity"] in FAILING}:
            why[rule] = why.get(rule, 0) + 1
    print(
        f"\ncertification mode (default, no --hl7-offline): {len(flipped)} files that fail with --hl7-offline pass, "
        f"because a code could not be checked without a terminology server (rules: {why or 'none'}); "
        f"{len(other)} files fail only in the default mode"
    )
    for k in flipped[:10]:
        first = next(i for i in hl7_mode[k]["issues"] if i["severity"] in FAILING)
        print(f"  - {k}\n      {first['location']}: {first['message'][:200]}")
    return {"passes_only_in_default_mode": flipped, "fails_only_in_default_mode": other, "rules": why}


def check_ours_cli() -> None:
    """Stop with a clear message when ``validatiestraat validate`` does not exist (yet)."""
    proc = subprocess.run([*ours_argv([])[:4], "--help"], capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        said = [ln.strip("│╭╮╰╯─ ") for ln in (proc.stderr or proc.stdout).splitlines()]
        said = [ln for ln in said if ln and ln != "Error"]
        raise Stop(
            f"our validator CLI is missing: `python -m validatiestraat validate --help` exited {proc.returncode}"
            f" ({said[-1] if said else 'no output'}). Use --ours-jsonl FILE or --hl7-only until it exists."
        )


def parse_ours(lines: list[str], keys: list[str], roots: list[Path]) -> tuple[dict[str, dict], list[str]]:
    """Our JSON lines as {fixture key: {pass, errors, warnings, issues}}, plus the file names not recognised."""
    key = keyer(keys, roots)
    files: dict[str, dict] = {}
    unknown: list[str] = []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        if "file" not in rec:
            continue
        k = key(str(rec["file"]))
        if k is None:
            unknown.append(str(rec["file"]))
            continue
        issues = [
            {
                "severity": i.get("severity", ""),
                "location": i.get("location") or "",
                "message": i.get("message") or "",
                "rule": i.get("rule"),
            }
            for i in rec.get("issues", [])
        ]
        errors = int(rec.get("errors", sum(1 for i in issues if i["severity"] in FAILING)))
        files[k] = {"pass": errors == 0, "errors": errors, "warnings": int(rec.get("warnings", 0)), "issues": issues}
    return files, unknown


def run_ours(work: Path, keys: list[str], cold_file: str) -> tuple[dict[str, dict], list[str], dict]:
    """Our CLI over the expanded folders (one fresh process) and the cold single-file runs."""
    folders = [work / "fixtures" / leaf for leaf in SETS.values()]
    print(f"running our validator over {len(keys)} files ...", flush=True)
    load = round(os.getloadavg()[0], 2)
    cpu, start = _hl7.children_cpu(), time.perf_counter()
    proc = subprocess.run(ours_argv(folders), capture_output=True, text=True, cwd=ROOT, check=False)
    wall, cpu = time.perf_counter() - start, _hl7.children_cpu() - cpu
    if proc.returncode not in (0, 1):
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-30:])
        raise Stop(f"our validator exited {proc.returncode} (0 or 1 expected):\n{tail}")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    (CACHE_DIR / "ours.jsonl").write_text(proc.stdout, encoding="utf-8")
    files, unknown = parse_ours(proc.stdout.splitlines(), keys, [work / "fixtures"])
    one = work / "fixtures" / cold_file
    colds = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        p = subprocess.run(ours_argv([one]), capture_output=True, text=True, cwd=ROOT, check=False)
        colds.append(time.perf_counter() - start)
        if p.returncode not in (0, 1):
            raise Stop(f"our validator exited {p.returncode} on {cold_file}:\n{p.stderr[-2000:]}")
    timing = {"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "load_average_before": load}
    timing |= {"cold_file": cold_file, "cold_runs": [round(c, 3) for c in colds]}
    timing["cold_median_seconds"] = round(statistics.median(colds), 3)
    return files, unknown, timing


# --- report ---------------------------------------------------------------------------------------------------


def first_error(result: dict | None) -> str:
    if result is None:
        return "(no result)"
    for i in result["issues"]:
        if i["severity"] in FAILING:
            text = f"{i['location'] or '-'}: {i['message']}"
            return text if len(text) <= 400 else text[:399] + "…"
    return "(no error)"


def verdict_word(result: dict | None) -> str:
    return "missing" if result is None else "pass" if result["pass"] else "FAIL"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append(
            "  ".join(
                cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def agreement(sets: dict[str, list[str]], hl7: dict[str, dict], ours: dict[str, dict]) -> dict:
    rows = []
    disagreements = []
    total = Counter()
    for name, rels in sets.items():
        c = Counter()
        for rel in rels:
            h, o = hl7.get(rel), ours.get(rel)
            if h is None or o is None:
                c["missing"] += 1
                cell = None
            elif h["pass"] and o["pass"]:
                cell = "both_pass"
            elif not h["pass"] and not o["pass"]:
                cell = "both_fail"
            elif h["pass"]:
                cell = "hl7_pass_ours_fail"
            else:
                cell = "hl7_fail_ours_pass"
            if cell:
                c[cell] += 1
            if cell not in ("both_pass", "both_fail"):
                disagreements.append(
                    {
                        "set": name,
                        "file": rel,
                        "hl7": verdict_word(h),
                        "ours": verdict_word(o),
                        "hl7_first_error": first_error(h),
                        "ours_first_error": first_error(o),
                    }
                )
        c["files"] = len(rels)
        total.update(c)
        rows.append({"set": name, **{k: c[k] for k in COLUMNS}})
    rows.append({"set": "total", **{k: total[k] for k in COLUMNS}})
    for r in rows:
        r["agreement_pct"] = round(100.0 * (r["both_pass"] + r["both_fail"]) / r["files"], 2) if r["files"] else 0.0
    return {"rows": rows, "disagreements": disagreements}


COLUMNS = ["files", "both_pass", "both_fail", "hl7_pass_ours_fail", "hl7_fail_ours_pass", "missing"]
HEADERS = ["set", "files", "both pass", "both fail", "HL7 pass/ours fail", "HL7 fail/ours pass", "missing", "agree %"]


def print_agreement(result: dict) -> None:
    rows = [HEADERS] + [[r["set"], *(str(r[k]) for k in COLUMNS), f"{r['agreement_pct']:.2f}"] for r in result["rows"]]
    print(table(rows))
    total = result["rows"][-1]
    ok = total["agreement_pct"] >= TARGET_AGREEMENT
    met = "met" if ok else "NOT met"
    print(f"\ntotal agreement: {total['agreement_pct']:.2f} % (target ≥ {TARGET_AGREEMENT:g} %: {met})")
    if result["disagreements"]:
        print(f"\n{len(result['disagreements'])} disagreements:")
    for d in result["disagreements"]:
        print(f"- {d['file']}")
        print(f"    HL7 {d['hl7']}: {d['hl7_first_error']}")
        print(f"    ours {d['ours']}: {d['ours_first_error']}")


def hl7_speed_line(hl7_doc: dict) -> str:
    own = hl7_doc.get("validator_times") or {}
    extra = [f"CPU {hl7_doc['cpu_seconds']:.0f} s"] if "cpu_seconds" in hl7_doc else []
    if own:
        extra.append(f"its own times: loading {own['loading']:.1f} s, validation {own['validation']:.1f} s")
    if "load_average_before" in hl7_doc:
        extra.append(f"load average before {hl7_doc['load_average_before']}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    return f"HL7 validator wall time (all files, one JVM, start-up included): {hl7_doc['wall_seconds']:.1f} s{tail}"


def print_speed(hl7_doc: dict, ours_timing: dict | None) -> dict:
    hl7_wall = hl7_doc["wall_seconds"]
    speed = {"hl7_wall_seconds": hl7_wall, "hl7_cpu_seconds": hl7_doc.get("cpu_seconds")}
    print("\n" + hl7_speed_line(hl7_doc))
    if not ours_timing:
        print("ours: not timed (--ours-jsonl)")
        return speed
    ours_wall = ours_timing["wall_seconds"]
    ratio = hl7_wall / ours_wall if ours_wall else float("inf")
    cold = ours_timing["cold_median_seconds"]
    speed.update(ours_timing, ratio=round(ratio, 2))
    print(
        f"ours wall time (all files, fresh process, start-up included): {ours_wall:.2f} s "
        f"(CPU {ours_timing['cpu_seconds']:.1f} s; load average before {ours_timing['load_average_before']})"
    )
    print(f"ratio HL7/ours: {ratio:.1f}x (target ≥ {TARGET_RATIO:g}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    print(
        f"ours cold single file ({ours_timing['cold_file']}), median of {COLD_RUNS}: {cold:.3f} s "
        f"(target < {TARGET_COLD:g} s: {'met' if cold < TARGET_COLD else 'NOT met'})"
    )
    if hl7_doc.get("run_at") and "load_average_before" in hl7_doc:
        print("(the two wall times are only comparable when measured on an equally idle machine; see the load)")
    return speed


def print_hl7_summary(sets: dict[str, list[str]], hl7: dict[str, dict], top: int) -> dict:
    rows = [["set", "files", "HL7 pass", "HL7 fail", "missing"]]
    tot = Counter()
    for name, rels in sets.items():
        c = Counter("missing" if hl7.get(r) is None else "pass" if hl7[r]["pass"] else "fail" for r in rels)
        c["files"] = len(rels)
        tot.update(c)
        rows.append([name, *(str(c[k]) for k in ("files", "pass", "fail", "missing"))])
    rows.append(["total", *(str(tot[k]) for k in ("files", "pass", "fail", "missing"))])
    print(table(rows))
    firsts = Counter()
    for rels in sets.values():
        for r in rels:
            if hl7.get(r) and not hl7[r]["pass"]:
                err = next(i for i in hl7[r]["issues"] if i["severity"] in FAILING)
                firsts[err["message"]] += 1
    print(f"\n{top} most common first errors of the {tot['fail']} failing files:")
    for msg, n in firsts.most_common(top):
        print(f"{n:5d}  {msg if len(msg) <= 300 else msg[:299] + '…'}")
    return {"pass": tot["pass"], "fail": tot["fail"], "missing": tot["missing"], "first_errors": firsts.most_common()}


# --- main -----------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixtures", type=Path, default=FIXTURES, help="the fixtures-nictiz folder")
    ap.add_argument("--hl7-dir", help="the prepared HL7 validator directory (default: $HL7_VALIDATOR_DIR)")
    ap.add_argument("--reuse-hl7", action="store_true", help=f"read the HL7 verdicts from {HL7_CACHE.name}")
    ap.add_argument("--hl7-only", action="store_true", help="skip our validator; print the HL7 verdicts")
    ap.add_argument("--ours-jsonl", type=Path, help="read our results (CLI JSON lines) from a file, no timing")
    ap.add_argument("--cold-file", help="fixture (relative path) for the cold single-file timing")
    ap.add_argument("--top", type=int, default=15, help="--hl7-only: how many first-error messages to list")
    ap.add_argument("--json", type=Path, dest="json_out", help="also write everything to this JSON file")
    args = ap.parse_args()

    if not args.hl7_only and not args.ours_jsonl:
        check_ours_cli()  # before the slow HL7 run
    fixtures = args.fixtures.resolve()
    sets = collect(fixtures)
    keys = [r for rels in sets.values() for r in rels]
    counts = ", ".join(f"{n} {len(r)}" for n, r in sets.items())
    print(f"fixtures: {len(keys)} files in {fixtures} ({counts})")
    if len(keys) != EXPECTED_FILES:
        print(f"warning: expected {EXPECTED_FILES} fixture files, found {len(keys)}", file=sys.stderr)
    cold_file = args.cold_file or next(r for r in sets["MO/Test"] if r.endswith(".json"))

    with tempfile.TemporaryDirectory(prefix="validator-agreement-") as tmp:
        work = Path(tmp)
        changed = expand_copy(fixtures, keys, work / "fixtures")
        print(f"date placeholders expanded against T = {T} in {changed} files (temporary copy)")

        if args.reuse_hl7:
            hl7_doc = load_hl7_cache()
            print(f"HL7 verdicts from {HL7_CACHE.relative_to(ROOT)} (run {hl7_doc.get('run_at')})")
        else:
            hl7_doc = run_hl7(args, work, keys)
        hl7 = hl7_doc["files"]
        missing = [k for k in keys if k not in hl7]
        if missing:
            print(f"warning: no HL7 result for {len(missing)} files, e.g. {missing[0]}", file=sys.stderr)

        report: dict = {"t_date": T.isoformat(), "fixtures": len(keys), "hl7_wall_seconds": hl7_doc["wall_seconds"]}
        if args.hl7_only:
            print()
            report["hl7"] = print_hl7_summary(sets, hl7, args.top)
            print("\n" + hl7_speed_line(hl7_doc))
        else:
            if args.ours_jsonl:
                lines = args.ours_jsonl.read_text(encoding="utf-8").splitlines()
                ours, unknown = parse_ours(lines, keys, [work / "fixtures", fixtures])
                timing = None
            else:
                ours, unknown, timing = run_ours(work, keys, cold_file)
            if unknown:
                print(f"warning: {len(unknown)} of our results name unknown files, e.g. {unknown[0]}", file=sys.stderr)
            print()
            result = agreement(sets, hl7, ours)
            print_agreement(result)
            report.update(result, speed=print_speed(hl7_doc, timing))
            if not args.ours_jsonl:
                report["certification_mode"] = certification_mode(work, keys, ours)

    if args.json_out:
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.json_out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Stop, _hl7.SetupError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
