"""The bench's harness runs each contender in a fresh process and must report what it did, whatever it prints."""

from __future__ import annotations

import threading

import pytest

from bench.harness import Run, run_python

#: More than a pipe holds (64 KiB on Linux): a parent waiting for the child before reading would wait forever.
LOUD = 1_000_000


def test_a_child_printing_more_than_a_pipe_holds_is_waited_for_and_read():
    code = f"import sys; sys.stderr.write('w' * {LOUD}); sys.stdout.write('o' * {LOUD}); print('done')"
    found: list[Run] = []
    worker = threading.Thread(target=lambda: found.append(run_python(code, capture=True)), daemon=True)
    worker.start()
    worker.join(timeout=120)  # a bound on the failure only: the child writes and ends at once
    assert not worker.is_alive(), "run_python never returned: the child is blocked on a full pipe"
    assert found[0].stdout == "o" * LOUD + "done\n"


def test_a_child_that_fails_without_a_traceback_fails_the_step():
    with pytest.raises(RuntimeError, match=r"exit 3"):
        run_python("import sys; print('half done'); sys.exit(3)")


def test_a_child_that_succeeds_gives_its_output_only_when_asked():
    assert run_python("print('x')", capture=True).stdout == "x\n"
    assert run_python("print('x')").stdout == ""
