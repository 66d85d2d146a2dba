#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Run shell commands in a guest booted by boot.sh with bbml2lab.shell=1.

    lab/el2shim/shell.py [-t SECONDS] COMMANDS_FILE -- BOOT.SH ARGS...

Starts lab/el2shim/boot.sh with the given arguments plus the guest shell,
waits for the shell prompt, then sends one line of COMMANDS_FILE at a time,
each after the previous one's prompt came back; finally `poweroff -f`. The
whole console goes to stdout. Exit status: boot.sh's, or 3 if a prompt
never came (the last line then says whether the console closed or timed out).
"""
import argparse
import os
import select
import subprocess
import sys
import time

PROMPT = b"/ # "


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-t", "--timeout", type=float, default=300,
                    help="seconds to wait for each prompt (default 300)")
    ap.add_argument("commands", help="file with one shell command per line")
    ap.add_argument("boot_args", nargs=argparse.REMAINDER,
                    help="-- then boot.sh's arguments")
    args = ap.parse_args()
    try:
        with open(args.commands, encoding="utf-8") as f:
            lines = [ln.rstrip("\n") for ln in f if ln.strip()]
    except OSError as e:
        sys.exit(f"shell.py: cannot read {args.commands}: {e.strerror}")
    boot_args = args.boot_args[1:] if args.boot_args[:1] == ["--"] else args.boot_args

    here = os.path.dirname(os.path.abspath(__file__))
    cmd = [os.path.join(here, "boot.sh"), *boot_args, "-a", "bbml2lab.shell=1"]
    # boot.sh takes -a once: merge ours into a given one
    if "-a" in boot_args:
        i = boot_args.index("-a")
        merged = boot_args[:i] + ["-a", boot_args[i + 1] + " bbml2lab.shell=1"] + boot_args[i + 2:]
        cmd = [os.path.join(here, "boot.sh"), *merged]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    seen = b""

    def wait_prompt():
        """None once the prompt is there, else why it never came."""
        nonlocal seen
        deadline = time.monotonic() + args.timeout
        while PROMPT not in seen:
            left = deadline - time.monotonic()
            ready = select.select([proc.stdout], [], [], left)[0] if left > 0 else []
            if not ready:
                return f"no shell prompt within {args.timeout:g} s"
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return "console closed before a shell prompt"
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            seen += chunk
        seen = seen[seen.index(PROMPT) + len(PROMPT):]
        return None

    for line in lines + ["poweroff -f"]:
        why = wait_prompt()
        if why:
            proc.kill()
            proc.wait()
            print(f"\nshell.py: {why}")
            return 3
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()
    rest = proc.stdout.read()
    sys.stdout.buffer.write(rest)
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
