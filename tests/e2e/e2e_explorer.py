#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end: the live adversarial explorer on the demo slide. Turn the
attack on, show the defended model side by side (JPEG and bit depth), then
drag the ε slider through the accessibility layer, as a screen reader or a
switch user would, and check that the standard model's labels flip at some
ε while the counter follows the slider. Screenshots of the side-by-side view
at ε = 0 and ε = 8.

The model is data/models/idc-standard.safetensors when the checkout has
it; otherwise the small committed tests/data/idc-tiny.safetensors stands in
for it, through a data folder made for the test (HISTOGUARD_DATADIR)."""

import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import hgdogtail  # noqa: E402
from dogtail.predicate import GenericPredicate  # noqa: E402

COUNTER = re.compile(r'^(\d+) of (\d+) tiles? flipped')
SOURCE = os.environ.get('HG_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..'))


def shown(node):
    try:
        return hgdogtail.App.on_screen(node)
    except (NotImplementedError, LookupError, RuntimeError):
        return False


def counters(window):
    """(flipped, total) of the undefended pane: the first counter in the
    panel (the defended pane's comes after it)."""
    for node in window.findChildren(GenericPredicate(roleName='label')):
        try:
            match = COUNTER.match(node.name)
        except (LookupError, RuntimeError):
            continue
        if match and shown(node):
            return int(match.group(1)), int(match.group(2))
    return None


def wait_counter(window, predicate, what, timeout=180):
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        value = counters(window)
        if value is not None and predicate(value):
            return value
        time.sleep(0.3)
    hgdogtail.fail('the counter never showed %s (last %r)' % (what, value))


def switch(window, name):
    """A GtkSwitch by its accessible name (GTK 4.8 reports switches as check boxes)."""
    for node in window.findChildren(GenericPredicate(roleName='check box')):
        if node.name == name and shown(node):
            return node
    hgdogtail.fail('no switch named %r' % name)


def data_folder():
    """Where the app finds its demo slide and its standard model."""
    shipped = os.path.join(SOURCE, 'data', 'models', 'idc-standard.safetensors')
    if os.path.exists(shipped):
        return None
    folder = tempfile.mkdtemp(prefix='hg-e2e-explorer-')
    os.makedirs(os.path.join(folder, 'models'))
    os.symlink(os.path.abspath(os.path.join(SOURCE, 'data', 'demo')), os.path.join(folder, 'demo'))
    os.symlink(os.path.abspath(os.path.join(SOURCE, 'tests', 'data', 'idc-tiny.safetensors')),
               os.path.join(folder, 'models', 'idc-standard.safetensors'))
    return folder


def main():
    folder = data_folder()
    if folder is not None:
        os.environ['HISTOGUARD_DATADIR'] = folder
        print('no data/models/idc-standard.safetensors: using tests/data/idc-tiny.safetensors')

    with hgdogtail.App('--demo') as app:
        window = app.wait_window('idc-8863', exact=False)

        # The header's Live Attack button turns the explorer on and shows its panel.
        # GTK 4.8 reports toggle buttons as push buttons.
        app.activate(window.child(name='Live Attack', roleName='push button'))
        slider = window.child(name='Epsilon', roleName='slider')

        # Side by side: the defended model with JPEG and bit-depth reduction.
        app.activate(switch(window, 'Compare Side by Side'))
        time.sleep(0.5)
        app.activate(switch(window, 'JPEG Compression'))
        app.activate(switch(window, 'Bit-Depth Reduction'))
        time.sleep(0.5)

        # Closer, so that flipped tiles carry their dots.
        zoom_in = window.child(name='Zoom In', roleName='push button')
        for _ in range(2):
            app.activate(zoom_in)
            time.sleep(0.4)

        flipped, total = wait_counter(window, lambda c: c[1] > 0 and c[0] == 0, 'nothing flipped at ε = 0')
        print('ε = 0: %d of %d flipped' % (flipped, total))
        time.sleep(1.5)
        app.screenshot('e2e-explorer-eps0.png')

        # Drag: quarter steps up to 8, the counter read on the way.
        seen = set()
        value = 0.0
        while value < 8:
            value = min(8.0, value + 0.25)
            slider.value = value
            time.sleep(0.15)
            count = counters(window)
            if count is not None:
                seen.add(count[0])
        if abs(slider.value - 8) > 1e-6:
            hgdogtail.fail('the slider is at %r, not 8' % slider.value)
        flipped, total = wait_counter(window, lambda c: c[0] > 0, 'flipped tiles at ε = 8')
        print('ε = 8: %d of %d flipped; counts seen while dragging: %r' % (flipped, total, sorted(seen)))
        # The counter moved while the slider did, not only once it stopped.
        if len(seen - {0}) < 2:
            hgdogtail.fail('the counter did not follow the slider: saw %r' % sorted(seen))
        entry = [n for n in window.findChildren(GenericPredicate(name='Epsilon value')) if shown(n)]
        if entry and abs(entry[0].value - 8) > 1e-6:
            hgdogtail.fail('the ε entry says %r' % entry[0].value)
        time.sleep(1.5)
        app.screenshot('e2e-explorer-eps8.png')

        app.close_window(window.name, last=True)


hgdogtail.run(main)
