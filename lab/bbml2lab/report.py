"""Result files: results.json, junit.xml, summary.md, and the counts line.

A result is {"name", "result": pass|fail|skip|error, "detail", "suite", "job"}.
"""
import re
import xml.etree.ElementTree as ET

from . import linmap

RESULTS = ("pass", "fail", "skip", "error")
# Characters XML 1.0 cannot carry (console garbage must not break junit.xml).
XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def counts(results):
    """{"pass": n, "fail": n, "skip": n, "error": n}."""
    c = dict.fromkeys(RESULTS, 0)
    for r in results:
        c[r["result"]] += 1
    return c


def summary_line(results):
    """`N passed, N failed, N skipped` (errors count as failed and are named;
    infrastructure errors, r["infra"], are no test failures and named apart)."""
    c = counts(results)
    infra = sum(1 for r in results if r.get("infra"))
    errors = c["error"] - infra
    line = f"{c['pass']} passed, {c['fail'] + errors} failed, {c['skip']} skipped"
    line += f" ({errors} errors)" if errors else ""
    return line + (f" ({infra} infrastructure error{'s' if infra > 1 else ''})" if infra else "")


def verdict(results, status="complete"):
    """Job verdict: error if the job errored, fail if anything failed, else pass."""
    c = counts(results)
    if status == "error" or c["error"]:
        return "error"
    return "fail" if c["fail"] else "pass"


def _x(text):
    return XML_BAD.sub("?", str(text))


def _testsuite(parent, name, results, wall=None):
    c = counts(results)
    attrs = {"name": _x(name), "tests": str(len(results)), "failures": str(c["fail"]),
             "errors": str(c["error"]), "skipped": str(c["skip"])}
    if wall is not None:
        attrs["time"] = f"{wall:.3f}"
    ts = ET.SubElement(parent, "testsuite", attrs)
    for r in results:
        tc = ET.SubElement(ts, "testcase", {"classname": _x(f"{name}.{r.get('suite') or ''}".rstrip(".")),
                                            "name": _x(r["name"])})
        detail = _x(r.get("detail") or "")
        first = detail.splitlines()[0] if detail else ""
        if r["result"] in ("fail", "error", "skip"):
            tag = {"fail": "failure", "error": "error", "skip": "skipped"}[r["result"]]
            el = ET.SubElement(tc, tag, {"message": first[:500]})
            el.text = detail or None
        elif detail:
            ET.SubElement(tc, "system-out").text = detail
    return ts


def junit(jobs):
    """JUnit XML text; jobs is [(job name, results, wall seconds or None)]."""
    root = ET.Element("testsuites")
    for name, results, wall in jobs:
        _testsuite(root, name, results, wall)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_md(run_id, jobs, results):
    """Human summary; jobs is the list of per-job summary dicts of the run."""
    lines = [f"# bbml2-lab run {run_id}", "",
             "| job | verdict | passed | failed | skipped | wall (s) | LAVA | board | mode | "
             "linear map | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for j in jobs:
        c = j["counts"]
        wall = f"{j['wall_s']:.1f}" if j.get("wall_s") is not None else "-"
        lm = linmap.summary(j["linear_map"]) if j.get("linear_map") else "-"
        lines.append(f"| {_cell(j['name'])} | **{j['verdict']}** | {c['pass']} | "
                     f"{c['fail'] + c['error']} | {c['skip']} | {wall} | "
                     f"{_cell(j.get('lava_verdict') or '-')} | {_cell(j.get('board') or '-')} | "
                     f"{_cell(j.get('mode') or '-')} | {_cell(lm)} | {_cell(j.get('error') or '')} |")
    bad = [r for r in results if r["result"] in ("fail", "error")]
    if bad:
        lines += ["", "## Failures", ""]
        for r in bad:
            first = (r.get("detail") or "").strip().splitlines()
            lines.append(f"- `{r['job']}`: `{r['name']}` {r['result']}"
                         + (f": {_cell(first[0])}" if first else ""))
    lines += ["", summary_line(results), ""]
    return "\n".join(lines)
