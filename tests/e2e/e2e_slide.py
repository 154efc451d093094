#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end: `histoguard --demo` opens the bundled slide; zoom in with the
status bar buttons, pan with the keyboard, open the slide's properties, hide
and show the details panel. refused() — a file that is not a slide, given on
the command line, is refused in a dialog and the window stays usable — runs
from e2e_slide_refused.py."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import hgdogtail  # noqa: E402
from dogtail.predicate import GenericPredicate  # noqa: E402


def shown(node):
    """Nodes can vanish while we look (pages of a stack being swapped)."""
    try:
        return hgdogtail.App.on_screen(node)
    except (NotImplementedError, LookupError, RuntimeError):
        return False


def labels(window):
    return [n.name for n in window.findChildren(GenericPredicate(roleName='label')) if shown(n)]


def wait_label(window, predicate, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [name for name in labels(window) if predicate(name)]
        if found:
            return found[0]
        time.sleep(0.3)
    hgdogtail.fail('no label %s; labels: %r' % (what, labels(window)))


def wait_description(node, predicate=lambda d: True, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if node.description.startswith('Centred on') and predicate(node.description):
            return node.description
        time.sleep(0.3)
    hgdogtail.fail('the view describes itself as %r' % node.description)


def level_label(window):
    return wait_label(window, lambda n: 'level' in n.lower() and ' of ' in n, 'with the level')


def demo(app):
    window = app.wait_window('idc-8863', exact=False)
    window.child(name='Slide', roleName='image')
    before = level_label(window)
    app.screenshot('e2e-slide-fit.png')

    # Give the view the keyboard focus with a click on the grey margin
    # beside the slide: a click on a tile would select it and send the
    # arrow keys to the tile inspector (which steps from tile to tile).
    margin = (14, 400)
    view = window.child(name='Slide', roleName='image')
    fitted = wait_description(view)
    app.click(*margin)
    # Zoom in two steps of √2 with the keyboard, one with the status bar's
    # button.
    app.keys('plus', at=margin)
    app.keys('plus', at=margin)
    keyed = wait_description(view, lambda d: d != fitted)
    zoom_in = window.child(name='Zoom In', roleName='push button')
    app.activate(zoom_in)
    after = wait_label(window, lambda n: 'level' in n.lower() and ' of ' in n and n != before,
                       'with a finer level than %r' % before)
    print('zoomed: %r -> %r (keys: %r)' % (before, after, keyed))

    # Pan with the arrow keys: the view's description says where it is.
    position = wait_description(view)
    app.keys('Right', at=margin)
    app.keys('Right', at=margin)
    app.keys('Down', at=margin)
    moved = wait_description(view, lambda d: d != position)
    print('panned: %r -> %r' % (position, moved))
    time.sleep(1.5)
    app.screenshot('e2e-slide.png')

    # Properties: their own window, titled after the slide.
    app.menu_item('Slide Properties')
    props = app.wait_window('idc-8863')
    props.child(name='Patient', roleName='label')
    app.screenshot('e2e-slide-properties.png')
    app.close_window('idc-8863')

    # The details panel hides and comes back.
    # GTK 4.8 reports toggle buttons as push buttons.
    details = window.child(name='Show Details', roleName='push button')
    app.activate(details)
    time.sleep(0.5)
    app.activate(details)
    window.child(name='Ground Truth', roleName='label')

    app.close_window(window.name, last=True)


def find_dialog(app, timeout=20):
    """The toplevel that says a file could not be opened."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for toplevel in app.windows():
            if any(n.startswith('Could Not Open') for n in labels(toplevel)):
                return toplevel
        time.sleep(0.3)
    hgdogtail.fail('no dialog saying a file could not be opened')


def refused(app):
    window = app.main_window()
    dialog = find_dialog(app)
    message = wait_label(dialog, lambda n: n.startswith('Could Not Open'), 'with the heading')
    body = wait_label(dialog, lambda n: 'text file' in n, 'explaining why')
    print('refused: %r because %r' % (message, body))
    app.screenshot('e2e-refused.png')
    # An AdwMessageDialog has no title bar: its only Close is the response
    # (named 'Close Close': GTK 4.8 repeats labels that could take mnemonics).
    close = [b for b in dialog.findChildren(GenericPredicate(roleName='push button'))
             if b.name.split()[:1] == ['Close'] and shown(b)]
    app.activate(close[0])
    time.sleep(0.5)

    # Still usable: the demo slide opens in the same window.
    app.activate(window.child(name='Open Demo Slide', roleName='push button'))
    slide_window = app.wait_window('idc-8863', exact=False)
    app.close_window(slide_window.name, last=True)


def main():
    with hgdogtail.App('--demo') as app:
        demo(app)
    print('e2e-slide: ok')


def main_refused():
    # Its own test (e2e_slide_refused.py), so its own session bus: a second
    # app in one session was sometimes never listed by the AT-SPI registry.
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, 'notes.svs')
        with open(bad, 'w') as f:
            f.write('This is not a slide.\n')
        with hgdogtail.App(bad) as app:
            refused(app)
    print('e2e-slide-refused: ok')


if __name__ == '__main__':
    hgdogtail.run(main)
