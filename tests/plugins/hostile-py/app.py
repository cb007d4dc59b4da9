"""A hostile plugin in Python, built by `rampart plugin build`
(componentize-py): what a script in an interpreter can try. The setting
`attack` picks the attack; tests/hostile_langs.rs checks that every one
ends as `error` for this plugin alone, or for the probe that nothing was
reachable.
"""

import os
import socket
import sys
import time

import wit_world
from wit_world.imports import report, types

CHECK = "attack"


def finding(status, message, evidence=()):
    return types.Finding(check=CHECK, status=status, message=message, object=None, path=None, evidence=list(evidence))


def attempt(what):
    try:
        return "allowed: %s" % (what(),)
    except BaseException as e:  # noqa: BLE001 - the probe reports whatever stops it
        return "refused: %s" % type(e).__name__


def connect():
    with socket.create_connection(("127.0.0.1", 22), timeout=1):
        return "connected"


class WitWorld(wit_world.WitWorld):
    def describe(self):
        check = types.CheckInfo(
            id=CHECK,
            title="An attack on the host",
            description="Runs the attack named by the setting attack.",
            remediation="None: this plugin exists to be contained.",
            severity=types.Severity.HIGH,
            tags=[],
        )
        setting = types.SettingInfo(name="attack", kind=types.SettingKind.TEXT, description="which attack to run")
        return types.PluginInfo(name="hostile-py", version="0.1.0", checks=[check], capabilities=[], settings=[setting])

    def evaluate(self, settings):
        attack = dict(settings).get("attack", "")
        if attack == "loop":
            while True:
                pass
        if attack == "memory-bomb":
            hoard = []
            while True:
                hoard.append(bytearray(1 << 20))
        if attack == "sleep":
            time.sleep(3600)
        if attack == "recursion":
            sys.setrecursionlimit(10**9)

            def down(n):
                return down(n + 1) + 1

            down(0)
        if attack == "pass-then-exit-0":
            report.emit_batch([finding(types.Status.PASS, "everything is fine")])
            sys.exit(0)
        if attack == "pass-then-raise":
            report.emit_batch([finding(types.Status.PASS, "everything is fine")])
            raise RuntimeError("deliberate")
        if attack == "probe":
            evidence = [
                ("file", attempt(lambda: len(open("/etc/passwd").read()))),
                ("root", attempt(lambda: len(os.listdir("/")))),
                ("cwd", attempt(lambda: len(os.listdir(".")))),
                ("env", str(len(os.environ))),
                ("net", attempt(connect)),
            ]
            report.emit_batch([finding(types.Status.PASS, "probed WASI from Python", evidence)])
            return
        report.emit_batch([finding(types.Status.PASS, "no attack")])
