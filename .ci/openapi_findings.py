"""Summarizes schemathesis' JUnit report: one line per (operation, check, status code).

Usage: python3 openapi_findings.py SCHEMATHESIS_JUNIT_XML

Prints `METHOD PATH | check | status` lines, sorted, with how many test cases found each, so a
long failure report reads as a to-do list.
"""

import collections
import re
import sys
import xml.etree.ElementTree as ET

CASE = re.compile(r"Test Case ID:")
CHECK = re.compile(r"^- (\S+ .+?)\s*$", re.M)
STATUS = re.compile(r"^\[(\d{3})\]", re.M)


def main() -> int:
    tree = ET.parse(sys.argv[1])
    found: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for testcase in tree.iter("testcase"):
        operation = testcase.get("name", "?")
        for failure in list(testcase.iter("failure")) + list(testcase.iter("error")):
            text = failure.text or failure.get("message", "")
            for case in CASE.split(text)[1:] or [text]:
                status = STATUS.search(case)
                code = status.group(1) if status else "-"
                checks = CHECK.findall(case) or [failure.get("message", "error")]
                for check in checks:
                    found[(operation, check, code)] += 1
    for (operation, check, code), count in sorted(found.items()):
        print(f"{operation} | {check} | {code}" + (f" (x{count})" if count > 1 else ""))
    print(f"{len(found)} distinct findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
