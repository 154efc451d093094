#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end: the real app, given a named pipe called like a slide on its
command line, says in a dialog that it is not a regular file instead of
waiting for a writer for ever, and stays usable: the demo slide opens
afterwards. (The in-process tests in test-bad-input-gui.c cover the rest
of the bad-input matrix in the window.)"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import e2e_slide  # noqa: E402
import hgdogtail  # noqa: E402
from dogtail.predicate import GenericPredicate  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        pipe = os.path.join(tmp, 'scanner.svs')
        os.mkfifo(pipe)
        with hgdogtail.App(pipe) as app:
            window = app.main_window()
            dialog = e2e_slide.find_dialog(app)
            body = e2e_slide.wait_label(dialog, lambda n: 'not a regular file' in n,
                                        'saying the pipe is not a regular file')
            print('refused: %r' % body)
            close = [b for b in dialog.findChildren(GenericPredicate(roleName='push button'))
                     if b.name.split()[:1] == ['Close'] and e2e_slide.shown(b)]
            app.activate(close[0])
            time.sleep(0.5)

            app.activate(window.child(name='Open Demo Slide', roleName='push button'))
            slide_window = app.wait_window('idc-8863', exact=False)
            app.close_window(slide_window.name, last=True)
    print('e2e-bad-input: ok')


if __name__ == '__main__':
    hgdogtail.run(main)
