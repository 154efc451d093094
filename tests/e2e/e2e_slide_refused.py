#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end: a file that is not a slide, given on the command line, is
refused in a dialog and the window stays usable (see e2e_slide.refused)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import e2e_slide  # noqa: E402
import hgdogtail  # noqa: E402

if __name__ == '__main__':
    hgdogtail.run(e2e_slide.main_refused)
