# SPDX-License-Identifier: GPL-3.0-or-later
"""Small layer over dogtail for Histoguard's end-to-end tests.

Run under dbus-run-session and xvfb-run (tests/meson.build does it); the
app is the built binary in $HG_APP."""

import os
import shutil
import subprocess
import sys
import time
import traceback

from dogtail.config import config

config.checkForA11y = False
config.searchShowingOnly = False
config.defaultDelay = 0.2
config.actionDelay = 0.2
config.typingDelay = 0.05
config.searchCutoffCount = 40
config.logDebugToStdOut = False
config.logDebugToFile = False

from dogtail import rawinput, tree  # noqa: E402
from dogtail.predicate import GenericPredicate  # noqa: E402
from gi.repository import GLib  # noqa: E402


def xdotool(*args):
    subprocess.run(['xdotool'] + list(args), check=True)


def xdotool_combo(combo):
    """'<Control><Shift>d' -> 'ctrl+shift+d'."""
    names = {'control': 'ctrl', 'ctrl': 'ctrl', 'shift': 'shift', 'alt': 'alt', 'super': 'super'}
    parts = []
    while combo.startswith('<'):
        end = combo.index('>')
        parts.append(names.get(combo[1:end].lower(), combo[1:end].lower()))
        combo = combo[end + 1:]
    return '+'.join(parts + [combo])


def fail(message):
    raise AssertionError(message)


def run(main):
    """Runs a test's main(), printing any failure: dogtail's own exception
    hook would otherwise swallow the traceback."""
    try:
        main()
    except BaseException:  # noqa: B902 (report everything, then fail)
        os.write(2, traceback.format_exc().encode())
        os._exit(1)
    sys.stdout.flush()
    os._exit(0)


class App:
    def __init__(self, *args, name='histoguard'):
        self.args = list(args)
        self.name = name
        self.proc = None
        self.node = None

    def __enter__(self):
        env = dict(os.environ)
        env.setdefault('GSETTINGS_BACKEND', 'memory')
        if 'HG_APP_G_DEBUG' in env:
            env['G_DEBUG'] = env['HG_APP_G_DEBUG']
        self.proc = subprocess.Popen([os.environ['HG_APP']] + self.args, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail('histoguard exited early with code %d' % self.proc.returncode)
            self.node = self._find_node()
            if self.node is not None:
                break
            time.sleep(0.5)
        else:
            fail('histoguard did not appear on the accessibility bus')
        return self

    def _find_node(self):
        """Our process's application: an app started earlier in the same
        session can linger on the bus under the same name."""
        try:
            candidates = [a for a in tree.root.applications() if a.name == self.name]
        except Exception:
            return None
        for node in candidates:
            try:
                if node.get_process_id() == self.proc.pid and node.children:
                    return node
            except Exception:
                pass
        return None

    def __exit__(self, exc_type, exc, tb):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return False

    def main_window(self):
        return self.wait_window('Histoguard', exact=False)

    def windows(self):
        """Toplevels on screen: a closed window can linger in the tree, unmapped."""
        return [c for c in self.node.children
                if c.roleName in ('frame', 'window', 'dialog') and self.on_screen(c)]

    def find_window(self, title, exact=True):
        for w in self.windows():
            if (w.name == title) if exact else (title in w.name):
                return w
        return None

    def wait_window(self, title, exact=True, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            w = self.find_window(title, exact)
            if w is not None:
                return w
            time.sleep(0.3)
        fail('no window titled %r; windows: %r' % (title, [w.name for w in self.windows()]))

    def wait_gone(self, title, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.find_window(title) is None:
                return
            time.sleep(0.3)
        fail('window %r did not close' % title)

    @staticmethod
    def activate(node):
        """Activates a widget through its AT-SPI action: GTK 4.8 reports no
        screen coordinates, so pointer clicks land in the wrong place."""
        # A GtkMenuButton's accessible wraps the toggle button that acts.
        candidates = [node] + [c for c in node.children if c.roleName == node.roleName]
        what = '%s %r' % (node.roleName, node.name)
        for candidate in candidates:
            for name in ('click', 'activate', 'press', 'toggle'):
                if name in candidate.actions:
                    try:
                        candidate.doActionNamed(name)
                    except GLib.GError as error:
                        # A slow app (sanitizers, a loaded machine) can
                        # act but answer after AT-SPI's reply timeout; the
                        # caller then checks that the action took effect.
                        if 'Did not receive a reply' not in str(error):
                            raise
                        print('%s: no AT-SPI reply in time; going on' % what)
                    return
        fail('%s has no action to activate it' % what)

    def menu_item(self, label):
        window = self.main_window()
        button = window.child(name='Main Menu', roleName='push button')
        self.activate(button)
        time.sleep(0.5)
        item = self.node.findChild(GenericPredicate(name=label, roleName='menu item'), retry=True)
        self.activate(item)

    @staticmethod
    def on_screen(node):
        """GTK 4.8 leaves the 'showing' state unset; an allocated size is
        the reliable sign that a widget is really on screen."""
        width, height = node.size
        return width > 0 and height > 0

    def close_window(self, title, last=False):
        """Closes a window through the Close button in its visible header;
        closing the last window quits the app, so then wait for the exit."""
        window = self.wait_window(title)
        buttons = [b for b in window.findChildren(GenericPredicate(name='Close',
                                                                   roleName='push button'))
                   if self.on_screen(b)]
        if not buttons:
            fail('window %r shows no Close button' % title)
        self.activate(buttons[0])
        if last:
            self.wait_exit()
        else:
            self.wait_gone(title)

    def keys(self, combo, at=(600, 600)):
        """Types a key combination ('<Control>o', 'Right') into the window
        under (x, y): Xvfb runs no window manager, so X keyboard focus
        follows the pointer. Windows open at the top-left corner; dialogs
        cover the main window there. AT-SPI's synthesized key events do not
        reach GTK 4 under Xvfb, so xdotool's XTest events are used when
        xdotool is installed."""
        if shutil.which('xdotool'):
            xdotool('mousemove', str(at[0]), str(at[1]))
            time.sleep(0.2)
            xdotool('key', '--clearmodifiers', xdotool_combo(combo))
        else:
            rawinput.absoluteMotion(*at)
            time.sleep(0.2)
            rawinput.keyCombo(combo)
        time.sleep(0.3)

    def click(self, x, y, button=1):
        """Clicks at screen point (x, y): a real pointer event, for widgets
        that need one (giving a canvas the keyboard focus)."""
        if shutil.which('xdotool'):
            xdotool('mousemove', str(x), str(y), 'click', str(button))
        else:
            rawinput.click(x, y, button)
        time.sleep(0.3)

    def wait_exit(self, timeout=20):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            fail('histoguard did not quit')
        if code != 0:
            fail('histoguard exited with code %d' % code)

    def screenshot(self, name):
        out = os.path.join(os.environ.get('G_TEST_BUILDDIR', '.'), name)
        subprocess.run(['import', '-window', 'root', out], check=False)
        print('screenshot: ' + out)
        return out
