#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prints 'N passed, N failed' from one or more meson testlog.json files."""

import json
import sys

PASSED = {'OK', 'EXPECTEDFAIL'}
FAILED = {'FAIL', 'ERROR', 'TIMEOUT', 'UNEXPECTEDPASS'}

passed = failed = 0
for path in sys.argv[1:]:
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                result = json.loads(line).get('result')
                if result in PASSED:
                    passed += 1
                elif result in FAILED:
                    failed += 1
    except FileNotFoundError:
        print('count-tests: %s: no test log (the build failed before tests ran)' % path,
              file=sys.stderr)
        failed += 1
print('%d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
