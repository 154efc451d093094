#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end: launch the built histoguard, open About and Preferences
through the primary menu, close them, then quit by closing the last window."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import hgdogtail  # noqa: E402


def main():
    with hgdogtail.App() as app:
        window = app.main_window()
        window.child(name='Open Slide…', roleName='push button')
        window.child(name='Open Demo Slide', roleName='push button')
        app.screenshot('e2e-main-window.png')

        app.menu_item('About Histoguard')
        about = app.wait_window('About')
        about.child(name='Histoguard', roleName='label')
        app.screenshot('e2e-about.png')
        app.close_window('About')

        app.menu_item('Preferences')
        prefs = app.wait_window('Preferences')
        prefs.child(name='Style', roleName='label')
        app.screenshot('e2e-preferences.png')
        app.close_window('Preferences')

        app.close_window(window.name, last=True)
    print('e2e-basic: ok')


if __name__ == '__main__':
    hgdogtail.run(main)
