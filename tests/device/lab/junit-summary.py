#!/usr/bin/python3
"""Read a device-suite JUnit file as CI servers do (python3-junitparser) and
summarise it: one line per suite, one per skipped case with its reason.
Exits 1 when the file holds no test case or any failure or error, 2 when it
cannot be read.

    /usr/bin/python3 tests/device/lab/junit-summary.py [reports/out/junit/device.xml]
"""
import sys

from junitparser import Error, Failure, JUnitXml, Skipped


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else 'reports/out/junit/device.xml'
    try:
        xml = JUnitXml.fromfile(path)
    except Exception as err:  # a missing or malformed file
        print(f'{path}: cannot be read as JUnit XML: {err}', file=sys.stderr)
        return 2
    cases = failed = 0
    for suite in xml:
        counted = {'passed': 0, 'failed': 0, 'error': 0, 'skipped': 0}
        reasons = []
        for case in suite:
            cases += 1
            kinds = {type(r) for r in case.result}
            if Failure in kinds:
                counted['failed'] += 1
            elif Error in kinds:
                counted['error'] += 1
            elif Skipped in kinds:
                counted['skipped'] += 1
                reasons.append(f'  skipped: {case.classname} :: {case.name}')
            else:
                counted['passed'] += 1
        failed += counted['failed'] + counted['error']
        print(f'{suite.name}: ' + ', '.join(f'{n} {k}' for k, n in counted.items()) + f' ({suite.time:.1f} s)')
        for line in reasons:
            print(line)
    if cases == 0:
        print(f'{path}: no test cases', file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
