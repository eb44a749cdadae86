"""Our FHIR validator against HL7 6.0.21 on INVALID input: random one-change mutants of valid resources (by hand).

    HL7_VALIDATOR_DIR=/path/to/refval .venv/bin/python benchmarks/mutation_agreement.py [--count 600] [--seed 1]

validator_agreement.py compares the two validators on the Nictiz fixtures, which are mostly valid, and
tests/test_fhir_validator_variants.py holds hand-made invalid variants; this benchmark looks for the rules neither
covers. What it does:
1. takes the originals: the straat's own 127 MP9 resources (fixtures/mp9/resources, ``${DATE, T, ...}`` expanded
   against T = 2025-01-01) and, with ``--nictiz K``, K JSON fixtures drawn (seeded) from ../shared/fixtures-nictiz
   (read at run time; nothing of them is written into the repository);
2. writes ``--count`` deterministic mutants (``--seed``) to a temporary folder, each one original with exactly ONE
   change from the catalogue in benchmarks/_mutate.py (delete, duplicate, repeat-item, json-type, bad-value,
   swap-coding, swap-code, choice-rename, extension-url, reference-target, unknown-element, empty, profile-swap,
   reorder), recording the original, the kind, the path and a description; the originals are validated too, so
   that a mutant is only judged when its original passes in both validators;
3. runs the HL7 validator once over the mutant and original folders (config B of hl7-validator-offline.md, see
   _hl7.ARGS) and caches its per-file verdicts with each file's sha256 in
   benchmarks/.cache/mutation-hl7-s<seed>-n<count>[-z<K>].json (``--reuse-hl7`` reads it instead of running Java;
   it stops when the mutants no longer match the cache), then ours, ``python -m validatiestraat validate --format
   json --hl7-offline``, over the same folders;
4. prints per mutation kind: mutants, both fail, both pass, MISSES (HL7 fail, ours pass), FALSE FAILURES (HL7
   pass, ours fail) and agreement %, then every disagreement with its mutation and both first errors (location and
   message). ``--json OUT`` writes all of it machine-readable; ``--keep DIR`` keeps the mutant files there.

Exit status: 0 after a report (disagreements are findings, not failures), 2 when something needed is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import _hl7
import _mutate

from validatiestraat.fhir.tdates import expand

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "fixtures" / "mp9" / "resources"
FIXTURES = ROOT.parent / "shared" / "fixtures-nictiz"
SHARED_PACKAGES = ROOT.parent / "shared" / "fhir-packages"
CACHE_DIR = ROOT / "benchmarks" / ".cache"
T = date(2025, 1, 1)
MP9 = "Nictiz-testscripts/output/R4/MP9-3-0-0-beta"
NICTIZ_SETS = [
    f"{MP9}/MO/Test/_reference/fixtures",
    f"{MP9}/MO/Cert/_reference/fixtures",
    f"{MP9}/MedMij/Test/_reference-medmij/fixtures",
    f"{MP9}/MedMij/Cert/_reference-medmij/fixtures",
    "Nictiz-R4-zib2020/examples",
]
FAILING = ("error", "fatal")
CELLS = ["mutants", "both_fail", "both_pass", "misses", "false_failures"]
HEADERS = ["kind", "mutants", "both fail", "both pass", "MISSES", "FALSE FAILURES", "agree %"]


class Stop(Exception):
    """Something needed is missing: print the message and exit 2."""


# --- originals --------------------------------------------------------------------------------------------------


def own_originals() -> dict[str, dict[str, Any]]:
    files = sorted(RESOURCES.glob("*.json"))
    if not files:
        raise Stop(f"no originals in {RESOURCES}")
    return {f"mp9/{f.name}": json.loads(expand(f.read_text(encoding="utf-8"), T)) for f in files}


def nictiz_originals(fixtures: Path, k: int, seed: int) -> dict[str, dict[str, Any]]:
    """``k`` JSON fixtures drawn with ``seed`` from the five Nictiz sets, keyed ``nictiz/<set n>/<name>``."""
    pool: list[tuple[str, Path]] = []
    for n, leaf in enumerate(NICTIZ_SETS):
        folder = fixtures / leaf
        if not folder.is_dir():
            raise Stop(f"--nictiz: fixture folder missing: {folder}")
        pool += [(f"nictiz/{n}/{f.name}", f) for f in sorted(folder.glob("*.json"))]
    chosen = random.Random(seed).sample(pool, min(k, len(pool)))
    out: dict[str, dict[str, Any]] = {}
    for label, path in sorted(chosen):
        doc = json.loads(expand(path.read_text(encoding="utf-8"), T))
        if isinstance(doc, dict) and "resourceType" in doc:
            out[label] = doc
    return out


def profile_pool() -> dict[str, list[str]]:
    """{resourceType: the profiles on it (constraints and the base one)} from the MP9 chain of packages."""
    from validatiestraat.fhir.defaults import load_packages

    ps = load_packages([SHARED_PACKAGES] if SHARED_PACKAGES.is_dir() else None)  # the shared cache has zib2020 too
    by_type: dict[str, list[str]] = {}
    for url in ps.urls("StructureDefinition"):
        sd = ps.get(url) or {}
        if sd.get("kind") != "resource" or sd.get("abstract"):
            continue
        if sd.get("derivation") == "constraint" or url == f"http://hl7.org/fhir/StructureDefinition/{sd.get('type')}":
            by_type.setdefault(str(sd.get("type")), []).append(url)
    return {t: sorted(u) for t, u in sorted(by_type.items())}


def original_file(label: str) -> str:
    """File name of an original in the originals folder (unique, flat: HL7 reads folders one level deep)."""
    return "o-" + label.replace("/", "_")


# --- running the validators -------------------------------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_path(args: argparse.Namespace) -> Path:
    tail = f"-z{args.nictiz}" if args.nictiz else ""
    if args.kinds:
        tail += "-k" + hashlib.sha256(args.kinds.encode()).hexdigest()[:8]
    return CACHE_DIR / f"mutation-hl7-s{args.seed}-n{args.count}{tail}.json"


def run_hl7(args: argparse.Namespace, folders: list[Path], digests: dict[str, str]) -> dict[str, dict]:
    vdir = _hl7.validator_dir(args.hl7_dir)
    out = folders[0].parent / "hl7-output.json"
    log = CACHE_DIR / "mutation-hl7.log"
    print(f"running the HL7 validator over {len(digests)} files (log: {log.relative_to(ROOT)}) ...", flush=True)
    run = _hl7.run(vdir, folders, out, log)
    parsed = _hl7.parse_output(json.loads(out.read_text(encoding="utf-8")))
    files = {Path(name).name: _hl7.verdict(issues) for name, issues in parsed.items()}
    doc = {
        "validator": "HL7 FHIR validator 6.0.21",
        "args": [*_hl7.ARGS, "-output", "<file>"],
        "seed": args.seed,
        "count": args.count,
        "nictiz": args.nictiz,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(run.wall_seconds, 2),
        "digests": digests,
        "files": dict(sorted(files.items())),
    }
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = cache_path(args)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"HL7 ran {run.wall_seconds:.0f} s; verdicts cached in {path.relative_to(ROOT)}")
    return files


def load_hl7(args: argparse.Namespace, digests: dict[str, str]) -> dict[str, dict]:
    path = cache_path(args)
    if not path.is_file():
        raise Stop(f"--reuse-hl7: no cache at {path}; run once without --reuse-hl7 (needs HL7_VALIDATOR_DIR)")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("args", [])[: len(_hl7.ARGS)] != _hl7.ARGS:
        raise Stop(f"{path} was made with other HL7 arguments; run again without --reuse-hl7")
    stale = sorted(n for n, d in digests.items() if doc.get("digests", {}).get(n) != d)
    if stale:
        raise Stop(
            f"{path}: {len(stale)} files differ from the cached run (e.g. {stale[0]}; the catalogue or the "
            "originals changed); run again without --reuse-hl7"
        )
    print(f"HL7 verdicts from {path.relative_to(ROOT)} (run {doc.get('run_at')}, {doc.get('wall_seconds')} s)")
    return doc["files"]


def ours_argv(folders: list[Path]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "validatiestraat",
        "validate",
        "--format",
        "json",
        "--hl7-offline",
        *map(str, folders),
    ]


def check_ours_cli() -> None:
    proc = subprocess.run([*ours_argv([])[:4], "--help"], capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise Stop(
            f"our validator CLI is missing: `python -m validatiestraat validate --help` exited {proc.returncode}"
        )


def run_ours(folders: list[Path]) -> dict[str, dict]:
    print("running our validator (--hl7-offline) ...", flush=True)
    proc = subprocess.run(ours_argv(folders), capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode not in (0, 1):
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-30:])
        raise Stop(f"our validator exited {proc.returncode} (0 or 1 expected):\n{tail}")
    files: dict[str, dict] = {}
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        issues = [
            {
                "severity": i.get("severity", ""),
                "location": i.get("location") or "",
                "message": i.get("message") or "",
                "rule": i.get("rule"),
            }
            for i in rec.get("issues", [])
        ]
        errors = sum(1 for i in issues if i["severity"] in FAILING)
        files[Path(rec["file"]).name] = {"pass": errors == 0, "errors": errors, "issues": issues}
    return files


# --- report -----------------------------------------------------------------------------------------------------


def first_error(result: dict | None) -> str:
    if result is None:
        return "(no result)"
    for i in result["issues"]:
        if i["severity"] in FAILING:
            rule = f" [{i['rule']}]" if i.get("rule") else ""
            text = f"{i['location'] or '-'}: {i['message']}{rule}"
            return text if len(text) <= 300 else text[:299] + "…"
    return "(no error)"


def cell(h: dict | None, o: dict | None) -> str | None:
    if h is None or o is None:
        return None
    if h["pass"] == o["pass"]:
        return "both_pass" if h["pass"] else "both_fail"
    return "false_failures" if h["pass"] else "misses"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def compare(mutants: list[_mutate.Mutant], hl7: dict[str, dict], ours: dict[str, dict], clean: set[str]) -> dict:
    """Per-kind counts over the mutants whose original is clean in both validators, and the disagreements."""
    counts: dict[str, Counter] = {}
    disagreements: list[dict] = []
    skipped: Counter = Counter()
    for m in mutants:
        if m.original not in clean:
            skipped["original not clean in both"] += 1
            continue
        h, o = hl7.get(m.name), ours.get(m.name)
        c = cell(h, o)
        if c is None:
            skipped["no result from " + ("HL7" if h is None else "ours")] += 1
            continue
        k = counts.setdefault(m.mutation.kind, Counter())
        k["mutants"] += 1
        k[c] += 1
        if c in ("misses", "false_failures"):
            disagreements.append(
                {
                    "mutant": m.name,
                    "kind": m.mutation.kind,
                    "cell": c,
                    "original": m.original,
                    "path": m.mutation.path,
                    "description": m.mutation.description,
                    "hl7_first_error": first_error(h),
                    "ours_first_error": first_error(o),
                }
            )
    rows = [{"kind": k, **{c: counts[k][c] for c in CELLS}} for k in sorted(counts)]
    total = Counter()
    for k in counts.values():
        total.update(k)
    rows.append({"kind": "total", **{c: total[c] for c in CELLS}})
    for r in rows:
        r["agreement_pct"] = round(100.0 * (r["both_fail"] + r["both_pass"]) / r["mutants"], 1) if r["mutants"] else 0
    order = {"misses": 0, "false_failures": 1}
    disagreements.sort(key=lambda d: (order[d["cell"]], d["kind"], d["mutant"]))
    return {"rows": rows, "disagreements": disagreements, "skipped": dict(skipped)}


def print_report(result: dict) -> None:
    rows = [HEADERS] + [[r["kind"], *(str(r[c]) for c in CELLS), f"{r['agreement_pct']:.1f}"] for r in result["rows"]]
    print(table(rows))
    for why, n in result["skipped"].items():
        print(f"not judged: {n} mutants ({why})")
    dis = result["disagreements"]
    for which, title in (
        ("misses", "MISSES (HL7 fail, ours pass)"),
        ("false_failures", "FALSE FAILURES (HL7 pass, ours fail)"),
    ):
        group = [d for d in dis if d["cell"] == which]
        print(f"\n{len(group)} {title}:")
        for d in group:
            print(f"- {d['mutant']}  [{d['original']}]  {d['path']}")
            print(f"    mutation: {d['description']}")
            print(f"    HL7:  {d['hl7_first_error']}")
            print(f"    ours: {d['ours_first_error']}")


def originals_report(originals: dict[str, dict], hl7: dict[str, dict], ours: dict[str, dict]) -> tuple[set, list]:
    clean: set[str] = set()
    unclean: list[dict] = []
    for label in originals:
        f = original_file(label)
        h, o = hl7.get(f), ours.get(f)
        if h and o and h["pass"] and o["pass"]:
            clean.add(label)
        else:
            unclean.append(
                {
                    "original": label,
                    "hl7": "missing" if h is None else "pass" if h["pass"] else "FAIL",
                    "ours": "missing" if o is None else "pass" if o["pass"] else "FAIL",
                    "hl7_first_error": first_error(h),
                    "ours_first_error": first_error(o),
                }
            )
    return clean, unclean


# --- main -------------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=600, help="how many mutants (default 600)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--nictiz", type=int, default=0, metavar="K", help="also mutate K sampled Nictiz fixtures")
    ap.add_argument("--fixtures", type=Path, default=FIXTURES, help="the fixtures-nictiz folder (for --nictiz)")
    ap.add_argument("--kinds", help="comma-separated mutation kinds (default: all: " + ",".join(_mutate.KINDS) + ")")
    ap.add_argument("--hl7-dir", help="the prepared HL7 validator directory (default: $HL7_VALIDATOR_DIR)")
    ap.add_argument("--reuse-hl7", action="store_true", help="read the HL7 verdicts from benchmarks/.cache")
    ap.add_argument("--keep", type=Path, help="write the mutants to this folder (kept) instead of a temporary one")
    ap.add_argument("--json", type=Path, dest="json_out", help="also write everything to this JSON file")
    ap.add_argument(
        "--export-verdicts",
        type=Path,
        metavar="FILE",
        help="write HL7's verdict per mutant (with its sha256) for tests/test_fhir_validator_mutants.py; only for "
        "the project's own originals (no --nictiz: nothing of the Nictiz fixtures may go into the repository)",
    )
    args = ap.parse_args()
    if args.export_verdicts and args.nictiz:
        raise Stop("--export-verdicts is only for the project's own resources (drop --nictiz)")
    kinds = args.kinds.split(",") if args.kinds else None
    if kinds and (bad := [k for k in kinds if k not in _mutate.KINDS]):
        raise Stop(f"unknown mutation kinds: {', '.join(bad)}")

    check_ours_cli()
    originals = own_originals()
    if args.nictiz:
        originals |= nictiz_originals(args.fixtures.resolve(), args.nictiz, args.seed)
    pools = _mutate.Pools()
    for label in sorted(originals):
        pools.learn(originals[label])
    pools.add_profiles(profile_pool())
    mutants = list(_mutate.generate(originals, args.count, args.seed, pools, kinds))
    print(
        f"{len(originals)} originals, {len(mutants)} mutants (seed {args.seed}): "
        + ", ".join(f"{k} {n}" for k, n in sorted(Counter(m.mutation.kind for m in mutants).items()))
    )

    with tempfile.TemporaryDirectory(prefix="mutation-agreement-") as tmp:
        base = args.keep.resolve() if args.keep else Path(tmp)
        mdir, odir = base / "mutants", base / "originals"
        for d in (mdir, odir):
            d.mkdir(parents=True, exist_ok=True)
            for old in d.glob("*.json"):
                old.unlink()
        for m in mutants:
            (mdir / m.name).write_text(m.text, encoding="utf-8")
        for label, doc in originals.items():
            (odir / original_file(label)).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", "utf-8")
        folders = [mdir, odir]
        digests = {p.name: sha(p) for d in folders for p in sorted(d.glob("*.json"))}
        hl7 = load_hl7(args, digests) if args.reuse_hl7 else run_hl7(args, folders, digests)
        ours = run_ours(folders)

    clean, unclean = originals_report(originals, hl7, ours)
    if args.export_verdicts:
        export = {
            "about": "HL7 validator 6.0.21 (config B, -tx n/a) on mutants of fixtures/mp9, made by "
            "benchmarks/mutation_agreement.py with this seed and count",
            "seed": args.seed,
            "count": args.count,
            "t_date": T.isoformat(),
            "originals": {label: cell_word(hl7.get(original_file(label))) for label in sorted(originals)},
            "mutants": {
                m.name: {
                    "sha256": hashlib.sha256(m.text.encode("utf-8")).hexdigest(),
                    "kind": m.mutation.kind,
                    "path": m.mutation.path,
                    "hl7": cell_word(hl7.get(m.name)),
                }
                for m in mutants
            },
        }
        args.export_verdicts.write_text(json.dumps(export, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        print(f"written: {args.export_verdicts}")
    print(f"\noriginals clean in both validators: {len(clean)} of {len(originals)}")
    for u in unclean:
        print(f"- {u['original']}: HL7 {u['hl7']}, ours {u['ours']}")
        print(f"    HL7:  {u['hl7_first_error']}\n    ours: {u['ours_first_error']}")
    print()
    result = compare(mutants, hl7, ours, clean)
    print_report(result)
    if args.json_out:
        report = {
            "seed": args.seed,
            "count": args.count,
            "nictiz": args.nictiz,
            "t_date": T.isoformat(),
            "originals": len(originals),
            "unclean_originals": unclean,
            "mutants": [
                {
                    "mutant": m.name,
                    "original": m.original,
                    "kind": m.mutation.kind,
                    "path": m.mutation.path,
                    "description": m.mutation.description,
                    "hl7": cell_word(hl7.get(m.name)),
                    "ours": cell_word(ours.get(m.name)),
                }
                for m in mutants
            ],
            **result,
        }
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.json_out}")
    return 0


def cell_word(result: dict | None) -> str:
    return "missing" if result is None else "pass" if result["pass"] else "fail"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Stop, _hl7.SetupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
